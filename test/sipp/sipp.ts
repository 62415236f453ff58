import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';

/**
 * Runs `sipp` (Debian's sip-tester) as an independent SIP peer: one process per role (carrier,
 * PBX, failover target), bound to 127.0.0.1, with bounded call counts and a global timeout so
 * nothing hangs. Its exit code, statistics file, error log and response times are read back.
 * Used by test/integration/sipp.test.ts and bench/sip-load.ts.
 */
export const SIPP = 'sipp';

/** The XML scenarios, in the source tree (this file runs from dist/test/sipp/). */
export const SCENARIO_DIR = path.resolve(__dirname, '..', '..', '..', 'test', 'sipp');

/** sipp 3.x exit codes (sipp(1), "EXIT STATUS"). */
export const SIPP_EXIT = { allCallsSucceeded: 0, someCallsFailed: 1, internalCommand: 97, noCallsProcessed: 99 } as const;

/** How to get sipp; Debian and Ubuntu package it as sip-tester. */
export const SIPP_INSTALL = 'apt-get install sip-tester';

/**
 * Why sipp is missing (not on PATH), or null when there is one to run. Only absence counts: a
 * sipp that is there but fails is an error for sippVersion() to report.
 */
export function sippMissing(): string | null {
  const probe = spawnSync(SIPP, ['-v'], { encoding: 'utf8', timeout: 5000 });
  const code = (probe.error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' ? `sipp is not installed (${SIPP_INSTALL})` : null;
}

/** sipp's version; fails with a clear message when sipp cannot be run. */
export function sippVersion(): string {
  const probe = spawnSync(SIPP, ['-v'], { encoding: 'utf8', timeout: 5000 });
  if (probe.error !== undefined) {
    throw new Error(`sipp is not installed or not on PATH (${probe.error.message}): install Debian's sip-tester (${SIPP_INSTALL}), as .ci/run does`);
  }
  const version = /SIPp v([0-9.]+)/.exec(`${probe.stdout}${probe.stderr}`);
  if (version === null) throw new Error(`sipp -v printed no version: ${probe.stdout}${probe.stderr}`);
  return version[1];
}

export interface SippOptions {
  /** A file in test/sipp/. */
  readonly scenario: string;
  /** A name for this peer: its files in `dir` start with it. */
  readonly name: string;
  /** Where statistics, error and response-time files go (also sipp's working directory). */
  readonly dir: string;
  readonly localPort: number;
  /** `host:port` to send to: the SIP role, for a UAC. A UAS answers whoever sent the request. */
  readonly remote?: string;
  /**
   * `-m`: exit after this many calls. Leave it out for a UAS under load: a retransmission that
   * arrives after its call ended counts as a new call and would use up the budget early.
   */
  readonly calls?: number;
  /** `-r`: calls per second (UAC). */
  readonly rate?: number;
  /** `-s`: the Request-URI and To user (the DID, or the trunk's SIP username for REGISTER). */
  readonly service?: string;
  /** `-au`/`-ap`: answers to a Digest challenge (`auth="true"` in the scenario). */
  readonly auth?: { readonly username: string; readonly password: string };
  /** `-d`: how long `<pause/>` holds an answered call. */
  readonly holdMs?: number;
  /** `-timeout`: sipp gives up after this long ... */
  readonly timeoutS: number;
  /** ... and with `-timeout_error` (the default) that is a failure; a load run wants its statistics instead. */
  readonly timeoutError?: boolean;
  /** `-trace_rtt`: every response time (rtd) is written, for percentiles. */
  readonly traceRtt?: boolean;
  /** `-fd`: statistics dump period. */
  readonly statPeriodS?: number;
  readonly extraArgs?: readonly string[];
}

export interface SippResult {
  readonly name: string;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The last cumulative row of the statistics file, by column name (`SuccessfulCall(C)` ...). */
  readonly stats: Readonly<Record<string, string>>;
  readonly successful: number;
  readonly failed: number;
  readonly retransmissions: number;
  /** `ElapsedTime(C)`: from sipp's start to its last statistics dump. */
  readonly elapsedSeconds: number;
  /** Unexpected messages and errors sipp logged (`-trace_err`), truncated. */
  readonly errors: string;
  /** The end of what sipp printed: its final screen. */
  readonly output: string;
  /** Response times (ms) of rtd 1, when `traceRtt` was asked for. */
  readonly responseTimesMs: readonly number[];
  /** A one-paragraph account for assertion messages. */
  describe(): string;
}

const OUTPUT_TAIL = 6000;
const ERRORS_HEAD = 4000;
/** After sipp's own -timeout, the process is killed if it still has not exited. */
const KILL_GRACE_MS = 10_000;
const STOP_GRACE_MS = 3000;

export function sippArgs(options: SippOptions): string[] {
  const args = [
    '-sf', path.join(SCENARIO_DIR, options.scenario),
    '-i', '127.0.0.1',
    '-p', String(options.localPort),
    '-t', 'u1',
    '-nostdin',
    '-aa',
    '-timeout', `${options.timeoutS}s`,
    '-trace_stat', '-stf', path.join(options.dir, `${options.name}_stat.csv`), '-fd', String(options.statPeriodS ?? 1),
    '-trace_err', '-error_file', path.join(options.dir, `${options.name}_errors.log`),
  ];
  if (options.calls !== undefined) args.push('-m', String(options.calls));
  if (options.timeoutError !== false) args.push('-timeout_error');
  if (options.rate !== undefined) args.push('-r', String(options.rate));
  if (options.service !== undefined) args.push('-s', options.service);
  if (options.auth !== undefined) args.push('-au', options.auth.username, '-ap', options.auth.password);
  if (options.holdMs !== undefined) args.push('-d', String(options.holdMs));
  if (options.traceRtt === true) args.push('-trace_rtt', '-rtt_freq', String(rttFrequency(options.calls ?? 1000)));
  args.push(...(options.extraArgs ?? []));
  if (options.remote !== undefined) args.push(options.remote);
  return args;
}

/**
 * sipp writes response times in blocks of -rtt_freq and drops the last, partial block at exit
 * (it flushes only on SIGUSR2): a block size that divides the call count keeps them all.
 */
export function rttFrequency(calls: number, largest = 1000): number {
  for (let size = Math.min(largest, calls); size > 1; size--) if (calls % size === 0) return size;
  return 1;
}

/** Parses a sipp statistics file: the last row (cumulative counters are the `(C)` columns). */
export function parseStatFile(text: string): Record<string, string> {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  if (lines.length < 2) return {};
  const header = lines[0].split(';');
  const last = lines[lines.length - 1].split(';');
  const row: Record<string, string> = {};
  header.forEach((name, i) => {
    if (name !== '') row[name] = last[i] ?? '';
  });
  return row;
}

/** Parses a `-trace_rtt` file: response times in ms of the given rtd. */
export function parseRttFile(text: string, rtd = '1'): number[] {
  const times: number[] = [];
  for (const line of text.split('\n').slice(1)) {
    const [, ms, which] = line.split(';');
    if (which?.trim() === rtd && ms !== undefined && ms !== '') times.push(Number(ms));
  }
  return times;
}

/** sipp writes durations as `HH:MM:SS:micro` (or `HH:MM:SS` in older builds). */
export function parseElapsed(text: string | undefined): number {
  const parts = (text ?? '').split(':').map(Number);
  if (parts.length < 3 || parts.some((part) => !Number.isFinite(part))) return NaN;
  const [hours, minutes, seconds, micro = 0] = parts;
  return hours * 3600 + minutes * 60 + seconds + micro / 1e6;
}

async function readOr(file: string, fallback = ''): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return fallback;
  }
}

/** A running sipp. `result` settles when it exits; `stop()` ends it early. */
export class Sipp {
  readonly result: Promise<SippResult>;
  private readonly child: ChildProcess;
  private output = '';

  constructor(readonly options: SippOptions) {
    this.child = spawn(SIPP, sippArgs(options), { cwd: options.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString('latin1')).slice(-OUTPUT_TAIL);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    const killer = setTimeout(() => this.child.kill('SIGKILL'), options.timeoutS * 1000 + KILL_GRACE_MS);
    this.result = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      this.child.once('error', reject);
      this.child.once('exit', (code, signal) => resolve({ code, signal }));
    })
      .finally(() => clearTimeout(killer))
      .then(({ code, signal }) => this.collect(code, signal));
    // Awaited by whoever needs it; a spawn failure nobody awaited yet is not an unhandled rejection.
    this.result.catch(() => undefined);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /**
   * Ends sipp now and waits for its result: SIGUSR1 is its soft quit (no new calls), a second
   * one aborts the calls still open; SIGKILL if it has not gone after STOP_GRACE_MS.
   */
  async stop(): Promise<SippResult> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGUSR1');
      this.child.kill('SIGUSR1');
      const killer = setTimeout(() => this.child.kill('SIGKILL'), STOP_GRACE_MS);
      void this.result.finally(() => clearTimeout(killer)).catch(() => undefined);
    }
    return this.result;
  }

  private async collect(exitCode: number | null, signal: NodeJS.Signals | null): Promise<SippResult> {
    const { dir, name } = this.options;
    const stats = parseStatFile(await readOr(path.join(dir, `${name}_stat.csv`)));
    const errors = (await readOr(path.join(dir, `${name}_errors.log`))).slice(0, ERRORS_HEAD);
    let responseTimesMs: number[] = [];
    if (this.options.traceRtt === true) {
      // sipp names this file itself: <scenario>_<pid>_rtt.csv in its working directory.
      const prefix = `${path.basename(this.options.scenario, '.xml')}_${this.child.pid}_rtt`;
      const file = (await readdir(dir)).find((entry) => entry.startsWith(prefix));
      if (file !== undefined) responseTimesMs = parseRttFile(await readOr(path.join(dir, file)));
    }
    const count = (column: string) => Number(stats[column] ?? NaN);
    const output = this.output;
    const result: SippResult = {
      name,
      exitCode,
      signal,
      stats,
      successful: count('SuccessfulCall(C)'),
      failed: count('FailedCall(C)'),
      retransmissions: count('Retransmissions(C)'),
      elapsedSeconds: parseElapsed(stats['ElapsedTime(C)']),
      errors,
      output,
      responseTimesMs,
      describe: () =>
        [
          `sipp ${name} (${this.options.scenario}) exited ${exitCode ?? signal}: ${result.successful} successful, ${result.failed} failed calls`,
          errors === '' ? 'no errors logged' : `errors:\n${errors}`,
          `output (end):\n${output.slice(-2500)}`,
        ].join('\n'),
    };
    return result;
  }
}

import { readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';

/**
 * A PostgreSQL server left running on our data directory by a run that ended without stopping
 * it (`kill -9`, a crash, an OOM kill: the server has its own process group, so it outlives
 * us). Its `postmaster.pid` makes the next start fail. Before a start we find it, make sure the
 * pid really is a PostgreSQL of THIS data directory (a pid can be reused by any process, which
 * must never be signalled), and stop it: fast shutdown, then harder only if it does not go.
 * A server whose parent is a live Node.js process belongs to a running instance: it is left
 * alone and the start refused, rather than taking the database from under that instance.
 */

/** `postmaster.pid`, as PostgreSQL writes it (src/include/utils/pidfile.h): one field a line. */
export interface PostmasterPidFile {
  readonly pid: number;
  readonly dataDir: string;
  readonly port: number | null;
  /** `starting`, `stopping`, `ready`, `standby`; absent in a file cut short. */
  readonly status: string | null;
}

export function parsePostmasterPid(text: string): PostmasterPidFile | null {
  const lines = text.split('\n');
  const pid = Number(lines[0]);
  if (!Number.isSafeInteger(pid) || pid <= 0) return null;
  const port = Number(lines[3]);
  const status = lines[7]?.trim();
  return { pid, dataDir: lines[1] ?? '', port: Number.isSafeInteger(port) && port > 0 ? port : null, status: status === undefined || status === '' ? null : status };
}

/** What /proc says about a process; `null` when it is gone (or a zombie waiting to be reaped). */
interface ProcessView {
  readonly comm: string;
  readonly ppid: number;
  readonly argv: readonly string[];
  readonly cwd: string | null;
}

function procText(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

function viewProcess(pid: number): ProcessView | null {
  const stat = procText(`/proc/${pid}/stat`);
  if (stat === null) return null;
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split at the last ")".
  const close = stat.lastIndexOf(')');
  const [state, ppid] = stat.slice(close + 2).split(' ');
  if (state === 'Z' || state === 'X') return null;
  let cwd: string | null = null;
  try {
    cwd = readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    cwd = null;
  }
  const argv = (procText(`/proc/${pid}/cmdline`) ?? '').split('\0').filter((arg) => arg !== '');
  return { comm: stat.slice(stat.indexOf('(') + 1, close), ppid: Number(ppid), argv, cwd };
}

function samePath(a: string, b: string): boolean {
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return path.resolve(p);
    }
  };
  return real(a) === real(b);
}

/**
 * True when `pid` is a postgres server of `databaseDir`: its command is postgres, and its `-D`
 * is that directory or (the postmaster changes into its data directory) its working directory is.
 */
function isServerOf(view: ProcessView, databaseDir: string): boolean {
  if (view.comm !== 'postgres' && path.basename(view.argv[0] ?? '') !== 'postgres') return false;
  const dashD = view.argv.indexOf('-D');
  if (dashD >= 0 && view.argv[dashD + 1] !== undefined && samePath(view.argv[dashD + 1], databaseDir)) return true;
  return view.cwd !== null && samePath(view.cwd, databaseDir);
}

/** The parent when it is a live Node.js process, i.e. an instance still using this server. */
function liveNodeParent(view: ProcessView): { pid: number; command: string } | null {
  if (view.ppid <= 1) return null;
  const parent = viewProcess(view.ppid);
  if (parent === null) return null;
  let exe = parent.argv[0] ?? '';
  try {
    exe = readlinkSync(`/proc/${view.ppid}/exe`);
  } catch {
    // Not ours to read: judge by its command line.
  }
  if (!/^node(js)?\d*$/.test(path.basename(exe)) && !samePath(exe, process.execPath)) return null;
  return { pid: view.ppid, command: parent.argv.join(' ').slice(0, 200) };
}

export class DatabaseInUseError extends Error {}

/** Escalation when a leftover does not go: fast shutdown, immediate shutdown, kill (postgres(1) "Signals"). */
export const LEFTOVER_STOP_STEPS: readonly { readonly signal: NodeJS.Signals; readonly waitMs: number }[] = [
  { signal: 'SIGINT', waitMs: 15_000 },
  { signal: 'SIGQUIT', waitMs: 5000 },
  { signal: 'SIGKILL', waitMs: 5000 },
];
const POLL_MS = 25;

export interface LeftoverOptions {
  readonly steps?: typeof LEFTOVER_STOP_STEPS;
}

/** What was found and done, for the caller's tests; the log line says the same. */
export type LeftoverAction =
  | { readonly kind: 'none' }
  | { readonly kind: 'stale-pid-file-removed'; readonly pid: number; readonly reason: string }
  | { readonly kind: 'stopped'; readonly pid: number; readonly signal: NodeJS.Signals; readonly status: string | null; readonly waitedMs: number };

async function gone(pid: number, view: ProcessView, waitMs: number): Promise<boolean> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const now = viewProcess(pid);
    // Gone, or the pid already belongs to someone else.
    if (now === null || now.comm !== view.comm) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

async function removePidFile(file: string): Promise<void> {
  await unlink(file).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
}

/**
 * Clears the way for a start on `databaseDir`: a leftover server of that directory is stopped
 * (waiting for one already shutting down), a stale `postmaster.pid` removed; each logged at warn.
 * Throws DatabaseInUseError when a running instance still owns the server.
 */
export async function clearLeftoverServer(databaseDir: string, logger: Logger, options: LeftoverOptions = {}): Promise<LeftoverAction> {
  const file = path.join(databaseDir, 'postmaster.pid');
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw error;
  });
  if (text === null) return { kind: 'none' };
  const pidFile = parsePostmasterPid(text);
  const view = pidFile === null ? null : viewProcess(pidFile.pid);
  if (pidFile === null || view === null || !isServerOf(view, databaseDir)) {
    const reason = pidFile === null ? 'unreadable' : view === null ? 'its process is gone' : 'its pid now belongs to another process';
    await removePidFile(file);
    logger.warn({ databaseDir, postgresPid: pidFile?.pid, reason }, 'embedded PostgreSQL: removed a stale postmaster.pid left by a run that did not stop cleanly');
    return { kind: 'stale-pid-file-removed', pid: pidFile?.pid ?? 0, reason };
  }
  const owner = liveNodeParent(view);
  if (owner !== null) {
    throw new DatabaseInUseError(
      `the embedded PostgreSQL in ${databaseDir} (pid ${pidFile.pid}) belongs to a running process (pid ${owner.pid}: ${owner.command}); stop that one, or give this one another DATA_DIR`,
    );
  }
  const began = Date.now();
  const { pid, status, port } = pidFile;
  logger.warn({ databaseDir, postgresPid: pid, port, status }, 'embedded PostgreSQL: a server of this data directory was left running by a run that did not stop it; stopping it');
  for (const { signal, waitMs } of options.steps ?? LEFTOVER_STOP_STEPS) {
    try {
      process.kill(pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
    if (await gone(pid, view, waitMs)) {
      const waitedMs = Date.now() - began;
      // A clean shutdown removes its pid file; a killed server leaves it behind.
      const left = await readFile(file, 'utf8').catch(() => null);
      if (left !== null && parsePostmasterPid(left)?.pid === pid) await removePidFile(file);
      logger.warn({ databaseDir, postgresPid: pid, signal, status, waitedMs }, `embedded PostgreSQL: stopped the leftover server (${signal})`);
      return { kind: 'stopped', pid, signal, status, waitedMs };
    }
    logger.warn({ databaseDir, postgresPid: pid, signal, waitMs }, 'embedded PostgreSQL: the leftover server did not stop in time; escalating');
  }
  throw new Error(`the leftover embedded PostgreSQL in ${databaseDir} (pid ${pid}) did not stop, even after SIGKILL`);
}

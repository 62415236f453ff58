import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile, readdir, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { OPERATOR_KEY, TEST_REALM } from '../test/support/api';
import { freeUdpPort } from '../test/support/sip-peer';

/**
 * For bench/sip-load.ts: the SIP role as a child process of its own (`node dist/app/main.js
 * --role sip`), so that /proc tells its CPU time and memory apart from sipp's and PostgreSQL's.
 */
const ROOT = path.resolve(__dirname, '..', '..');

// ---------------------------------------------------------------- process facts from /proc

const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** User + system CPU seconds of a process, all its threads (fields 14 and 15 of /proc/<pid>/stat). */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

export async function memoryKb(pid: number): Promise<{ rssKb: number; hwmKb: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssKb: field('VmRSS'), hwmKb: field('VmHWM') };
}

/** CPU seconds of every local process whose command is `postgres` (the call records land there). */
export async function postgresCpuSeconds(): Promise<number> {
  let total = 0;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const comm = (await readFile(`/proc/${entry}/comm`, 'utf8')).trim();
      if (comm === 'postgres') total += await cpuSeconds(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return total;
}

/** Busy and total jiffies of the whole machine (/proc/stat, first line). */
export async function machineJiffies(): Promise<{ busy: number; total: number }> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0];
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const total = values.reduce((sum, value) => sum + value, 0);
  const idle = values[3] + (values[4] ?? 0);
  return { busy: total - idle, total };
}

// ---------------------------------------------------------------- the SIP role as a child process

export interface GcPauses {
  count: number;
  totalMs: number;
  maxMs: number;
  maxKind: string;
}

/** A `--trace-gc` line of V8 11 (Node 20): `... ms: Mark-Compact 812.3 (850.1) -> 610.2 (700.3) MB, 120.51 / 0.01 ms ...`; the first figure is the pause. */
const GC_LINE = /ms: (Scavenge|Mark-Compact|Minor Mark-Compact|Mark-Sweep)[^,]*MB, ([0-9.]+) \/ [0-9.]+ ms/;

export class SipProcess {
  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
    readonly logFile: string,
    private readonly logFd: number,
  ) {}

  static async start(databaseUrl: string, workers: number, dir: string, options: { cpuProfDir: string | null; traceGc: boolean }): Promise<SipProcess> {
    const port = await freeUdpPort();
    const logFile = path.join(dir, `sip-${workers}w.log`);
    await writeFile(logFile, '');
    // Appending, so the file can be truncated between steps while the child writes on.
    const logFd = openSync(logFile, 'a');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: databaseUrl,
      SIP_HOST: '127.0.0.1',
      SIP_PORT: String(port),
      SIP_WORKERS: String(workers),
      SIP_REALM: TEST_REALM,
      LOG_LEVEL: 'info',
      OPERATOR_API_KEY: OPERATOR_KEY,
    };
    const flags = [...(options.cpuProfDir === null ? [] : ['--cpu-prof', '--cpu-prof-dir', options.cpuProfDir]), ...(options.traceGc ? ['--trace-gc'] : [])];
    const child = spawn(process.execPath, [...flags, path.join(ROOT, 'dist', 'app', 'main.js'), '--role', 'sip'], { cwd: ROOT, env, stdio: ['ignore', logFd, logFd] });
    const sip = new SipProcess(child, port, logFile, logFd);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const log = await readFile(logFile, 'utf8');
      const ready = (log.match(/"msg":"worker ready"/g) ?? []).length;
      if (log.includes('"msg":"SIP edge listening"') && ready >= workers) break;
      if (child.exitCode !== null) throw new Error(`the SIP role exited with ${child.exitCode}:\n${log.slice(-3000)}`);
      if (Date.now() > deadline) throw new Error(`the SIP role did not start in 30 s:\n${log.slice(-3000)}`);
      await sleep(100);
    }
    return sip;
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /**
   * Since the last call (the log is emptied after each read): lines at warn or worse, decision
   * lines, and the GC pauses `--trace-gc` reported (every thread), when it was on.
   */
  async drainLog(): Promise<{ problems: string[]; decisions: number; gc: GcPauses | null }> {
    const log = await readFile(this.logFile, 'utf8');
    await truncate(this.logFile, 0);
    const problems: string[] = [];
    let decisions = 0;
    let gc: GcPauses | null = null;
    for (const line of log.split('\n')) {
      if (line.includes('"msg":"call routed"')) {
        decisions++;
        continue;
      }
      const pause = GC_LINE.exec(line);
      if (pause !== null) {
        const ms = Number(pause[2]);
        gc ??= { count: 0, totalMs: 0, maxMs: 0, maxKind: '' };
        gc.count++;
        gc.totalMs += ms;
        if (ms > gc.maxMs) [gc.maxMs, gc.maxKind] = [ms, pause[1]];
      } else if (/"level":[456]0/.test(line)) {
        problems.push(line.slice(0, 400));
      }
    }
    return { problems, decisions, gc };
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000).then(() => this.child.kill('SIGKILL'))]);
    }
    closeSync(this.logFd);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

import { fork, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { SojournGuard } from '../worker/calls/sojourn-guard';
import { scanCallId } from '../worker/edge/call-id';
import { PackedReader } from '../worker/edge/datagram-batch';
import { DatagramPort } from '../worker/edge/datagram-port';
import { Handoff } from '../worker/edge/handoff';
import { handoffNow } from '../worker/edge/handoff-clock';
import { fnv1a } from '../worker/edge/hash';
import type { SendsMessage } from '../worker/edge/protocol';
import type { LoadResult, LoadRun } from './edge-handoff-load';

/**
 * The hand-off between the SIP edge and its workers (issue 9), old against new: CPU per datagram
 * round trip (read on the edge's socket → a worker → sent back from the edge's socket), with the
 * real Handoff and DatagramPort against the one-`postMessage`-per-datagram protocol they replaced.
 * The edge here does only what every datagram costs it (Call-ID scan, pick a worker by hash,
 * copy); a worker echoes each datagram, as a worker answers a request, so nothing but the
 * hand-off differs between the modes. Two workers, as in the anchor benchmark; the load comes
 * from another process (edge-handoff-load.ts), whose CPU is not counted.
 *
 * Modes: `per-datagram` (before), `batched` (now: the edge flushes on setImmediate, a worker when
 * it has handled a received batch) and `batched, microtask flush` (the flush point not taken: the
 * socket's 'message' events of a turn are separate callbacks, each followed by a microtask
 * checkpoint, so the edge batches next to nothing).
 *
 * `npm run build && node dist/bench/edge-handoff.js` (`--no-write` to only print; `--seconds S`
 * per rate, default 4; `--rates 2000,10000`, the default; `--reps N`, default 3, interleaved,
 * medians reported). About 35 s per repetition. CPU is the whole process's (edge thread, workers, V8 platform threads);
 * context switches are summed over its threads from /proc (Linux), a count of thread wake-ups.
 * Writes bench/results/edge-handoff.md.
 */

type Mode = 'per-datagram' | 'batched' | 'batched, microtask flush';
const MODES: readonly Mode[] = ['per-datagram', 'batched', 'batched, microtask flush'];
const WORKERS = 2;
const DEFAULT_RATES = [2_000, 10_000];
const BURST = { size: 1_000, rounds: 10 };
const WARM_UP_MS = 1_000;
const ROOT = path.resolve(__dirname, '..', '..');
const RESULTS = path.join(ROOT, 'bench', 'results', 'edge-handoff.md');

interface BenchWorkerData {
  readonly mode: Mode;
}

/** A worker: echoes each datagram back through the hand-off of its mode. */
function workerMain(data: BenchWorkerData): void {
  const edge = parentPort;
  if (edge === null) return;
  if (data.mode === 'per-datagram') {
    edge.on('message', (message: { type: string; data: ArrayBuffer; address: string; port: number }) => {
      if (message.type !== 'datagram') return;
      const buf = Buffer.from(message.data);
      // As the old DatagramPort.send: a copy of its own, transferred.
      const copy = new ArrayBuffer(buf.length);
      new Uint8Array(copy).set(buf);
      edge.postMessage({ type: 'send', data: copy, address: message.address, port: message.port }, [copy]);
    });
  } else {
    const guard = new SojournGuard();
    const schedule = data.mode === 'batched' ? undefined : (flush: () => void) => queueMicrotask(flush);
    const port = new DatagramPort(edge, { onSojourn: (now, sojournMs) => guard.observe(now, sojournMs), schedule });
    port.on('message', (buf, rinfo) => port.send(buf, 0, buf.length, rinfo.port, rinfo.address));
  }
  edge.postMessage({ type: 'ready', tid: threadId() });
}

/** The edge of one mode: a socket on loopback and two workers. */
class BenchEdge {
  readonly socket = dgram.createSocket('udp4');
  readonly workers: Worker[] = [];
  /** The workers' OS thread ids, to tell their CPU from the rest (Linux). */
  readonly workerTids = new Set<number>();
  roundTrips = 0;

  constructor(private readonly mode: Mode) {}

  async start(): Promise<number> {
    await new Promise<void>((resolve) => this.socket.bind(0, '127.0.0.1', resolve));
    this.socket.setRecvBufferSize(8 * 1024 * 1024);
    this.socket.setSendBufferSize(8 * 1024 * 1024);
    for (let index = 0; index < WORKERS; index++) {
      const worker = new Worker(__filename, { workerData: { mode: this.mode } satisfies BenchWorkerData });
      const [ready] = (await once(worker, 'message')) as [{ tid: number | null }];
      if (ready.tid !== null) this.workerTids.add(ready.tid);
      this.workers.push(worker);
    }
    const schedule = this.mode === 'batched' ? undefined : (flush: () => void) => queueMicrotask(flush);
    const handoff = new Handoff(
      (index, message, transfer) => {
        this.workers[index].postMessage(message, transfer);
        return true;
      },
      () => undefined,
      schedule,
    );
    this.socket.on('message', (msg, rinfo) => {
      const receivedAt = handoffNow();
      const index = fnv1a(scanCallId(msg) ?? '') % WORKERS;
      if (this.mode !== 'per-datagram') return handoff.add(index, msg, rinfo.address, rinfo.port, receivedAt);
      const data = new Uint8Array(msg).buffer;
      this.workers[index].postMessage({ type: 'datagram', data, address: rinfo.address, port: rinfo.port }, [data]);
    });
    for (const worker of this.workers) {
      worker.on('message', (message: SendsMessage | { type: 'send'; data: ArrayBuffer; address: string; port: number }) => {
        if (message.type === 'send') return this.send(Buffer.from(message.data), message.port, message.address);
        const batch = new PackedReader(message);
        for (let k = 0; k < batch.count; k++) this.send(batch.datagram(k) as Buffer, batch.port(k), batch.address(k));
      });
    }
    return this.socket.address().port;
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.terminate()));
    await new Promise<void>((resolve) => this.socket.close(resolve));
  }

  private send(bytes: Buffer, port: number, address: string): void {
    this.roundTrips++;
    this.socket.send(bytes, port, address);
  }
}

/** This thread's OS thread id (Linux), null elsewhere. */
function threadId(): number | null {
  try {
    return Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch {
    return null;
  }
}

interface ThreadCounts {
  /** Voluntary and involuntary context switches of every thread of this process. */
  readonly switches: number;
  /** CPU (µs, in clock ticks of 10 ms) of the edge thread, the workers, and every other thread (V8's, libuv's). */
  readonly edgeUs: number;
  readonly workersUs: number;
  readonly otherUs: number;
}

/** Per-thread counts from /proc (Linux); null elsewhere. */
function threadCounts(workerTids: ReadonlySet<number>): ThreadCounts | null {
  try {
    const tickUs = 1e6 / 100;
    let switches = 0;
    let edgeUs = 0;
    let workersUs = 0;
    let otherUs = 0;
    for (const task of readdirSync('/proc/self/task')) {
      const status = readFileSync(`/proc/self/task/${task}/status`, 'latin1');
      for (const match of status.matchAll(/^(?:non)?voluntary_ctxt_switches:\s+(\d+)$/gm)) switches += Number(match[1]);
      const stat = readFileSync(`/proc/self/task/${task}/stat`, 'latin1');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const us = (Number(fields[11]) + Number(fields[12])) * tickUs;
      const tid = Number(task);
      if (tid === process.pid) edgeUs += us;
      else if (workerTids.has(tid)) workersUs += us;
      else otherUs += us;
    }
    return { switches, edgeUs, workersUs, otherUs };
  } catch {
    return null;
  }
}

interface Row {
  readonly mode: Mode;
  readonly load: string;
  readonly cpuUsPerRoundTrip: number;
  /** Per round trip, from /proc; null off Linux. */
  readonly threads: { readonly switches: number; readonly edgeUs: number; readonly workersUs: number; readonly otherUs: number } | null;
  readonly result: LoadResult;
}

async function measure(load: ChildProcess, mode: Mode, label: string, spec: LoadRun, edge: BenchEdge): Promise<Row> {
  const cpuBefore = process.cpuUsage();
  const before = threadCounts(edge.workerTids);
  const tripsBefore = edge.roundTrips;
  load.send({ run: spec });
  const [{ done }] = (await once(load, 'message')) as [{ done: LoadResult }];
  const cpu = process.cpuUsage(cpuBefore);
  const after = threadCounts(edge.workerTids);
  const trips = Math.max(1, edge.roundTrips - tripsBefore);
  const per = (read: (counts: ThreadCounts) => number): number => (read(after as ThreadCounts) - read(before as ThreadCounts)) / trips;
  return {
    mode,
    load: label,
    cpuUsPerRoundTrip: (cpu.user + cpu.system) / trips,
    threads: before === null || after === null ? null : { switches: per((c) => c.switches), edgeUs: per((c) => c.edgeUs), workersUs: per((c) => c.workersUs), otherUs: per((c) => c.otherUs) },
    result: done,
  };
}

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** One line per load and mode: the median over the repetitions (round trips: all of them). */
function table(rows: readonly Row[], loads: readonly string[]): string {
  const lines = [
    '| load | mode | CPU µs / round trip | of which edge thread / workers / other threads | context switches / round trip | answered / sent | round trip p50 / p99 ms |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const load of loads) {
    for (const mode of MODES) {
      const runs = rows.filter((row) => row.load === load && row.mode === mode);
      if (runs.length === 0) continue;
      const threads = runs.every((row) => row.threads !== null) ? runs.map((row) => row.threads as NonNullable<Row['threads']>) : null;
      const split = threads === null ? 'n/a' : [median(threads.map((t) => t.edgeUs)), median(threads.map((t) => t.workersUs)), median(threads.map((t) => t.otherUs))].map((us) => us.toFixed(0)).join(' / ');
      const switches = threads === null ? 'n/a' : median(threads.map((t) => t.switches)).toFixed(2);
      const answered = runs.reduce((sum, row) => sum + row.result.answered, 0);
      const sent = runs.reduce((sum, row) => sum + row.result.sent, 0);
      const p50 = median(runs.map((row) => row.result.p50Ms)).toFixed(2);
      const p99 = median(runs.map((row) => row.result.p99Ms)).toFixed(2);
      lines.push(`| ${load} | ${mode} | ${median(runs.map((row) => row.cpuUsPerRoundTrip)).toFixed(1)} | ${split} | ${switches} | ${answered} / ${sent} | ${p50} / ${p99} |`);
    }
  }
  return lines.join('\n');
}

/** `--name value` as a positive number, or the fallback. */
function option(argv: readonly string[], name: string, fallback: number): number {
  const at = argv.indexOf(name);
  const value = at === -1 ? fallback : Number(argv[at + 1]);
  if (!(value > 0)) throw new Error(`${name} takes a positive number`);
  return value;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const seconds = option(argv, '--seconds', 4);
  const reps = option(argv, '--reps', 3);
  const ratesAt = argv.indexOf('--rates');
  const rates = ratesAt === -1 ? DEFAULT_RATES : (argv[ratesAt + 1] ?? '').split(',').map(Number);
  if (!rates.every((rate) => Number.isInteger(rate) && rate > 0)) throw new Error('--rates takes a comma-separated list of datagrams per second');
  const load = fork(path.join(__dirname, 'edge-handoff-load.js'));
  const rows: Row[] = [];
  const loads = [...rates.map((perSecond) => `${perSecond.toLocaleString('en')} datagrams/s`), `bursts of ${BURST.size.toLocaleString('en')}`];
  const loadAverage = os.loadavg().map((value) => value.toFixed(2)).join(' / ');
  // Interleaved, so a neighbour's load on the machine falls on every mode alike.
  for (let rep = 1; rep <= reps; rep++) {
    for (const mode of MODES) {
      const edge = new BenchEdge(mode);
      const port = await edge.start();
      load.send({ run: { kind: 'rate', port, perSecond: rates[0], durationMs: WARM_UP_MS } satisfies LoadRun });
      await once(load, 'message');
      for (const perSecond of rates) rows.push(await measure(load, mode, loads[rates.indexOf(perSecond)], { kind: 'rate', port, perSecond, durationMs: seconds * 1000 }, edge));
      rows.push(await measure(load, mode, loads[loads.length - 1], { kind: 'burst', port, ...BURST }, edge));
      await edge.stop();
      for (const row of rows.slice(-loads.length)) process.stdout.write(`rep ${rep}, ${mode}, ${row.load}: ${row.cpuUsPerRoundTrip.toFixed(1)} µs CPU per round trip\n`);
    }
  }
  load.kill();
  const report = [
    '# Edge ↔ worker hand-off: one message per datagram against one per event-loop turn',
    '',
    `\`${['node dist/bench/edge-handoff.js', ...argv].join(' ')}\` (bench/edge-handoff.ts), Node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), load average at start ${loadAverage}; ${reps} repetitions of ${seconds} s per rate, medians.`,
    `Each datagram (about 900 bytes, its own Call-ID) goes edge → one of ${WORKERS} workers (by Call-ID hash) → edge → the load process; CPU is this process's over the run (edge thread, workers, V8 threads), divided by the datagrams sent back, and split by thread from /proc (10 ms ticks). Context switches: all threads' voluntary and involuntary ones (/proc), per round trip.`,
    '',
    table(rows, loads),
    '',
  ].join('\n');
  process.stdout.write(`\n${report}`);
  if (!argv.includes('--no-write')) await writeFile(RESULTS, report);
}

if (isMainThread) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
} else {
  workerMain(workerData as BenchWorkerData);
}

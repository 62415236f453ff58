import os from 'node:os';
import path from 'node:path';
import type * as Sip from 'sip';
import { measure as measureRounds, median } from './measure';
import { MESSAGES } from './sip-hot-path-messages';
import { PAIR_KINDS, type PairKind, ProxiedCalls, TransactionPairs } from './sip-memory-net';

/**
 * The `sip` package's hot path in one thread, without sockets: parse and stringify of the messages of a
 * proxied call, branch ids, whole proxied calls through three stacks on an in-memory network (µs per call),
 * and the heap a finished call leaves behind while its transactions linger (Timers J, K, L, M: up to 64*T1),
 * also per transaction for pairs of stacks (client and server transaction of one request, by final status).
 *
 * `npm run build && node --expose-gc dist/bench/sip-hot-path.js`; `--sip <file>` measures another build of
 * sip.js (e.g. the unpatched-for-speed one, to compare), `--calls <n>` sets the number of calls per round.
 * Figures are medians of rounds; the machine's other load moves them, so compare runs made side by side.
 */

type SipModule = typeof Sip;

const ROUNDS = 7;

function argument(flag: string): string | undefined {
  const at = process.argv.indexOf(flag);
  return at === -1 ? undefined : process.argv[at + 1];
}

function loadSip(): { sip: SipModule; from: string } {
  const file = argument('--sip');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return file === undefined ? { sip: require('sip') as SipModule, from: 'sip' } : { sip: require(path.resolve(file)) as SipModule, from: path.resolve(file) };
}

const measure = (iterations: number, body: (i: number) => unknown): number => measureRounds(iterations, body, ROUNDS);


function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect === undefined) throw new Error('run node with --expose-gc');
  for (let k = 0; k < 4; k++) collect();
}

/**
 * While `body` runs, timers of 5 s and more (the linger windows: Timers D, J, K, L, M, H, I) are stretched
 * a hundredfold, so none ends before the heap is measured however slow the machine is.
 */
async function withLongLinger<T>(body: () => Promise<T>): Promise<T> {
  const real = globalThis.setTimeout;
  globalThis.setTimeout = ((callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) =>
    real(callback, (ms ?? 0) >= 5000 ? (ms ?? 0) * 100 : ms, ...args)) as unknown as typeof setTimeout;
  try {
    return await body();
  } finally {
    globalThis.setTimeout = real;
  }
}

async function callRounds(sip: SipModule, calls: number): Promise<{ usPerCall: number; datagrams: number }> {
  const perCall: number[] = [];
  let datagrams = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const rig = new ProxiedCalls(sip);
    await rig.run(200, 100);
    const before = rig.network.datagrams;
    const began = process.hrtime.bigint();
    await rig.run(calls, 100);
    perCall.push(Number(process.hrtime.bigint() - began) / 1000 / calls);
    datagrams = (rig.network.datagrams - before) / calls;
    rig.destroy();
  }
  return { usPerCall: median(perCall), datagrams };
}

/** Heap left per finished call while its 8 transactions linger, as the difference of two measurements. */
async function retainedPerCall(sip: SipModule, calls: number): Promise<number> {
  return withLongLinger(async () => {
    const rig = new ProxiedCalls(sip);
    await rig.run(200, 100);
    gc();
    const before = process.memoryUsage().heapUsed;
    await rig.run(calls, 100);
    gc();
    const after = process.memoryUsage().heapUsed;
    rig.destroy();
    return (after - before) / calls;
  });
}

/** Heap left per lingering transaction of a kind: `count` client and `count` server transactions. */
async function retainedPerTransaction(sip: SipModule, kind: PairKind, count: number): Promise<number> {
  return withLongLinger(async () => {
    const rig = new TransactionPairs(sip, kind);
    await rig.run(200);
    gc();
    const before = process.memoryUsage().heapUsed;
    await rig.run(count);
    gc();
    const after = process.memoryUsage().heapUsed;
    rig.destroy();
    return (after - before) / (2 * count);
  });
}

async function main(): Promise<void> {
  const { sip, from } = loadSip();
  const calls = Number(argument('--calls') ?? 2000);
  const lines: string[] = [];
  const row = (name: string, value: string): void => {
    lines.push(`${name.padEnd(56)} ${value}`);
  };
  const ns = (value: number): string => `${(value / 1000).toFixed(2).padStart(8)} µs`;

  let parseTotal = 0;
  let stringifyTotal = 0;
  for (const [kind, text] of Object.entries(MESSAGES)) {
    const datagram = Buffer.from(text, 'binary');
    const parseNs = measure(50_000, () => sip.parse(datagram));
    const parsed = sip.parse(datagram);
    if (parsed === undefined) throw new Error(`${kind} does not parse`);
    const stringifyNs = measure(50_000, () => sip.stringify(parsed).length);
    parseTotal += parseNs;
    stringifyTotal += stringifyNs;
    row(`parse ${kind} (${datagram.length} bytes)`, ns(parseNs));
    row(`stringify ${kind}`, ns(stringifyNs));
  }
  const kinds = Object.keys(MESSAGES).length;
  row('parse, mean of the four', ns(parseTotal / kinds));
  row('stringify, mean of the four', ns(stringifyTotal / kinds));
  row('generateBranch', ns(measure(200_000, () => sip.generateBranch())));

  const { usPerCall, datagrams } = await callRounds(sip, calls);
  row(`proxied call, 3 stacks, ${datagrams} datagrams (${calls} calls, 100 at once)`, `${usPerCall.toFixed(1).padStart(8)} µs/call`);
  row('  per datagram (sent, parsed, handled, all three stacks)', `${(usPerCall / datagrams).toFixed(2).padStart(8)} µs`);

  const retained: number[] = [];
  for (let round = 0; round < 3; round++) retained.push(await retainedPerCall(sip, calls));
  const bytes = median(retained);
  row('heap retained per finished call (8 lingering transactions)', `${Math.round(bytes).toLocaleString('en').padStart(8)} bytes`);
  row('  per lingering transaction', `${Math.round(bytes / 8).toLocaleString('en').padStart(8)} bytes`);
  for (const kind of PAIR_KINDS) {
    const perTransaction: number[] = [];
    for (let round = 0; round < 3; round++) perTransaction.push(await retainedPerTransaction(sip, kind, calls));
    row(`heap per lingering transaction, ${kind}`, `${Math.round(median(perTransaction)).toLocaleString('en').padStart(8)} bytes`);
  }

  process.stdout.write(
    `sip hot path: ${from}, Node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'}, load ${os.loadavg()[0].toFixed(2)}, median of ${ROUNDS} rounds\n${lines.join('\n')}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});

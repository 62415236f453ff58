import 'reflect-metadata';
import { fork, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { OPERATOR_KEY, TEST_REALM, TestApi } from '../test/support/api';
import { startTestServer, stopTestServer } from '../test/support/database';
import { TRUNK_PASSWORD } from '../test/support/sip-harness';
import { freeUdpPort } from '../test/support/sip-peer';
import { Sipp, sippVersion } from '../test/sipp/sipp';
import type { EdgeStats } from '../worker/edge/edge';
import { memoryKb, sleep } from './sip-process';

/**
 * An untrusted flood beside trusted calls (issue 6, defect 4): sipp as the carrier (127.0.0.1, a
 * configured carrier) places 100 calls/s to a DID whose PBX (sipp UAS, registered) answers, while
 * a Node flooder on 127.0.0.3 (no carrier) sends INVITEs with fresh Call-IDs as fast as it can.
 * The SIP role runs alone in its own process with 2 workers (bench/sip-node.ts). Reports trusted
 * calls failed and their setup p99 without a flood, beside a flood paced at 5,000/s and beside one
 * at full speed; untrusted INVITEs sent, read and answered; edge pins and RSS before, right
 * after, and once the carrier's calls have lingered out. Writes bench/results/untrusted-flood.md.
 *
 * `npm run build && node dist/bench/untrusted-flood.js` (`--no-write` to only print). Database:
 * DATABASE_URL's server when set, else an embedded PostgreSQL. About three minutes.
 */
const ROOT = path.resolve(__dirname, '..', '..');
const RESULTS = path.join(ROOT, 'bench', 'results', 'untrusted-flood.md');
const DID = '+442079466001';
const RATE = 100;
const BASELINE_S = 10;
const FLOOD_S = 25;
/** Untrusted INVITEs per second; 0: as fast as the flooder can send. */
const FLOOD_RATES = [5000, 0];
/** The carrier starts after the flood has begun and ends before it stops. */
const CALLS_S = 20;
const FLOOD_LEAD_S = 2;
const WORKERS = 2;
const STRANGER = '127.0.0.3';
/** The carriers' Call-IDs stay bound 64*T1 after their calls end (DIALOG_LINGER_MS), then go. */
const LINGER_WAIT_S = 40;
const SIPP_BUFFER = ['-buff_size', String(8 * 1024 * 1024)];

// ---------------------------------------------------------------- the flooder (a child process)

interface FloodResult {
  readonly sent: number;
  readonly answered: number;
  readonly answeredTwice: number;
  readonly statuses: Record<string, number>;
}

/** `--flooder <port> <seconds> <rate>`: INVITEs to 127.0.0.1:<port> from 127.0.0.3, fresh Call-ID each; rate 0 is full speed. */
async function flooder(port: number, seconds: number, rate: number): Promise<void> {
  const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 8 * 1024 * 1024, sendBufferSize: 8 * 1024 * 1024 });
  await new Promise<void>((resolve) => socket.bind(0, STRANGER, resolve));
  const local = socket.address();
  const answers = new Map<string, number>();
  const statuses: Record<string, number> = {};
  socket.on('message', (msg) => {
    const text = msg.toString('latin1');
    const callId = /\r\nCall-ID: ([^\r]+)\r\n/.exec(text)?.[1] ?? '?';
    answers.set(callId, (answers.get(callId) ?? 0) + 1);
    const status = text.slice(8, 11);
    statuses[status] = (statuses[status] ?? 0) + 1;
  });
  const head = `INVITE sip:${DID}@127.0.0.1:${port} SIP/2.0\r\nVia: SIP/2.0/UDP ${local.address}:${local.port};rport;branch=z9hG4bK-f`;
  const tail = `\r\nMax-Forwards: 70\r\nFrom: <sip:+15550199@stranger.test>;tag=s1\r\nTo: <sip:${DID}@127.0.0.1>\r\nCSeq: 1 INVITE\r\nContact: <sip:x@${local.address}:${local.port}>\r\nContent-Length: 0\r\n`;
  const begin = Date.now();
  const end = begin + seconds * 1000;
  let sent = 0;
  while (Date.now() < end) {
    if (rate > 0) {
      // Paced: catch up to the rate every few milliseconds.
      const due = Math.floor(((Date.now() - begin) / 1000) * rate);
      for (; sent < due; sent++) socket.send(`${head}${sent}${tail}Call-ID: flood-${sent}@stranger.test\r\n\r\n`, port, '127.0.0.1');
      await sleep(2);
      continue;
    }
    // Keep libuv's queue short: on loopback a send never blocks, the receiver drops what it cannot
    // read. A yield per batch lets this process read the answers too.
    for (let batch = 0; batch < 64 && socket.getSendQueueCount() < 256; batch++, sent++) {
      socket.send(`${head}${sent}${tail}Call-ID: flood-${sent}@stranger.test\r\n\r\n`, port, '127.0.0.1');
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  await sleep(1500);
  let answeredTwice = 0;
  for (const count of answers.values()) if (count > 1) answeredTwice++;
  const result: FloodResult = { sent, answered: answers.size, answeredTwice, statuses };
  process.send?.(result);
  socket.close();
}

// ---------------------------------------------------------------- the SIP node (a child process)

interface NodeStats {
  readonly edge: EdgeStats;
  readonly memory: NodeJS.MemoryUsage;
}

class SipNode {
  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
  ) {}

  static async start(databaseUrl: string, dir: string): Promise<SipNode> {
    const port = await freeUdpPort();
    const env = { ...process.env, DATABASE_URL: databaseUrl, SIP_HOST: '127.0.0.1', SIP_PORT: String(port), SIP_WORKERS: String(WORKERS), SIP_REALM: TEST_REALM, LOG_LEVEL: 'info', OPERATOR_API_KEY: OPERATOR_KEY };
    const log = path.join(dir, 'sip.log');
    const { openSync } = await import('node:fs');
    const fd = openSync(log, 'a');
    const child = fork(path.join(__dirname, 'sip-node.js'), [], { env, cwd: ROOT, stdio: ['ignore', fd, fd, 'ipc'] });
    const [message] = (await Promise.race([once(child, 'message'), once(child, 'exit').then(() => [null])])) as [{ ready?: boolean } | null];
    if (message?.ready !== true) throw new Error(`the SIP node did not start; see ${log}`);
    return new SipNode(child, port);
  }

  async stats(): Promise<NodeStats> {
    this.child.send('stats');
    const [message] = (await once(this.child, 'message')) as [NodeStats];
    return message;
  }

  async rssMb(): Promise<number> {
    return (await memoryKb(this.child.pid as number)).rssKb / 1024;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGTERM');
    await Promise.race([exited, sleep(10_000).then(() => this.child.kill('SIGKILL'))]);
  }
}

// ---------------------------------------------------------------- the bench

interface FloodRun {
  readonly label: string;
  readonly calls: CallsResult;
  readonly flooded: FloodResult;
  readonly before: NodeStats;
  readonly after: NodeStats;
  readonly rssBefore: number;
  readonly rssAfter: number;
}

interface CallsResult {
  readonly calls: number;
  readonly successful: number;
  readonly failedPercent: number;
  readonly retransmissions: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

let sippRun = 0;

async function carrierCalls(dir: string, sipPort: number, seconds: number): Promise<CallsResult> {
  const calls = RATE * seconds;
  const result = await new Sipp({
    scenario: 'carrier-invite-expect-200-ack-bye.xml', name: `carrier-${++sippRun}`, dir, localPort: await freeUdpPort(), remote: `127.0.0.1:${sipPort}`,
    service: DID, calls, rate: RATE, holdMs: 0, timeoutS: seconds + 40, timeoutError: false, traceRtt: true, extraArgs: SIPP_BUFFER,
  }).result;
  const times = [...result.responseTimesMs].sort((a, b) => a - b);
  const successful = Number.isFinite(result.successful) ? result.successful : 0;
  return {
    calls, successful, failedPercent: ((calls - successful) / calls) * 100, retransmissions: result.retransmissions,
    p50Ms: percentile(times, 50), p99Ms: percentile(times, 99), maxMs: times.length > 0 ? times[times.length - 1] : NaN,
  };
}

async function configure(api: TestApi): Promise<void> {
  await api.ok(OPERATOR_KEY, `mutation { createCarrier(input: { name: "Bench carrier", sourceCidrs: ["127.0.0.1/32"] }) { id } }`);
  const company = await api.company('Bench flood');
  const plan = await api.ok<{ createDialPlan: { id: string } }>(company.key, `mutation ($input: CreateDialPlanInput!) { createDialPlan(input: $input) { id } }`, {
    input: { companyId: company.id, name: 'Failover', internalNumber: '900', flow: { entryStepId: 'hangup', steps: [{ id: 'hangup', app: 'HANGUP', hangup: { status: 486 } }] } },
  });
  await api.ok(company.key, `mutation ($input: CreateTrunkInput!) { createTrunk(input: $input) { id } }`, {
    input: {
      companyId: company.id, name: 'bench-flood', sipUsername: 'bench-flood', sipPassword: TRUNK_PASSWORD, inboundNumbers: [DID], maxConcurrentCalls: 10_000,
      failover: { enabled: true, dialPlanId: plan.createDialPlan.id },
    },
  });
}

async function registerPbx(dir: string, sipPort: number, pbxPort: number): Promise<void> {
  const result = await new Sipp({
    scenario: 'pbx-register-md5-expect-401-then-200.xml', name: `register-${++sippRun}`, dir, localPort: pbxPort, remote: `127.0.0.1:${sipPort}`,
    service: 'bench-flood', auth: { username: 'bench-flood', password: TRUNK_PASSWORD }, calls: 1, timeoutS: 10,
  }).result;
  if (result.exitCode !== 0 || result.successful !== 1) throw new Error(`registration failed:\n${result.describe()}`);
}

async function flood(sipPort: number, seconds: number, rate: number): Promise<FloodResult> {
  const child = fork(__filename, ['--flooder', String(sipPort), String(seconds), String(rate)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [result] = (await once(child, 'message')) as [FloodResult];
  await once(child, 'exit');
  return result;
}

const fmt = (value: number, digits = 0): string => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

async function main(): Promise<void> {
  const write = !process.argv.includes('--no-write');
  const began = Date.now();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'trunk-failover-flood-'));
  await startTestServer();
  let api: TestApi | null = null;
  let node: SipNode | null = null;
  const uas: Sipp[] = [];
  try {
    api = await TestApi.start();
    await configure(api);
    node = await SipNode.start(api.database.url, dir);
    const pbxPort = await freeUdpPort();
    await registerPbx(dir, node.port, pbxPort);
    await sleep(500);
    const pbx = new Sipp({ scenario: 'uas-answer-180-200-expect-ack-bye.xml', name: 'pbx', dir, localPort: pbxPort, timeoutS: 300, timeoutError: false, extraArgs: SIPP_BUFFER });
    uas.push(pbx);
    await sleep(300);

    process.stdout.write(`baseline: ${RATE} calls/s for ${BASELINE_S} s, no flood\n`);
    const baseline = await carrierCalls(dir, node.port, BASELINE_S);
    await sleep(1000);
    const runs: FloodRun[] = [];
    for (const rate of FLOOD_RATES) {
      const label = rate === 0 ? 'full speed' : `${rate}/s`;
      process.stdout.write(`flood at ${label}: ${FLOOD_S} s from ${STRANGER}, carrier ${RATE} calls/s for ${CALLS_S} s inside it\n`);
      const before = await node.stats();
      const rssBefore = await node.rssMb();
      const flooding = flood(node.port, FLOOD_S, rate);
      await sleep(FLOOD_LEAD_S * 1000);
      const calls = await carrierCalls(dir, node.port, CALLS_S);
      const flooded = await flooding;
      runs.push({ label, calls, flooded, before, after: await node.stats(), rssBefore, rssAfter: await node.rssMb() });
      await sleep(1000);
    }
    await sleep(LINGER_WAIT_S * 1000);
    const settled = await node.stats();
    const rssSettled = await node.rssMb();

    const callRow = (label: string, calls: CallsResult): string =>
      `| ${label} | ${calls.calls} | ${fmt(calls.failedPercent, 2)} % | ${fmt(calls.p50Ms)} / ${fmt(calls.p99Ms)} / ${fmt(calls.maxMs)} | ${calls.retransmissions} |`;
    const floodRow = (run: FloodRun): string => {
      const read = run.after.edge.refused['untrusted-source'] - run.before.edge.refused['untrusted-source'];
      const unanswered = run.after.edge.refusedUnanswered - run.before.edge.refusedUnanswered;
      return (
        `| ${run.label} | ${run.flooded.sent} (${fmt(run.flooded.sent / FLOOD_S)}/s) | ${read} | ${run.flooded.sent - read} | ${run.flooded.answered} | ` +
        `${run.flooded.answeredTwice} | ${unanswered} | ${run.after.edge.dispatched - run.before.edge.dispatched} |`
      );
    };
    const memoryRow = (when: string, stats: NodeStats, rss: number): string =>
      `| ${when} | ${stats.edge.pins} | ${fmt(rss)} | ${fmt(stats.memory.heapUsed / 2 ** 20)} |`;
    const markdown = [
      '# Untrusted flood beside trusted calls',
      '',
      `\`npm run build && node dist/bench/untrusted-flood.js\` (bench/untrusted-flood.ts), ${new Date().toISOString().slice(0, 10)}, ${fmt((Date.now() - began) / 1000)} s.`,
      '',
      `- machine: ${os.cpus().length} CPUs, ${os.cpus()[0]?.model ?? 'unknown CPU'}, Linux ${os.release()}; Node ${process.version}, sipp ${sippVersion()}`,
      `- SIP role alone in its own process (bench/sip-node.ts: \`startSipRole\` as \`--role sip\`), ${WORKERS} workers, LOG_LEVEL=info; everything on loopback and on the same cores`,
      `- carrier: sipp from 127.0.0.1 (a configured carrier), ${RATE} calls/s, INVITE/180/200/ACK/BYE to a registered sipp PBX; setup is INVITE sent to 200 received (sipp rtd 1, whole ms)`,
      `- flood: a Node process on ${STRANGER} (no carrier) sending INVITEs with a fresh Call-ID each for ${FLOOD_S} s, paced or as fast as it can; the carrier's ${CALLS_S} s of calls start ${FLOOD_LEAD_S} s into it`,
      '',
      '## Trusted calls',
      '',
      '| flood | calls | failed | setup ms p50 / p99 / max | INVITE retransmissions |',
      '|---|---|---|---|---|',
      callRow('none (baseline)', baseline),
      ...runs.map((run) => callRow(run.label, run.calls)),
      '',
      '## The flood',
      '',
      'Read: refused by the edge as untrusted-source. Kernel-dropped: sent but never read (the socket buffer was full). Answered: distinct',
      'Call-IDs that got a 403, as the flooder counted (every answer was a 403). Unanswered: refused without a response while the edge',
      'was flooded. Dispatched: datagrams the edge handed to a worker meanwhile, the carrier\'s calls included.',
      '',
      '| flood | sent | read | kernel-dropped | answered | answered twice | unanswered | dispatched |',
      '|---|---|---|---|---|---|---|---|',
      ...runs.map(floodRow),
      '',
      '## Edge pins and memory of the SIP process',
      '',
      '| when | Call-ID pins | RSS MB | heap used MB |',
      '|---|---|---|---|',
      ...runs.flatMap((run) => [memoryRow(`before the ${run.label} flood`, run.before, run.rssBefore), memoryRow(`right after it`, run.after, run.rssAfter)]),
      memoryRow(`${LINGER_WAIT_S} s later (the carrier calls' pins lingered out)`, settled, rssSettled),
      '',
      'Before the change (issue 6, same job with `npm start`): trusted calls failed 0 % -> 88.8 % under a full-speed flood (setup p99 12 s),',
      '14.1 % at 5,000/s; 111,644 pins left, RSS 258 MB -> 1.1 GB.',
      '',
    ].join('\n');
    process.stdout.write(`\n${markdown}`);
    if (write) await writeFile(RESULTS, markdown);
  } finally {
    await Promise.all(uas.map((peer) => peer.stop()));
    await node?.stop();
    await api?.stop();
    await stopTestServer();
    await rm(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const at = process.argv.indexOf('--flooder');
  const run = at >= 0 ? flooder(Number(process.argv[at + 1]), Number(process.argv[at + 2]), Number(process.argv[at + 3])) : main();
  run.catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}

import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { openSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { OPERATOR_KEY, TEST_REALM, TestApi } from '../test/support/api';
import { startTestServer, stopTestServer } from '../test/support/database';
import { TRUNK_PASSWORD } from '../test/support/sip-harness';
import { freeUdpPort, newTag, placeCall, SipPeer, type Remote } from '../test/support/sip-peer';
import type { SipRequest } from '../worker/sip/message';
import { sleep } from './sip-process';

/**
 * For bench/dial-plan.ts: a PARALLEL ring group's time to CANCEL the targets that lost, end to end
 * over SIP on loopback. The SIP role runs alone in its own process (bench/sip-node.ts); this process
 * holds the carrier and the targets, real `sip` stacks on 127.0.0.1, so both ends of each figure
 * are read on one clock. Per call: the carrier's INVITE to a DID whose trunk has no registered PBX
 * fails over into a dial plan whose one step rings N targets at once; each answers 100 and 180,
 * and once every target has its INVITE the winner (each target in turn) answers 200 after RING_MS.
 * Measured: from the winner handing its 200 to its stack to each loser's stack handing up the
 * CANCEL. Calls one at a time, each hung up before the next.
 */
export const RING_GROUP_SIZES = [2, 5, 10];
const ROOT = path.resolve(__dirname, '..', '..');
const CALLS = 200;
const WARM_UP_CALLS = 20;
const WORKERS = 2;
/** Enough for every 1xx to reach the SIP role, so that every loser is CANCELled rather than abandoned. */
const RING_MS = 20;
const WAIT_MS = 5000;

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export interface RingGroupFigures {
  readonly targets: number;
  readonly calls: number;
  readonly answered: number;
  readonly cancelsExpected: number;
  readonly cancelsReceived: number;
  /** Per loser, ms from the winner's 200 to its CANCEL. */
  readonly perLoserMs: readonly number[];
  /** Per call, ms from the winner's 200 to the last loser's CANCEL. */
  readonly lastLoserMs: readonly number[];
}

interface GroupCall {
  readonly winner: number;
  readonly invites: (SipRequest | null)[];
  answeredAt: bigint | null;
  readonly cancelledAt: (bigint | null)[];
  allCancelled: () => void;
}

/** N targets of one ring group, answering as described above; one call at a time. */
class TargetGroup {
  private current: { callId: string; call: GroupCall } | null = null;
  private readonly tags: string[];

  private constructor(readonly peers: SipPeer[]) {
    this.tags = peers.map(() => newTag());
    peers.forEach((peer, index) => (peer.handler = (request) => this.onRequest(index, request)));
  }

  static async start(size: number): Promise<TargetGroup> {
    const peers: SipPeer[] = [];
    for (let index = 0; index < size; index++) peers.push(await SipPeer.start(`desk-${size}-${index}`));
    return new TargetGroup(peers);
  }

  /** The next call on `callId`; resolves once every loser has its CANCEL. */
  expect(callId: string, winner: number): { call: GroupCall; cancelled: Promise<void> } {
    const size = this.peers.length;
    let allCancelled = (): void => undefined;
    const cancelled = new Promise<void>((resolve) => (allCancelled = resolve));
    const call: GroupCall = { winner, invites: Array<SipRequest | null>(size).fill(null), answeredAt: null, cancelledAt: Array<bigint | null>(size).fill(null), allCancelled };
    this.current = { callId, call };
    return { call, cancelled };
  }

  stop(): void {
    for (const peer of this.peers) peer.stop();
  }

  private withTag(index: number, request: SipRequest): Record<string, unknown> {
    const to = { ...request.headers.to, params: { ...request.headers.to.params, tag: this.tags[index] } };
    // A UAS copies Record-Route into its dialog-creating responses (RFC 3261 section 12.1.1).
    const recordRoute = request.headers['record-route'];
    return recordRoute === undefined ? { to } : { to, 'record-route': recordRoute };
  }

  private onRequest(index: number, request: SipRequest): void {
    const peer = this.peers[index];
    const call = this.current?.callId === request.headers['call-id'] ? this.current.call : null;
    switch (request.method) {
      case 'INVITE': {
        peer.reply(request, 100, 'Trying');
        peer.reply(request, 180, 'Ringing', { headers: this.withTag(index, request) });
        if (call === null || call.invites[index] !== null) return;
        call.invites[index] = request;
        if (call.invites.every((invite) => invite !== null)) setTimeout(() => this.answer(call), RING_MS);
        return;
      }
      case 'CANCEL': {
        const at = process.hrtime.bigint();
        peer.reply(request, 200, 'OK');
        const invite = call?.invites[index];
        if (call === null || invite == null) return;
        call.cancelledAt[index] = at;
        peer.reply(invite, 487, 'Request Terminated', { headers: this.withTag(index, invite) });
        if (call.cancelledAt.every((when, target) => when !== null || target === call.winner)) call.allCancelled();
        return;
      }
      case 'ACK':
        return;
      default:
        peer.reply(request, 200, 'OK');
    }
  }

  private answer(call: GroupCall): void {
    const invite = call.invites[call.winner] as SipRequest;
    const peer = this.peers[call.winner];
    const headers = { ...this.withTag(call.winner, invite), contact: [{ uri: peer.uri, params: {} }], 'content-type': 'application/sdp' };
    const content = 'v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40002 RTP/AVP 0\r\n';
    call.answeredAt = process.hrtime.bigint();
    peer.reply(invite, 200, 'OK', { headers, content });
  }
}

/** The SIP role alone in a process of its own, configured from the environment (bench/sip-node.ts). */
async function startSipNode(databaseUrl: string, dir: string): Promise<{ child: ChildProcess; proxy: Remote }> {
  const port = await freeUdpPort();
  const env = { ...process.env, DATABASE_URL: databaseUrl, SIP_HOST: '127.0.0.1', SIP_PORT: String(port), SIP_WORKERS: String(WORKERS), SIP_REALM: TEST_REALM, LOG_LEVEL: 'info', OPERATOR_API_KEY: OPERATOR_KEY };
  const log = path.join(dir, 'sip.log');
  const fd = openSync(log, 'a');
  const child = fork(path.join(__dirname, 'sip-node.js'), [], { env, cwd: ROOT, stdio: ['ignore', fd, fd, 'ipc'] });
  const [message] = (await Promise.race([once(child, 'message'), once(child, 'exit').then(() => [null])])) as [{ ready?: boolean } | null];
  if (message?.ready !== true) throw new Error(`the SIP node did not start; see ${log}`);
  return { child, proxy: { address: '127.0.0.1', port } };
}

async function stopSipNode(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(10_000).then(() => child.kill('SIGKILL'))]);
}

/** A company whose trunk (no PBX registered) fails over into a plan ringing `group` in PARALLEL. */
async function configure(api: TestApi, did: string, group: TargetGroup): Promise<void> {
  const size = group.peers.length;
  const company = await api.company(`Ring group of ${size}`);
  const flow = {
    entryStepId: 'group',
    steps: [
      { id: 'group', app: 'RING_GROUP', ringGroup: { strategy: 'PARALLEL', targets: group.peers.map((peer) => ({ target: peer.uri })), ringTimeoutSeconds: 30 }, exits: [{ on: 'noAnswer', stepId: 'busy' }] },
      { id: 'busy', app: 'HANGUP', hangup: { status: 486 } },
    ],
  };
  const plan = await api.ok<{ createDialPlan: { id: string } }>(company.key, `mutation ($input: CreateDialPlanInput!) { createDialPlan(input: $input) { id } }`, {
    input: { companyId: company.id, name: 'Everyone', internalNumber: '900', flow },
  });
  await api.ok(company.key, `mutation ($input: CreateTrunkInput!) { createTrunk(input: $input) { id } }`, {
    input: {
      companyId: company.id, name: `ring-${size}`, sipUsername: `ring-${size}`, sipPassword: TRUNK_PASSWORD, inboundNumbers: [did], maxConcurrentCalls: 10,
      failover: { enabled: true, dialPlanId: plan.createDialPlan.id },
    },
  });
}

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), WAIT_MS)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Call-IDs stay bound for a while after their call: every call has its own. */
let callsPlaced = 0;

/**
 * `count` calls to `did`, one at a time, and their figures. A call not answered 200 stops the
 * bench; a loser's CANCEL that has not come within WAIT_MS of the answer is counted missing.
 */
async function ring(carrier: SipPeer, proxy: Remote, did: string, group: TargetGroup, count: number): Promise<{ answered: number; cancels: number; perLoserMs: number[]; lastLoserMs: number[] }> {
  const figures = { answered: 0, cancels: 0, perLoserMs: [] as number[], lastLoserMs: [] as number[] };
  for (let n = 0; n < count; n++) {
    const callId = `ring-${group.peers.length}-${++callsPlaced}@carrier.test`;
    const { call, cancelled } = group.expect(callId, n % group.peers.length);
    const placed = placeCall(carrier, proxy, did, { callId });
    const final = await placed.final(WAIT_MS);
    if (final.status !== 200) throw new Error(`call ${callId} ended with ${final.status}`);
    figures.answered++;
    await withTimeout(cancelled, `every loser's CANCEL on ${callId}`).catch(() => undefined);
    const answeredAt = call.answeredAt as bigint;
    const losers = call.cancelledAt.filter((at, index): at is bigint => at !== null && index !== call.winner).map((at) => Number(at - answeredAt) / 1e6);
    figures.cancels += losers.length;
    figures.perLoserMs.push(...losers);
    if (losers.length === group.peers.length - 1) figures.lastLoserMs.push(Math.max(...losers));
    await withTimeout(placed.bye(), `the BYE's answer on ${callId}`);
  }
  return figures;
}

/**
 * The reference: `count` OPTIONS from the carrier to the SIP role, one at a time, each ms from
 * handing it to the stack to its 200 handed up: one round trip through the edge and a worker,
 * as the winner's 200 and a loser's CANCEL make, without the branch set.
 */
async function optionsRoundTrips(carrier: SipPeer, proxy: Remote, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let n = 0; n < count; n++) {
    const request: SipRequest = {
      method: 'OPTIONS',
      uri: `sip:${proxy.address}:${proxy.port}`,
      headers: {
        to: { uri: `sip:${proxy.address}:${proxy.port}`, params: {} },
        from: { uri: carrier.uri, params: { tag: newTag() } },
        'call-id': `options-${++callsPlaced}@carrier.test`,
        cseq: { seq: 1, method: 'OPTIONS' },
        via: [],
      },
    };
    const began = process.hrtime.bigint();
    const status = await withTimeout(new Promise<number>((resolve) => carrier.send(request, (response) => response.status >= 200 && resolve(response.status))), 'an answer to OPTIONS');
    if (status !== 200) throw new Error(`OPTIONS answered ${status}`);
    times.push(Number(process.hrtime.bigint() - began) / 1e6);
  }
  return times;
}

export interface RingFigures {
  readonly groups: readonly RingGroupFigures[];
  /** The reference: ms per OPTIONS round trip to the SIP role. */
  readonly optionsMs: readonly number[];
}

export async function measureRingGroups(): Promise<RingFigures> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'trunk-failover-ring-'));
  await startTestServer();
  let api: TestApi | null = null;
  let node: ChildProcess | null = null;
  const groups: TargetGroup[] = [];
  let carrier: SipPeer | null = null;
  try {
    api = await TestApi.start();
    await api.ok(OPERATOR_KEY, `mutation { createCarrier(input: { name: "Bench carrier", sourceCidrs: ["127.0.0.1/32"] }) { id } }`);
    const dids = RING_GROUP_SIZES.map((_, index) => `+44207946810${index}`);
    for (const [index, size] of RING_GROUP_SIZES.entries()) {
      const group = await TargetGroup.start(size);
      groups.push(group);
      await configure(api, dids[index], group);
    }
    const started = await startSipNode(api.database.url, dir);
    node = started.child;
    carrier = await SipPeer.start('carrier');
    await optionsRoundTrips(carrier, started.proxy, WARM_UP_CALLS);
    const optionsMs = await optionsRoundTrips(carrier, started.proxy, CALLS);
    const results: RingGroupFigures[] = [];
    for (const [index, group] of groups.entries()) {
      const size = group.peers.length;
      await ring(carrier, started.proxy, dids[index], group, WARM_UP_CALLS);
      const measured = await ring(carrier, started.proxy, dids[index], group, CALLS);
      process.stdout.write(`  ${size} targets: ${measured.answered} calls answered, ${measured.cancels} of ${CALLS * (size - 1)} CANCELs\n`);
      results.push({ targets: size, calls: CALLS, answered: measured.answered, cancelsExpected: CALLS * (size - 1), cancelsReceived: measured.cancels, perLoserMs: measured.perLoserMs, lastLoserMs: measured.lastLoserMs });
    }
    return { groups: results, optionsMs };
  } finally {
    carrier?.stop();
    for (const group of groups) group.stop();
    if (node !== null) await stopSipNode(node);
    await api?.stop();
    await stopTestServer();
    await rm(dir, { recursive: true, force: true });
  }
}

function spread(values: readonly number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  return `${percentile(sorted, 50).toFixed(2)} / ${percentile(sorted, 99).toFixed(2)} / ${(sorted[sorted.length - 1] ?? NaN).toFixed(2)}`;
}

export function ringGroupMarkdown(figures: RingFigures): string[] {
  return [
    '## 2. A PARALLEL ring group: the winner\'s 200 to the losers\' CANCEL',
    '',
    `The SIP role alone in its own process (bench/sip-node.ts: \`startSipRole\` as \`--role sip\`), ${WORKERS} workers, LOG_LEVEL=info, on`,
    'a fresh database (DATABASE_URL\'s server, else an embedded PostgreSQL); the carrier and the targets are real `sip` stacks',
    'in the bench process on 127.0.0.1, everything on the same cores. Each call: the carrier\'s INVITE to a DID whose trunk',
    'has no registered PBX fails over into a dial plan whose one step is a PARALLEL RING_GROUP of N `sip:` targets; each',
    `target answers 100 and 180; once all N have their INVITE, one (each in turn) answers 200 after ${RING_MS} ms. Per loser:`,
    'from the winner handing its 200 to its stack to the loser\'s stack handing up the CANCEL (one clock, this process), so',
    'the figure holds both loopback trips, the edge, the worker\'s branch set and the `sip` stack\'s parsing at both ends.',
    `Calls one at a time, each hung up (BYE) before the next; ${WARM_UP_CALLS} calls per group first to warm up, not counted.`,
    '',
    '| targets | calls answered | CANCELs received / expected | each loser\'s CANCEL, ms p50 / p99 / max | the last loser\'s CANCEL per call, ms p50 / p99 / max |',
    '|---|---|---|---|---|',
    ...figures.groups.map((row) => `| ${row.targets} | ${row.answered} / ${row.calls} | ${row.cancelsReceived} / ${row.cancelsExpected} | ${spread(row.perLoserMs)} | ${spread(row.lastLoserMs)} |`),
    '',
    `The reference, on the same node just before the calls: an OPTIONS from the carrier answered 200 by a worker, ${CALLS} one`,
    "at a time, from handing it to the stack to the 200 handed up: one trip in and out through the edge and a worker, as",
    "the winner's 200 in and a loser's CANCEL out make, without the call and its branch set.",
    '',
    '| request | count | ms p50 / p99 / max |',
    '|---|---|---|',
    `| OPTIONS, answered 200 | ${figures.optionsMs.length} | ${spread(figures.optionsMs)} |`,
  ];
}

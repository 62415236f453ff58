import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { OPERATOR_KEY, TEST_REALM, type TestApi } from '../test/support/api';
import { TRUNK_PASSWORD } from '../test/support/sip-harness';
import { actAsPbx, freeUdpPort, placeCall, register, SipPeer, waitUntil, type CarrierCall, type Remote } from '../test/support/sip-peer';
import type { SipRequest } from '../worker/sip/message';
import { sleep } from './sip-process';

/**
 * For bench/trunk-health.ts: the product in `--role all` (the API with its webhook dispatcher in its
 * own thread, the SIP edge and its workers), a PBX that registers and can go silent, the failover
 * target, a webhook receiver, and the calls, all on 127.0.0.1. Every time here is epoch
 * milliseconds with sub-millisecond precision, read in this process (`epochMs`), so a webhook's
 * arrival and an event's `at` (the SIP process's clock, same machine) compare directly.
 */
const ROOT = path.resolve(__dirname, '..', '..');
export const SIP_WORKERS = 2;

export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

// ---------------------------------------------------------------- the product

export class Product {
  private output = '';

  private constructor(
    readonly child: ChildProcess,
    readonly proxy: Remote,
  ) {
    const keep = (chunk: Buffer) => (this.output = (this.output + chunk.toString('utf8')).slice(-400_000));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  /** `node dist/app/main.js --role all` on `databaseUrl`; resolves with the API's URL once both roles listen. */
  static async start(databaseUrl: string): Promise<{ product: Product; apiUrl: string }> {
    const sipPort = await freeUdpPort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: databaseUrl,
      API_PORT: '0',
      SIP_HOST: '127.0.0.1',
      SIP_PORT: String(sipPort),
      SIP_WORKERS: String(SIP_WORKERS),
      SIP_REALM: TEST_REALM,
      OPERATOR_API_KEY: OPERATOR_KEY,
      LOG_LEVEL: 'info',
    };
    const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'app', 'main.js'), '--role', 'all'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const product = new Product(child, { address: '127.0.0.1', port: sipPort });
    const ready = () => product.output.includes('"msg":"SIP edge listening"') && product.output.includes('"msg":"GraphQL API listening"');
    await waitUntil(() => child.exitCode !== null || ready(), 60_000, 'both roles to start');
    if (child.exitCode !== null) throw new Error(`--role all exited with ${child.exitCode}:\n${product.output.slice(-3000)}`);
    const apiUrl = /"url":"(http:[^"]+)"/.exec(product.output)?.[1];
    if (apiUrl === undefined) throw new Error(`no API URL in the log:\n${product.output.slice(-3000)}`);
    return { product, apiUrl };
  }

  /** Log lines at warn or worse so far. */
  problems(): string[] {
    return this.output.split('\n').filter((line) => /"level":[456]0/.test(line));
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    await Promise.race([exited, sleep(15_000).then(() => this.child.kill('SIGKILL'))]);
  }
}

// ---------------------------------------------------------------- the PBX and the failover target

/**
 * A customer's PBX: registers its trunk, answers INVITEs (100, 180, 200) and OPTIONS (200) while
 * alive; once silent it answers nothing at all, as a PBX whose host hangs or whose network drops.
 */
export class Pbx {
  silent = false;
  readonly options: number[] = [];
  readonly invites: number[] = [];

  private constructor(readonly peer: SipPeer) {
    actAsPbx(peer, () => ({ kind: 'answer' }));
    const inner = peer.handler;
    peer.handler = (request: SipRequest, remote) => {
      if (request.method === 'OPTIONS') this.options.push(epochMs());
      if (request.method === 'INVITE') this.invites.push(epochMs());
      if (!this.silent) inner?.(request, remote);
    };
  }

  static async start(name: string): Promise<Pbx> {
    return new Pbx(await SipPeer.start(name));
  }

  async register(proxy: Remote, username: string): Promise<void> {
    const { response } = await register(this.peer, { proxy, username, password: TRUNK_PASSWORD, realm: TEST_REALM, contact: this.peer.uri, expires: 3600 });
    if (response.status !== 200) throw new Error(`REGISTER of ${username} answered ${response.status}`);
  }

  stop(): void {
    this.peer.stop();
  }
}

// ---------------------------------------------------------------- the webhook receiver

export interface Arrival {
  readonly path: string;
  readonly at: number;
  readonly event: { id: string; trunkId: string; type: string; reason: string | null; at: string };
}

/** An HTTP server on loopback that answers 200 at once and keeps every POST with its arrival time. */
export class Receiver {
  readonly arrivals: Arrival[] = [];
  private readonly waiters: (() => void)[] = [];
  private readonly server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const at = epochMs();
      response.writeHead(200).end();
      this.arrivals.push({ path: request.url ?? '/', at, event: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Arrival['event'] });
      for (const wake of this.waiters.splice(0)) wake();
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The first arrival that `match` accepts, within `timeoutMs`; null when none came. */
  async first(match: (arrival: Arrival) => boolean, timeoutMs: number): Promise<Arrival | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.arrivals.find(match);
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0) return null;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

// ---------------------------------------------------------------- configuration through the API

export interface BenchTrunk {
  readonly companyId: string;
  /** The company's API key. */
  readonly key: string;
  readonly trunkId: string;
  readonly username: string;
  readonly did: string;
}

/**
 * A company with a webhook endpoint at `hookUrl` for every event type, and a trunk whose failover
 * plan forwards to `mobileUri` (which answers at once); `healthCheck` as the API takes it.
 */
export async function configureTrunk(api: TestApi, options: { name: string; did: string; mobileUri: string; hookUrl: string; noProvisionalTimeoutSeconds: number; healthCheck?: Record<string, unknown> }): Promise<BenchTrunk> {
  const company = await api.company(`Bench ${options.name}`);
  const flow = { entryStepId: 'mobile', steps: [{ id: 'mobile', app: 'FORWARD', forward: { target: options.mobileUri, ringTimeoutSeconds: 5 }, exits: [] }] };
  const plan = await api.ok<{ createDialPlan: { id: string } }>(company.key, `mutation ($input: CreateDialPlanInput!) { createDialPlan(input: $input) { id } }`, {
    input: { companyId: company.id, name: 'Failover', internalNumber: '900', flow },
  });
  const username = `bench-${options.name}`;
  const trunk = await api.ok<{ createTrunk: { id: string } }>(company.key, `mutation ($input: CreateTrunkInput!) { createTrunk(input: $input) { id } }`, {
    input: {
      companyId: company.id, name: options.name, sipUsername: username, sipPassword: TRUNK_PASSWORD, inboundNumbers: [options.did], maxConcurrentCalls: 1000,
      failover: { enabled: true, dialPlanId: plan.createDialPlan.id, noProvisionalTimeoutSeconds: options.noProvisionalTimeoutSeconds },
      ...(options.healthCheck === undefined ? {} : { healthCheck: options.healthCheck }),
    },
  });
  await api.ok(company.key, `mutation ($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { secret } }`, {
    input: { companyId: company.id, url: options.hookUrl, events: ['FAILOVER_STARTED', 'FAILOVER_ENDED', 'REGISTRATION_LOST', 'REGISTRATION_RESTORED'] },
  });
  return { companyId: company.id, key: company.key, trunkId: trunk.createTrunk.id, username, did: options.did };
}

export async function healthState(api: TestApi, trunkId: string): Promise<string> {
  const rows = (await api.dataSource.query('SELECT state FROM trunk_health WHERE trunk_id = $1', [trunkId])) as { state: string }[];
  return rows[0]?.state ?? 'none';
}

// ---------------------------------------------------------------- calls

export interface TimedCall {
  readonly call: CarrierCall;
  readonly placedAt: number;
  /** The caller's final response, and when it came; null while none. */
  final: { status: number; at: number } | null;
}

/**
 * A carrier call to `did`: placed through a view of `carrier` that notes when each response is
 * handed up, so the final response is timed as it arrives (not when polled); an answered call is
 * hung up at once.
 */
export function timedCall(carrier: SipPeer, proxy: Remote, did: string): TimedCall {
  const view = Object.create(carrier) as SipPeer;
  let timed: TimedCall | null = null;
  view.send = (request, onResponse) =>
    carrier.send(request, onResponse === undefined ? undefined : (response) => {
      const first = timed !== null && timed.final === null && request.method === 'INVITE' && response.status >= 200;
      if (first && timed !== null) timed.final = { status: response.status, at: epochMs() };
      onResponse(response);
      if (first && response.status < 300) void timed?.call.bye();
    });
  const placedAt = epochMs();
  timed = { call: placeCall(view, proxy, did), placedAt, final: null };
  return timed;
}

/** Waits until every call has its final response, or `timeoutMs`. */
export async function settled(calls: readonly TimedCall[], timeoutMs: number): Promise<void> {
  await waitUntil(() => calls.every((call) => call.final !== null), timeoutMs, 'every call to end').catch(() => undefined);
}

/** The failover reason recorded for each call (null when the call was delivered), once every record is written. */
export async function reasons(api: TestApi, calls: readonly TimedCall[]): Promise<Map<string, string | null>> {
  const ids = calls.map((call) => call.call.callId);
  const read = async () => (await api.dataSource.query('SELECT call_id, failover_reason FROM call_record WHERE call_id = ANY($1)', [ids])) as { call_id: string; failover_reason: string | null }[];
  const rows = await waitUntil(async () => {
    const found = await read();
    return found.length >= ids.length ? found : null;
  }, 10_000, 'every call record').catch(read);
  return new Map(rows.map((row) => [row.call_id, row.failover_reason]));
}

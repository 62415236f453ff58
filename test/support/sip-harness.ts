import pino from 'pino';
import type { Config } from '../../app/config';
import { startSipRole, type SipRole } from '../../app/sip-role';
import { forwardFlow, OPERATOR_KEY, TEST_REALM, TestApi } from './api';
import { register, SipPeer, waitUntil, type Remote } from './sip-peer';

export const TRUNK_PASSWORD = 'correct horse battery';

export interface HarnessOptions {
  readonly workers?: number;
  /** Timer C for the PBX branch; production uses 180 s. */
  readonly timerCMs?: number;
  /** How long one second of a session interval or of the maximum call length lasts; production uses 1000. */
  readonly dialogSecondMs?: number;
  /** How long one second of an OPTIONS probe interval or timeout lasts; production uses 1000. */
  readonly probeSecondMs?: number;
}

/**
 * The SIP role for real: its edge on 127.0.0.1 (a free port), worker threads, a fresh database
 * configured through the GraphQL API, and a carrier peer whose address is a trusted carrier.
 */
export class SipHarness {
  /** Per worker: when each snapshot swap was reported, and the `table:id` changes it applied (`*`: all). */
  private readonly swaps = new Map<number, { changes: string[] }[]>();

  private constructor(
    readonly api: TestApi,
    readonly sip: SipRole,
    readonly proxy: Remote,
    readonly carrier: SipPeer,
  ) {
    sip.supervisor.on('message', (index, message) => {
      const payload = message.type === 'event' ? (message.payload as { kind?: string; changes?: string[] }) : null;
      if (payload?.kind === 'snapshot') this.swaps.set(index, [...(this.swaps.get(index) ?? []), { changes: payload.changes ?? ['*'] }]);
    });
  }

  static async start(options: HarnessOptions = {}): Promise<SipHarness> {
    const api = await TestApi.start();
    await api.ok(OPERATOR_KEY, `mutation { createCarrier(input: { name: "Loopback carrier", sourceCidrs: ["127.0.0.1/32"] }) { id } }`);
    const config: Config = {
      role: 'sip',
      databaseUrl: api.database.url,
      dataDir: '/nonexistent',
      apiHost: '127.0.0.1',
      apiPort: 0,
      sipHost: '127.0.0.1',
      sipPort: 0,
      sipPublicAddress: '127.0.0.1',
      sipRealm: TEST_REALM,
      sipWorkers: options.workers ?? 1,
      operatorApiKey: OPERATOR_KEY,
      logLevel: 'silent',
    };
    const sip = await startSipRole(config, api.database.url, pino({ level: 'silent' }), { timerCMs: options.timerCMs, dialogSecondMs: options.dialogSecondMs, probeSecondMs: options.probeSecondMs });
    const carrier = await SipPeer.start('carrier');
    return new SipHarness(api, sip, { address: '127.0.0.1', port: sip.edge.address().port }, carrier);
  }

  /**
   * Runs `change` (configuration writes) and resolves once every worker swapped in a snapshot
   * that applied a change of `table` (with `id`, when given) notified after it began, or
   * reloaded everything: the change is then in effect for the next call on every worker.
   */
  async applying<T>(change: () => Promise<T>, table: string, id?: string | ((result: T) => string), timeoutMs = 3000): Promise<T> {
    // Swaps are counted, not timed: a swap in the same millisecond as the start would pass for a new one.
    const seen = new Map([...this.swaps].map(([index, swaps]) => [index, swaps.length]));
    const result = await change();
    const key = id === undefined ? null : `${table}:${typeof id === 'function' ? id(result) : id}`;
    const workers = this.sip.supervisor.health().filter((worker) => worker.state === 'ready').map((worker) => worker.index);
    const applied = (index: number) =>
      (this.swaps.get(index) ?? [])
        .slice(seen.get(index) ?? 0)
        .some((swap) => swap.changes.some((entry) => entry === '*' || (key === null ? entry.startsWith(`${table}:`) : entry === key)));
    await waitUntil(() => workers.every(applied), timeoutMs, `the ${key ?? table} change to reach every worker`);
    return result;
  }

  trunk(options: Parameters<SipHarness['createTrunk']>[0]): ReturnType<SipHarness['createTrunk']> {
    return this.applying(() => this.createTrunk(options), 'did', options.number);
  }

  private async createTrunk(options: { username: string; number: string; failover?: Record<string, unknown>; healthCheck?: Record<string, unknown>; maxConcurrentCalls?: number; flow?: Record<string, unknown> }): Promise<{ companyId: string; key: string; trunkId: string; planId: string }> {
    const company = await this.api.company(`Company of ${options.username}`);
    const plan = await this.api.ok<{ createDialPlan: { id: string } }>(company.key, `mutation ($input: CreateDialPlanInput!) { createDialPlan(input: $input) { id } }`, {
      input: { companyId: company.id, name: 'Failover', internalNumber: '900', flow: options.flow ?? forwardFlow() },
    });
    const trunk = await this.api.ok<{ createTrunk: { id: string } }>(company.key, `mutation ($input: CreateTrunkInput!) { createTrunk(input: $input) { id } }`, {
      input: {
        companyId: company.id,
        name: options.username,
        sipUsername: options.username,
        sipPassword: TRUNK_PASSWORD,
        inboundNumbers: [options.number],
        maxConcurrentCalls: options.maxConcurrentCalls ?? 10,
        failover: { enabled: true, dialPlanId: plan.createDialPlan.id, ...options.failover },
        ...(options.healthCheck === undefined ? {} : { healthCheck: options.healthCheck }),
      },
    });
    return { companyId: company.id, key: company.key, trunkId: trunk.createTrunk.id, planId: plan.createDialPlan.id };
  }

  /** Registers `peer` as the PBX of trunk `username` (its Contact is the peer itself) and waits until every worker knows. */
  async registerPbx(peer: SipPeer, username: string): Promise<void> {
    const { response } = await this.applying(() => register(peer, { proxy: this.proxy, username, password: TRUNK_PASSWORD, realm: TEST_REALM, contact: peer.uri }), 'registration');
    if (response.status !== 200) throw new Error(`REGISTER answered ${response.status}`);
  }

  /** `trunk { activeCalls }` as the API answers it. */
  async activeCalls(trunk: { trunkId: string; key: string }): Promise<number> {
    const { trunk: read } = await this.api.ok<{ trunk: { activeCalls: number } }>(trunk.key, `query ($id: ID!) { trunk(id: $id) { activeCalls } }`, { id: trunk.trunkId });
    return read.activeCalls;
  }

  /** The call record of a Call-ID, once written. */
  async record(callId: string, timeoutMs = 3000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rows: Record<string, unknown>[] = await this.api.dataSource.query('SELECT * FROM call_record WHERE call_id = $1', [callId]);
      if (rows.length > 0) return rows[0];
      if (Date.now() > deadline) throw new Error(`no call record for ${callId}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  async stop(): Promise<void> {
    this.carrier.stop();
    await this.sip.stop();
    await this.api.stop();
  }
}

import { Client, type Notification } from 'pg';
import { CONFIG_CHANNEL, parseConfigChange, type ConfigChange } from '../../../schema/config-change';
import type { Clock, Timer } from '../../../worker/clock';
import type { Snapshot } from '../../../worker/config/snapshot';

/** Row fixtures and helpers shared by the config snapshot tests. Rows go in with plain SQL. */

export const FLOW = {
  entryStepId: 'mobile',
  steps: [
    { id: 'mobile', app: 'FORWARD', forward: { target: '+442079460000', ringTimeoutSeconds: 20 }, exits: [{ on: 'noAnswer', stepId: 'busy' }] },
    { id: 'busy', app: 'HANGUP', hangup: { status: 486 }, exits: [] },
  ],
};

export async function connect(url: string, applicationName = 'config-test'): Promise<Client> {
  const client = new Client({ connectionString: url, application_name: applicationName });
  await client.connect();
  return client;
}

export async function insertCompany(db: Client, id: string, timeZone = 'Europe/London'): Promise<void> {
  await db.query(`INSERT INTO company (id, name, time_zone) VALUES ($1, 'Company', $2)`, [id, timeZone]);
}

export async function insertDialPlan(db: Client, id: string, companyId: string, internalNumber: string): Promise<void> {
  await db.query(`INSERT INTO dial_plan (id, company_id, name, internal_number, flow) VALUES ($1, $2, 'Plan ' || $3, $3, $4)`, [
    id,
    companyId,
    internalNumber,
    JSON.stringify(FLOW),
  ]);
}

export interface TrunkFixture {
  id: string;
  companyId: string;
  username: string;
  failoverDialPlanId?: string;
  timeoutSeconds?: number;
  triggerStatusCodes?: number[];
  algorithms?: string[];
}

export async function insertTrunk(db: Client, trunk: TrunkFixture): Promise<void> {
  await db.query(
    `INSERT INTO trunk (id, company_id, name, sip_username, digest_realm, ha1_md5, ha1_sha256, max_concurrent_calls,
       failover_enabled, failover_dial_plan_id, no_provisional_timeout_seconds, trigger_status_codes, digest_algorithms)
     VALUES ($1, $2, 'Trunk ' || $3, $3, 'trunks.test', 'md5-' || $3, 'sha-' || $3, 4, $4, $5,
       coalesce($6::int, 15), coalesce($7::int[], (SELECT array_agg(code) FROM generate_series(500, 599) AS code)), coalesce($8::text[], '{MD5,SHA256}'))`,
    [trunk.id, trunk.companyId, trunk.username, trunk.failoverDialPlanId !== undefined, trunk.failoverDialPlanId ?? null, trunk.timeoutSeconds ?? null, trunk.triggerStatusCodes ?? null, trunk.algorithms ?? null],
  );
}

export async function insertRegistration(db: Client, id: string, trunkId: string, updatedAt: string, expiresAt = `now() + interval '1 hour'`): Promise<void> {
  await db.query(
    `INSERT INTO registration (id, trunk_id, contact, source_address, source_port, expires_at, user_agent, updated_at)
     VALUES ($1::uuid, $2, 'sip:pbx@10.0.0.1;reg=' || $1::text, '203.0.113.7', 5062, ${expiresAt}, 'PBX/1.0', $3::timestamptz)`,
    [id, trunkId, updatedAt],
  );
}

/** Polls `check` until it passes or `timeoutMs` has gone by; the last failure is rethrown. */
export async function eventually<T>(check: () => T, timeoutMs = 2000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A plain LISTEN client that collects the parsed changes, for feeding `applyChanges` real payloads. */
export class ChangeCollector {
  readonly changes: ConfigChange[] = [];

  private constructor(private readonly client: Client) {
    client.on('notification', (message: Notification) => {
      const change = message.channel === CONFIG_CHANNEL ? parseConfigChange(message.payload ?? '') : null;
      if (change !== null) this.changes.push(change);
    });
  }

  static async start(url: string): Promise<ChangeCollector> {
    const client = await connect(url, 'config-test-collector');
    await client.query(`LISTEN ${CONFIG_CHANNEL}`);
    return new ChangeCollector(client);
  }

  /** Runs `work`, then returns (and forgets) every change notified up to a round trip after it. */
  async during(work: () => Promise<unknown>): Promise<ConfigChange[]> {
    await work();
    // Notifications of commits before this query arrive before its reply.
    await this.client.query('SELECT 1');
    return this.changes.splice(0);
  }

  async close(): Promise<void> {
    await this.client.end();
  }
}

/** The snapshot as plain sorted data, to compare two snapshots by value. */
export function plain(snapshot: Snapshot): Record<string, unknown> {
  const sorted = <V>(map: ReadonlyMap<string, V>): [string, unknown][] =>
    [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, value]) => [key, normalise(value)]);
  return {
    trunks: sorted(snapshot.trunks),
    trunksByUsername: sorted(snapshot.trunksByUsername),
    dids: sorted(snapshot.dids),
    dialPlans: sorted(snapshot.dialPlans),
    registrations: sorted(snapshot.registrations),
    carriers: normalise(snapshot.carriers),
    outboundGateway: snapshot.outboundGateway,
    webhookAllowedNetworks: snapshot.webhookAllowedNetworks,
    maxCallLengthSeconds: snapshot.maxCallLengthSeconds,
    companies: sorted(snapshot.companies),
  };
}

function normalise(value: unknown): unknown {
  if (value instanceof Set) return [...(value as Set<unknown>)].sort();
  if (Array.isArray(value)) return value.map(normalise);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, normalise(child)]));
  return value;
}

/** A clock whose timers fire only when the test says so. */
export class ManualClock implements Clock {
  private timers: { ms: number; callback: () => void; cleared: boolean }[] = [];
  private nowMs = 1_700_000_000_000;

  now(): number {
    return this.nowMs;
  }

  after(ms: number, callback: () => void): Timer {
    const timer = { ms, callback, cleared: false };
    this.timers.push(timer);
    return { cancel: () => void (timer.cleared = true) };
  }

  pending(): number[] {
    return this.timers.filter((timer) => !timer.cleared).map((timer) => timer.ms);
  }

  /** Waits (in real time) for a timer to be set, then fires it and returns the delay it asked for. */
  async fireNext(timeoutMs = 2000): Promise<number> {
    const timer = await eventually(() => {
      const next = this.timers.find((candidate) => !candidate.cleared);
      if (next === undefined) throw new Error('no timer was set');
      return next;
    }, timeoutMs);
    timer.cleared = true;
    this.nowMs += timer.ms;
    timer.callback();
    return timer.ms;
  }
}

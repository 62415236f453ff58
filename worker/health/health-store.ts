import type { Pool, PoolClient } from 'pg';
import type { Logger } from 'pino';
import {
  applyAll,
  TrunkHealthState,
  type HealthEvent,
  type HealthEvidence,
  type HealthThresholds,
  type TrunkDownReason,
  type TrunkHealth,
} from '../../domain/trunk-health';
import type { Clock } from '../clock';
import type { ProbeReading } from './probe-target';

/**
 * Every transaction that inserts `trunk_event` rows holds this transaction-level advisory lock, so
 * event ids commit in the order they were handed out and a reader resuming `after` an id misses
 * none (migrations/1765400000000-TrunkHealth.ts). One constant for every writer of events.
 */
export const TRUNK_EVENT_LOCK = 0x7472_6576;

/**
 * How long the store trusts its last read of a trunk to skip a batch of successes without a
 * transaction: another node may have counted failures meanwhile, and a success must reset them
 * within about this long.
 */
export const LAST_READ_TRUST_MS = 1_000;

interface HealthRow {
  company_id: string;
  state: TrunkHealthState;
  reason: TrunkDownReason | null;
  registered: boolean;
  failures: number;
  successes: number;
  since: string;
  failures_to_down: number;
  successes_to_up: number;
}

/** What one `apply` did: the health after it and the events it inserted (in order). */
export interface AppliedEvidence {
  readonly health: TrunkHealth;
  readonly events: readonly HealthEvent[];
  /** False when the batch changed nothing and nothing was written. */
  readonly written: boolean;
}

interface LastRead {
  readonly health: TrunkHealth;
  readonly thresholds: HealthThresholds;
  readonly at: number;
}

export interface HealthStoreDeps {
  readonly pool: Pool;
  readonly clock: Clock;
  readonly logger: Logger;
}

function isSuccess(evidence: HealthEvidence): boolean {
  // A trial's success is never skipped: it was tried because a worker saw the trunk DOWN.
  return (evidence.kind === 'Call' || evidence.kind === 'Probe') && evidence.ok;
}

function sameHealth(a: TrunkHealth, b: TrunkHealth): boolean {
  return a.state === b.state && a.reason === b.reason && a.registered === b.registered && a.failures === b.failures && a.successes === b.successes && a.since === b.since;
}

/**
 * Applies evidence to a trunk's shared `trunk_health` row (DESIGN: the database is the meeting
 * point of every worker and node). One transaction per batch: the row is read `FOR UPDATE`, the
 * pure machine (`applyAll`) runs with the trunk's thresholds, the row is updated only when it
 * changed, and each event is inserted under `TRUNK_EVENT_LOCK`. Concurrent batches for one trunk,
 * from this node or another, queue on the row lock, so a transition is seen (and its event
 * inserted) exactly once.
 */
export class HealthStore {
  private readonly lastRead = new Map<string, LastRead>();

  constructor(private readonly deps: HealthStoreDeps) {}

  /** The store's last read of the trunk (after its own writes), or undefined. */
  known(trunkId: string): TrunkHealth | undefined {
    return this.lastRead.get(trunkId)?.health;
  }

  /**
   * Applies `evidence` in order. Returns null when the trunk has no health row (deleted). A batch
   * of successes on a trunk the last read (under `LAST_READ_TRUST_MS` old) shows `UP` with no
   * failures and the successes counted to the threshold costs no transaction. `probe`, the
   * batch's latest probe, is written with it (or alone, when the batch changes nothing else).
   * Throws on database errors: the caller keeps the evidence's effect to itself.
   */
  async apply(trunkId: string, evidence: readonly HealthEvidence[], probe: ProbeReading | null = null): Promise<AppliedEvidence | null> {
    const now = this.deps.clock.now();
    const last = this.lastRead.get(trunkId);
    if (last !== undefined && now - last.at < LAST_READ_TRUST_MS && evidence.every(isSuccess) && last.health.state === TrunkHealthState.UP) {
      const step = applyAll(last.health, evidence, last.thresholds, now);
      if (step.health === last.health) {
        if (probe !== null) await this.writeProbe(this.deps.pool, trunkId, probe);
        return { health: last.health, events: [], written: false };
      }
    }
    const client = await this.deps.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await this.applyIn(client, trunkId, evidence);
      if (probe !== null && result !== null) await this.writeProbe(client, trunkId, probe);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /**
   * The last probe's time and, when it was answered, its round trip (an unanswered probe leaves
   * the last round trip measured). Readings older than the row's, from another node, are ignored.
   * No notification: routing does not read them.
   */
  private async writeProbe(db: Pick<Pool, 'query'>, trunkId: string, probe: ProbeReading): Promise<void> {
    await db.query(
      `UPDATE trunk_health SET last_probe_at = to_timestamp($2::float8 / 1000), last_probe_rtt_ms = coalesce($3, last_probe_rtt_ms)
        WHERE trunk_id = $1 AND (last_probe_at IS NULL OR last_probe_at <= to_timestamp($2::float8 / 1000))`,
      [trunkId, probe.at, probe.rttMs],
    );
  }

  private async applyIn(client: PoolClient, trunkId: string, evidence: readonly HealthEvidence[]): Promise<AppliedEvidence | null> {
    const { rows } = await client.query<HealthRow>(
      `SELECT t.company_id, h.state, h.reason, h.registered, h.failures, h.successes,
              (extract(epoch FROM h.since) * 1000)::float8::text AS since,
              t.health_check_failures_to_down AS failures_to_down, t.health_check_successes_to_up AS successes_to_up
         FROM trunk_health h JOIN trunk t ON t.id = h.trunk_id
        WHERE h.trunk_id = $1 FOR UPDATE OF h`,
      [trunkId],
    );
    const row = rows[0];
    if (row === undefined) {
      this.lastRead.delete(trunkId);
      return null;
    }
    const before: TrunkHealth = {
      state: row.state,
      reason: row.reason,
      registered: row.registered,
      failures: row.failures,
      successes: row.successes,
      since: Math.round(Number(row.since)),
    };
    const thresholds: HealthThresholds = { failuresToDown: row.failures_to_down, successesToUp: row.successes_to_up };
    const now = this.deps.clock.now();
    const step = applyAll(before, evidence, thresholds, now);
    const written = !sameHealth(before, step.health);
    if (written) {
      const { health } = step;
      await client.query(
        `UPDATE trunk_health SET state = $2, reason = $3, registered = $4, failures = $5, successes = $6,
                since = to_timestamp($7::float8 / 1000), updated_at = clock_timestamp()
          WHERE trunk_id = $1`,
        [trunkId, health.state, health.reason, health.registered, health.failures, health.successes, health.since],
      );
    }
    if (step.events.length > 0) {
      await client.query('SELECT pg_advisory_xact_lock($1)', [TRUNK_EVENT_LOCK]);
      for (const event of step.events) {
        await client.query('INSERT INTO trunk_event (company_id, trunk_id, type, reason, at) VALUES ($1, $2, $3, $4, to_timestamp($5::float8 / 1000))', [
          row.company_id,
          trunkId,
          event.type,
          event.reason,
          now,
        ]);
      }
      this.deps.logger.info({ trunkId, state: step.health.state, reason: step.health.reason, events: step.events.map((event) => event.type) }, 'trunk health changed');
    }
    this.lastRead.set(trunkId, { health: step.health, thresholds, at: now });
    return { health: step.health, events: step.events, written };
  }
}

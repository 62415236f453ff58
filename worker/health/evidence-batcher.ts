import type { Logger } from 'pino';
import { applyAll, HEALTH_CHECK_DEFAULTS, initialHealth, type HealthEvidence, type TrunkHealth } from '../../domain/trunk-health';
import type { Clock } from '../clock';
import type { TrunkHealthView } from '../config/snapshot';
import type { HealthStore } from './health-store';
import type { ProbeReading } from './probe-target';

/** Evidence for one trunk is gathered this long, so one transaction serves the calls of the interval. */
export const EVIDENCE_BATCH_MS = 150;

export interface EvidenceBatcherDeps {
  readonly store: Pick<HealthStore, 'apply' | 'known'>;
  readonly clock: Clock;
  readonly logger: Logger;
  /**
   * The node's own view of a trunk while the database is unreachable (null: none, the database's
   * view holds again). The SIP role passes it to every worker, which routes by it.
   */
  readonly onLocalView: (trunkId: string, health: TrunkHealthView | null) => void;
}

export interface EvidenceBatcherStats {
  readonly batches: number;
  readonly skipped: number;
  readonly failed: number;
}

/**
 * The SIP node's main thread gathers the evidence its workers post and applies it per trunk, in
 * the order it came, every `EVIDENCE_BATCH_MS`: one transaction for all the calls of the interval,
 * and at most one batch in flight per trunk so the order holds.
 *
 * A database failure never stops calls: it is logged and counted, and the node applies the batch
 * to its own copy of the trunk's health (the last the store read, or else `UNKNOWN`, with the
 * default thresholds) and has the workers route by that copy. Evidence applied only here is not
 * written later; the first batch the database takes again ends the node's own view, and the
 * workers route by the shared row once more.
 */
export class EvidenceBatcher {
  private pending = new Map<string, HealthEvidence[]>();
  /** The latest probe reading per trunk with evidence pending: one write of `last_probe_*` per batch. */
  private readonly probes = new Map<string, ProbeReading>();
  /** The batch being applied per trunk: at most one, so the order holds. */
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly local = new Map<string, TrunkHealth>();
  private timer: ReturnType<Clock['after']> | null = null;
  private stopped = false;
  private batches = 0;
  private skipped = 0;
  private failed = 0;

  constructor(private readonly deps: EvidenceBatcherDeps) {}

  add(trunkId: string, evidence: HealthEvidence, probe?: ProbeReading): void {
    if (this.stopped) return;
    const list = this.pending.get(trunkId);
    if (list === undefined) this.pending.set(trunkId, [evidence]);
    else list.push(evidence);
    if (probe !== undefined && probe.at >= (this.probes.get(trunkId)?.at ?? -Infinity)) this.probes.set(trunkId, probe);
    this.schedule();
  }

  stats(): EvidenceBatcherStats {
    return { batches: this.batches, skipped: this.skipped, failed: this.failed };
  }

  /** Applies what is pending now; resolves when those batches are done. */
  async flush(): Promise<void> {
    const work: Promise<void>[] = [];
    for (const [trunkId, evidence] of this.pending) {
      if (this.inFlight.has(trunkId)) continue;
      this.pending.delete(trunkId);
      const probe = this.probes.get(trunkId) ?? null;
      this.probes.delete(trunkId);
      const batch = this.applyBatch(trunkId, evidence, probe);
      this.inFlight.set(trunkId, batch);
      work.push(batch);
    }
    await Promise.all(work);
  }

  /** Stops taking evidence and applies what is pending. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
    // Waits on the batches in flight themselves: evidence held back behind one goes once it is done.
    while (this.pending.size > 0 || this.inFlight.size > 0) {
      await this.flush();
      await Promise.all(this.inFlight.values());
    }
  }

  private async applyBatch(trunkId: string, evidence: HealthEvidence[], probe: ProbeReading | null): Promise<void> {
    try {
      const applied = await this.deps.store.apply(trunkId, evidence, probe);
      this.batches++;
      if (applied !== null && !applied.written) this.skipped++;
      if (this.local.delete(trunkId)) this.deps.onLocalView(trunkId, null);
    } catch (error) {
      this.failed++;
      this.deps.logger.warn({ err: error, trunkId, evidence: evidence.length, failed: this.failed }, 'trunk health not written; the node keeps its own view');
      this.applyLocally(trunkId, evidence);
    } finally {
      this.inFlight.delete(trunkId);
    }
    // Evidence that came while this batch was in flight waits for the next tick.
    if (this.pending.has(trunkId) && !this.stopped) this.schedule();
  }

  /** A flush `EVIDENCE_BATCH_MS` from now, unless one is already due. */
  private schedule(): void {
    this.timer ??= this.deps.clock.after(EVIDENCE_BATCH_MS, () => {
      this.timer = null;
      void this.flush();
    });
  }

  private applyLocally(trunkId: string, evidence: readonly HealthEvidence[]): void {
    const now = this.deps.clock.now();
    const before = this.local.get(trunkId) ?? this.deps.store.known(trunkId) ?? initialHealth(true, now);
    const step = applyAll(before, evidence, HEALTH_CHECK_DEFAULTS, now);
    this.local.set(trunkId, step.health);
    if (step.health.state !== before.state || step.health.reason !== before.reason || step.health.registered !== before.registered) {
      const { state, reason, registered, since } = step.health;
      this.deps.onLocalView(trunkId, { state, reason, registered, since });
    }
  }
}

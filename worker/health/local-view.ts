import type { Snapshot, TrunkHealthView } from '../config/snapshot';

/** The control message that carries the node's own view of a trunk's health to its workers. */
export interface LocalHealthMessage {
  readonly kind: 'local-health';
  readonly trunkId: string;
  /** Null: the database's view holds again. */
  readonly health: TrunkHealthView | null;
}

export function isLocalHealthMessage(payload: unknown): payload is LocalHealthMessage {
  const value = payload as Partial<LocalHealthMessage> | null;
  return typeof value === 'object' && value !== null && value.kind === 'local-health' && typeof value.trunkId === 'string' && typeof value.health === 'object';
}

/**
 * A worker's copy of the node's own view of trunk health, kept while the node cannot write to the
 * database (worker/health/evidence-batcher.ts). Routing reads the snapshot with these entries laid
 * over its `health`; the derived snapshot is made once per snapshot and change, not per call.
 */
export class LocalHealthView {
  private readonly views = new Map<string, TrunkHealthView>();
  private base: Snapshot | null = null;
  private derived: Snapshot | null = null;

  set(trunkId: string, health: TrunkHealthView | null): void {
    if (health === null) this.views.delete(trunkId);
    else this.views.set(trunkId, Object.freeze({ ...health }));
    this.derived = null;
  }

  apply(snapshot: Snapshot): Snapshot {
    if (this.views.size === 0) return snapshot;
    if (this.base === snapshot && this.derived !== null) return this.derived;
    const health = new Map(snapshot.health);
    for (const [trunkId, view] of this.views) health.set(trunkId, view);
    this.base = snapshot;
    this.derived = Object.freeze({ ...snapshot, health });
    return this.derived;
  }
}

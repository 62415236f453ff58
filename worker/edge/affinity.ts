import { fnv1a } from './hash';

/**
 * Which worker thread owns each Call-ID. Every datagram of a dialog or transaction must reach the
 * worker holding its state, so the edge asks this table for each datagram it receives, and pins
 * the Call-IDs a worker creates when that worker first sends them.
 *
 * A pin ends when its worker unpins it (call or transaction over), when the worker dies, or
 * when nothing touched it for `idleExpiryMs`: a safety net for an unpin that never came. Workers
 * post `keep` for live dialogs (protocol.ts `KEEP_INTERVAL_MS`), so a long quiet call keeps its
 * pin.
 */

/** Fifteen minutes: fifteen missed keeps before a live dialog could lose its worker. */
export const DEFAULT_IDLE_EXPIRY_MS = 15 * 60_000;

export interface AffinityOptions {
  /** Milliseconds; injected so tests control time. */
  readonly clock?: () => number;
  readonly idleExpiryMs?: number;
}

interface Pin {
  readonly worker: number;
  lastSeen: number;
}

interface WorkerLoad {
  /** False once draining: known Call-IDs still reach it, new ones do not. */
  accepting: boolean;
  /** Live calls in the worker's last `health` report. */
  reported: number;
  pins: number;
}

export class Affinity {
  private readonly clock: () => number;
  private readonly idleExpiryMs: number;
  private readonly pins = new Map<string, Pin>();
  private readonly workers = new Map<number, WorkerLoad>();
  private accepting: number[] | null = null;

  constructor(options: AffinityOptions = {}) {
    this.clock = options.clock ?? Date.now;
    this.idleExpiryMs = options.idleExpiryMs ?? DEFAULT_IDLE_EXPIRY_MS;
  }

  /** A worker is ready for new Call-IDs (started, or restarted). */
  addWorker(index: number): void {
    this.accepting = null;
    const existing = this.workers.get(index);
    if (existing) existing.accepting = true;
    else this.workers.set(index, { accepting: true, reported: 0, pins: 0 });
  }

  /** A draining worker keeps its pins but gets no new Call-IDs. */
  drainWorker(index: number): void {
    this.accepting = null;
    const load = this.workers.get(index);
    if (load) load.accepting = false;
  }

  /** A worker died or was stopped: its pins go, and it gets nothing until `addWorker` again. */
  dropWorker(index: number): number {
    this.accepting = null;
    let dropped = 0;
    for (const [callId, pin] of this.pins) {
      if (pin.worker === index) {
        this.pins.delete(callId);
        dropped++;
      }
    }
    this.workers.delete(index);
    return dropped;
  }

  reportLoad(index: number, liveCalls: number): void {
    const load = this.workers.get(index);
    if (load) load.reported = liveCalls;
  }

  /**
   * The worker for a received datagram: its Call-ID's worker if pinned, else the least-loaded
   * accepting worker, which it is then pinned to. Null when no worker can take it.
   */
  assign(callId: string, skip?: ReadonlySet<number>): number | null {
    const now = this.clock();
    const known = this.pins.get(callId);
    if (known) {
      known.lastSeen = now;
      return known.worker;
    }
    const index = this.leastLoaded(skip);
    if (index === null) return null;
    this.pin(callId, index, now);
    return index;
  }

  /**
   * The worker for a datagram that opens no call (anything but an INVITE): its Call-ID's worker if
   * pinned, else an accepting worker chosen by a hash of the Call-ID, so retransmissions meet the
   * transaction they belong to. Nothing is pinned: a stranger's OPTIONS, stray BYEs and responses
   * with made-up Call-IDs cost the edge no memory. Null when no worker can take it.
   */
  route(callId: string): number | null {
    const known = this.pins.get(callId);
    if (known) {
      known.lastSeen = this.clock();
      return known.worker;
    }
    const accepting = this.acceptingWorkers();
    if (accepting.length === 0) return null;
    return accepting[fnv1a(callId) % accepting.length];
  }

  /**
   * A worker answered with a Call-ID: refreshes its pin if the Call-ID is pinned to that worker.
   * An answer pins nothing: only the requests a worker sends open something the peer answers.
   */
  touch(callId: string, index: number): void {
    const known = this.pins.get(callId);
    if (known && known.worker === index) known.lastSeen = this.clock();
  }

  /**
   * A worker sends with a Call-ID (a new leg, an OPTIONS probe): answers must come back to it. An
   * existing pin is kept (first owner wins) and refreshed if it is this worker's. Returns
   * whether the Call-ID is pinned to `index` afterwards.
   */
  pinOutgoing(callId: string, index: number): boolean {
    const now = this.clock();
    const known = this.pins.get(callId);
    if (known) {
      if (known.worker !== index) return false;
      known.lastSeen = now;
      return true;
    }
    if (!this.workers.has(index)) return false;
    this.pin(callId, index, now);
    return true;
  }

  /** Ends pins; with `owner`, only those pinned to that worker (one worker cannot end another's). */
  unpin(callIds: readonly string[], owner?: number): number {
    let unpinned = 0;
    for (const callId of callIds) {
      const pin = this.pins.get(callId);
      if (!pin || (owner !== undefined && pin.worker !== owner)) continue;
      this.forget(callId, pin);
      unpinned++;
    }
    return unpinned;
  }

  /** Refreshes the idle clock of live pins; with `owner`, only those pinned to that worker. */
  keep(callIds: readonly string[], owner?: number): void {
    const now = this.clock();
    for (const callId of callIds) {
      const pin = this.pins.get(callId);
      if (pin && (owner === undefined || pin.worker === owner)) pin.lastSeen = now;
    }
  }

  /** Removes pins idle longer than the expiry; returns how many. */
  sweep(now: number = this.clock()): number {
    let removed = 0;
    for (const [callId, pin] of this.pins) {
      if (now - pin.lastSeen > this.idleExpiryMs) {
        this.forget(callId, pin);
        removed++;
      }
    }
    return removed;
  }

  /** Whether a new Call-ID would find a worker: one is live and not draining. */
  acceptsNew(): boolean {
    return this.acceptingWorkers().length > 0;
  }

  workerOf(callId: string): number | undefined {
    return this.pins.get(callId)?.worker;
  }

  /** All pins, or those of one worker. */
  size(index?: number): number {
    if (index === undefined) return this.pins.size;
    return this.workers.get(index)?.pins ?? 0;
  }

  /**
   * The worker a new Call-ID would be assigned now (nothing is pinned). Least loaded = fewest
   * pins: they count every dialog and transaction the worker holds, including datagrams still on
   * their way to it. A worker's `health` report lags by exactly those, so ranking by it first
   * would pile a burst of new calls onto whichever worker reported last. The report breaks ties,
   * then the lower index, so the choice is deterministic. Workers in `skip` (overloaded ones) are passed over.
   */
  leastLoaded(skip?: ReadonlySet<number>): number | null {
    let best: number | null = null;
    let bestPins = Infinity;
    let bestReported = Infinity;
    for (const [index, load] of this.workers) {
      if (!load.accepting || skip?.has(index) === true) continue;
      if (
        load.pins < bestPins ||
        (load.pins === bestPins && (load.reported < bestReported || (load.reported === bestReported && index < (best as number))))
      ) {
        best = index;
        bestPins = load.pins;
        bestReported = load.reported;
      }
    }
    return best;
  }

  /** Accepting workers in index order, rebuilt only when the set changes. */
  private acceptingWorkers(): readonly number[] {
    if (this.accepting === null) {
      this.accepting = [...this.workers].filter(([, load]) => load.accepting).map(([index]) => index).sort((a, b) => a - b);
    }
    return this.accepting;
  }

  private pin(callId: string, index: number, now: number): void {
    this.pins.set(callId, { worker: index, lastSeen: now });
    const load = this.workers.get(index);
    if (load) load.pins++;
  }

  private forget(callId: string, pin: Pin): void {
    this.pins.delete(callId);
    const load = this.workers.get(pin.worker);
    if (load) load.pins--;
  }
}

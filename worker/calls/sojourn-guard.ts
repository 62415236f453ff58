/**
 * Overload as callers feel it: how long a datagram waited before this thread started on it (its
 * sojourn), judged as CoDel judges a queue (RFC 8289). The thread is overloaded once the sojourn
 * has stayed above `targetMs` for `intervalMs` (the minimum over that stretch is above target:
 * a queue is standing, not passing through), or at once when one sojourn exceeds `ceilingMs`;
 * it is no longer overloaded the moment one sojourn is at or below the target, or after
 * `quietMs` with no datagram at all (CoDel: an empty queue ends it). While overloaded, new
 * INVITEs are refused with 503 and Retry-After; calls in progress are served as usual.
 *
 * Used twice: a worker observes every datagram the edge hands it (stamped on arrival at the edge,
 * worker/edge/datagram-port.ts), and the edge observes the probes it sends itself through its
 * socket (worker/edge/edge-probe.ts). Time a thread waits for a CPU counts only when a queue
 * builds up behind it, unlike the event-loop utilisation this replaces.
 *
 * Pure: no timers, no clock of its own; the caller passes the time (ms, any clock that only moves
 * forward) of each observation and `tick`.
 */

/**
 * A tenth of SIP's T1 (RFC 3261 section 17.1.1.1: 500 ms). A thread that keeps up shows a few
 * milliseconds on a busy host, tens for a moment after a garbage collection or a stretch without
 * a CPU; a carrier retransmits an INVITE it has no 100 Trying for after T1, so shedding must
 * have started well before a datagram waits that long. CoDel's 5 ms suits a link, not a thread
 * sharing two cores with its neighbours.
 */
export const SOJOURN_TARGET_MS = 50;
/**
 * How long the sojourn must stay above target: CoDel's default. A burst, a collection or a slice
 * without a CPU drains within it; a queue still standing after it will not drain by itself.
 */
export const SOJOURN_INTERVAL_MS = 100;
/**
 * Half of T1: a datagram that waited this long leaves too little of T1 for its answer, so the
 * interval is not waited out. Past several times its capacity the queue grows faster than the
 * interval allows for (at five times, by 400 ms per 100 ms).
 */
export const SOJOURN_CEILING_MS = 250;

/**
 * The Retry-After of every 503 that sheds a new call, for overload (a worker's or the edge's) or a
 * draining worker (RFC 3261 section 21.5.4): a second is enough for a queue to drain.
 */
export const OVERLOAD_RETRY_AFTER_S = 1;

export interface SojournGuardOptions {
  readonly targetMs?: number;
  readonly intervalMs?: number;
  readonly ceilingMs?: number;
  /** No observation for longer than this: the queue is empty (default: the interval). */
  readonly quietMs?: number;
}

export interface SojournStats {
  /** Times the guard entered overload since it started. */
  readonly overloads: number;
  /** The latest sojourn observed (ms, rounded to 0.1), 0 before any. */
  readonly lastSojournMs: number;
}

export class SojournGuard {
  private readonly targetMs: number;
  private readonly intervalMs: number;
  private readonly ceilingMs: number;
  private readonly quietMs: number;
  private overloaded = false;
  /** When the current run of sojourns above target turns into overload; null while the latest was at or below it. */
  private overloadAt: number | null = null;
  private lastAt = Number.NEGATIVE_INFINITY;
  private overloads = 0;
  private lastSojournMs = 0;

  constructor(options: SojournGuardOptions = {}) {
    this.targetMs = options.targetMs ?? SOJOURN_TARGET_MS;
    this.intervalMs = options.intervalMs ?? SOJOURN_INTERVAL_MS;
    this.ceilingMs = options.ceilingMs ?? SOJOURN_CEILING_MS;
    this.quietMs = options.quietMs ?? this.intervalMs;
  }

  /**
   * One datagram's sojourn, observed at `now`. One that comes more than `quietMs` after the
   * previous starts a new run: the queue emptied in between, so a datagram delayed after a quiet
   * stretch is no standing queue.
   */
  observe(now: number, sojournMs: number): void {
    // A quiet stretch since the previous datagram ended any overload and any run, as tick() would have.
    this.tick(now);
    this.lastAt = now;
    this.lastSojournMs = sojournMs;
    if (sojournMs <= this.targetMs) {
      this.overloadAt = null;
      this.overloaded = false;
      return;
    }
    if (this.overloadAt === null) this.overloadAt = now + this.intervalMs;
    if (now >= this.overloadAt || sojournMs > this.ceilingMs) this.enter();
  }

  /** Time passes: after `quietMs` with no observation, the overload is over. */
  tick(now: number): void {
    if (now - this.lastAt <= this.quietMs) return;
    this.overloadAt = null;
    this.overloaded = false;
  }

  isOverloaded(): boolean {
    return this.overloaded;
  }

  stats(): SojournStats {
    return { overloads: this.overloads, lastSojournMs: Math.round(this.lastSojournMs * 10) / 10 };
  }

  private enter(): void {
    if (this.overloaded) return;
    this.overloaded = true;
    this.overloads++;
  }
}

/**
 * Failed REGISTER attempts per source address: after `maxFailures` within `windowMs`, the source
 * is refused outright (403, no digest work) for `blockMs`. Guessing a trunk password from one
 * address is slowed to a handful of tries a minute. Bounded memory: the table is swept.
 */
export interface ThrottleOptions {
  readonly maxFailures: number;
  readonly windowMs: number;
  readonly blockMs: number;
  /** Most sources tracked at once; beyond it the oldest entries go first. */
  readonly maxSources: number;
}

export const DEFAULT_THROTTLE: ThrottleOptions = { maxFailures: 5, windowMs: 60_000, blockMs: 60_000, maxSources: 100_000 };

interface Entry {
  failures: number;
  windowStart: number;
  blockedUntil: number;
}

export class FailureThrottle {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly options: ThrottleOptions = DEFAULT_THROTTLE) {}

  isBlocked(source: string, now: number): boolean {
    const entry = this.entries.get(source);
    return entry !== undefined && entry.blockedUntil > now;
  }

  /** Counts a failure; returns true when the source is now blocked. */
  fail(source: string, now: number): boolean {
    let entry = this.entries.get(source);
    if (entry === undefined || now - entry.windowStart > this.options.windowMs) {
      entry = { failures: 0, windowStart: now, blockedUntil: entry?.blockedUntil ?? 0 };
      this.entries.delete(source);
      this.entries.set(source, entry);
    }
    entry.failures++;
    if (entry.failures >= this.options.maxFailures) entry.blockedUntil = now + this.options.blockMs;
    this.trim();
    return entry.blockedUntil > now;
  }

  succeed(source: string): void {
    this.entries.delete(source);
  }

  /** Drops entries whose window and block are both over. */
  sweep(now: number): void {
    for (const [source, entry] of this.entries) {
      if (entry.blockedUntil <= now && now - entry.windowStart > this.options.windowMs) this.entries.delete(source);
    }
  }

  private trim(): void {
    while (this.entries.size > this.options.maxSources) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }
}

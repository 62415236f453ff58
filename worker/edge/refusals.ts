import type { Logger } from 'pino';

/**
 * INVITEs the edge refuses itself, counted by reason, with at most one log line per reason per
 * `REFUSAL_LOG_INTERVAL_MS`: a flood of a hundred thousand datagrams a second must cost a
 * counter increment each, not a log line each.
 *
 * - `untrusted-source`: a new INVITE from a source in no carrier's CIDRs (403 Forbidden).
 * - `no-worker`: no worker takes new calls, all dead, restarting or draining (503, Retry-After).
 * - `edge-overload`: datagrams wait too long in the edge's socket before its loop reads them, and
 *   what it reads is mostly real traffic (edge-load.ts; 503, Retry-After).
 * - `worker-overload`: the worker the call would be assigned is overloaded (calls/sojourn-guard.ts)
 *   and would refuse it: refused here instead, at a fraction of the worker's cost (503, Retry-After).
 * - `no-dialog`: an INVITE with a To tag whose Call-ID no worker holds: a re-INVITE for a dialog
 *   we do not have (481 Call/Transaction Does Not Exist, RFC 3261 section 12.2.2).
 */
export type RefusalReason = 'untrusted-source' | 'no-worker' | 'edge-overload' | 'worker-overload' | 'no-dialog';
export const REFUSAL_REASONS: readonly RefusalReason[] = ['untrusted-source', 'no-worker', 'edge-overload', 'worker-overload', 'no-dialog'];

export const REFUSAL_LOG_INTERVAL_MS = 10_000;

interface Pending {
  count: number;
  lastAddress: string;
  lastPort: number;
  lastLoggedAt: number;
}

export class Refusals {
  readonly counts = Object.fromEntries(REFUSAL_REASONS.map((reason) => [reason, 0])) as Record<RefusalReason, number>;
  /** Refusals that got no response: under a flood, or no response could be built from the request. */
  unanswered = 0;
  private readonly pending = new Map<RefusalReason, Pending>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly logger: Logger,
    private readonly clock: () => number = Date.now,
    private readonly intervalMs = REFUSAL_LOG_INTERVAL_MS,
  ) {}

  /** Flushes counts that are waiting for their interval even when no further refusal comes. */
  start(): void {
    this.timer = setInterval(() => this.flush(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.flush();
  }

  note(reason: RefusalReason, address: string, port: number, answered: boolean): void {
    this.counts[reason]++;
    if (!answered) this.unanswered++;
    let pending = this.pending.get(reason);
    if (pending === undefined) {
      pending = { count: 0, lastAddress: '', lastPort: 0, lastLoggedAt: -Infinity };
      this.pending.set(reason, pending);
    }
    pending.count++;
    pending.lastAddress = address;
    pending.lastPort = port;
    // The first after a quiet interval is logged at once; the rest wait for the interval.
    if (this.clock() - pending.lastLoggedAt >= this.intervalMs) this.log(reason, pending);
  }

  /** Logs every reason with refusals not yet logged. */
  flush(): void {
    for (const [reason, pending] of this.pending) {
      if (pending.count > 0) this.log(reason, pending);
    }
  }

  private log(reason: RefusalReason, pending: Pending): void {
    const now = this.clock();
    const sinceMs = Number.isFinite(pending.lastLoggedAt) ? now - pending.lastLoggedAt : 0;
    this.logger.warn({ reason, count: pending.count, sinceMs, lastSource: `${pending.lastAddress}:${pending.lastPort}`, total: this.counts[reason] }, 'INVITEs refused at the edge');
    pending.count = 0;
    pending.lastLoggedAt = now;
  }
}

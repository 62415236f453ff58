import type { Logger } from 'pino';
import { throwSite } from '../sip/containment';

/**
 * Where a fault on the edge's main thread stops. The edge reads hostile bytes there (the Call-ID
 * and To scans, the stateless response builder) and every datagram of the node passes through
 * it, so an exception must cost the one datagram or worker message being handled, never the SIP
 * node. Each fault is counted; each kind (the place and the first stack frame of the throw) is
 * logged at most once per `EDGE_FAULT_LOG_INTERVAL_MS` with the count since its last line, as
 * refusals are (refusals.ts): a datagram sent in a loop must not flood the log.
 */
export type EdgeFaultPlace = 'datagram' | 'worker-message';

export const EDGE_FAULT_LOG_INTERVAL_MS = 10_000;
/** Distinct kinds remembered for rate limiting; past this, new kinds are only counted. */
const MAX_KINDS = 100;

interface Kind {
  lastLoggedAt: number;
  /** Faults of this kind since its last log line. */
  unlogged: number;
}

export class EdgeFaults {
  /** Every fault contained, of any kind. */
  count = 0;
  private readonly kinds = new Map<string, Kind>();

  constructor(
    private readonly logger: Logger,
    private readonly clock: () => number = Date.now,
    private readonly intervalMs = EDGE_FAULT_LOG_INTERVAL_MS,
  ) {}

  contain(place: EdgeFaultPlace, error: unknown, context: Record<string, unknown> = {}): void {
    this.count++;
    const site = `${place} ${throwSite(error)}`;
    let kind = this.kinds.get(site);
    if (kind === undefined) {
      if (this.kinds.size >= MAX_KINDS) return;
      kind = { lastLoggedAt: -Infinity, unlogged: 0 };
      this.kinds.set(site, kind);
    }
    kind.unlogged++;
    const now = this.clock();
    if (now - kind.lastLoggedAt < this.intervalMs) return;
    this.logger.error({ err: error, place, count: kind.unlogged, total: this.count, intervalMs: this.intervalMs, ...context }, 'fault contained at the SIP edge: dropped, the edge goes on (logged at most once per kind and interval)');
    kind.unlogged = 0;
    kind.lastLoggedAt = now;
  }
}

import { compileCarrierMatcher, type CarrierMatcher } from '../config/carrier-match';

/**
 * Which sources may open a call, as the edge sees it (DESIGN section 4 step 1, moved in front of
 * the workers): a new INVITE must come from one of the carriers' source CIDRs. The edge learns
 * the CIDRs from the workers, which post them whenever their snapshot's carrier list changes
 * (protocol.ts `CarriersMessage`); the latest post wins. Until the first arrives the edge judges
 * nothing and passes every INVITE on: the workers check the source themselves anyway.
 */
export type SourceVerdict = 'carrier' | 'stranger' | 'unknown';

export interface CarrierList {
  /** The posting worker's snapshot version (per worker; for logs). */
  readonly version: number;
  readonly sourceCidrs: readonly string[];
}

export class EdgeAdmission {
  private matcher: CarrierMatcher | null = null;
  private list: CarrierList | null = null;

  /**
   * Takes a worker's carrier list. Every worker posts each carrier change it applies, so the
   * last post reflects the newest reload of the carrier table; a worker that lags posts again
   * once it catches up (see the decision in docs/decisions.md).
   */
  update(list: CarrierList): void {
    const sourceCidrs = Object.freeze([...list.sourceCidrs]);
    this.list = { version: list.version, sourceCidrs };
    this.matcher = compileCarrierMatcher([{ id: 'edge', name: 'carriers', sourceCidrs }]);
  }

  judge(address: string): SourceVerdict {
    if (this.matcher === null) return 'unknown';
    return this.matcher(address) === null ? 'stranger' : 'carrier';
  }

  current(): CarrierList | null {
    return this.list;
  }
}

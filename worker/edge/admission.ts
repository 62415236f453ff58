import { compileCarrierMatcher, type CarrierMatcher } from '../config/carrier-match';

/**
 * Which sources may open a call, as the edge sees it (DESIGN section 4 step 1, moved in front of
 * the workers): a new INVITE must come from one of the carriers' source CIDRs. The edge learns
 * the CIDRs from the workers, which post them whenever their snapshot's carrier list changes
 * (protocol.ts `CarriersMessage`). Until the first arrives the edge judges nothing and passes
 * every INVITE on: the workers check the source themselves anyway.
 */
export type SourceVerdict = 'carrier' | 'stranger' | 'unknown';

export class EdgeAdmission {
  private matcher: CarrierMatcher | null = null;
  private cidrCount: number | null = null;
  /** The list the matcher was compiled from: every worker posts the same list after a change. */
  private lastCidrs: readonly string[] | null = null;

  /**
   * Takes a worker's carrier list whole: the last list received wins. Snapshot versions are
   * counted per worker, so nothing orders two workers' lists; none is needed, since every worker
   * posts each carrier change it applies, so the last post reflects the newest reload of the
   * carrier table, and a worker that lags posts again once it catches up (see the decision in
   * docs/decisions.md).
   */
  update(sourceCidrs: readonly string[]): void {
    if (this.lastCidrs !== null && sameList(this.lastCidrs, sourceCidrs)) return;
    const cidrs = Object.freeze([...sourceCidrs]);
    this.matcher = compileCarrierMatcher([{ id: 'edge', name: 'carriers', sourceCidrs: cidrs }]);
    this.lastCidrs = cidrs;
    this.cidrCount = cidrs.length;
  }

  judge(address: string): SourceVerdict {
    if (this.matcher === null) return 'unknown';
    return this.matcher(address) === null ? 'stranger' : 'carrier';
  }

  /** How many CIDRs the last list held; null before the first. */
  sourceCidrCount(): number | null {
    return this.cidrCount;
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((cidr, index) => cidr === b[index]);
}

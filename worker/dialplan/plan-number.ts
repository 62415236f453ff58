import type { DidTarget } from '../config/snapshot';

/**
 * Each snapshot's numbers by dial plan, built once per `dids` map: a reload that touches numbers
 * swaps in a new map (copy on write), so an index keyed by the map is never stale.
 */
const indexes = new WeakMap<ReadonlyMap<string, DidTarget>, ReadonlyMap<string, string>>();

/**
 * The external number (E.164) of dial plan `dialPlanId` in `dids`, or null when it has none. A
 * plan has one external number at most (the API keeps it so); were there more, the lowest wins.
 */
export function dialPlanNumber(dids: ReadonlyMap<string, DidTarget>, dialPlanId: string): string | null {
  let index = indexes.get(dids);
  if (index === undefined) {
    const built = new Map<string, string>();
    for (const [number, target] of dids) {
      if (target.kind !== 'dialPlan') continue;
      const known = built.get(target.dialPlanId);
      if (known === undefined || number < known) built.set(target.dialPlanId, number);
    }
    index = built;
    indexes.set(dids, index);
  }
  return index.get(dialPlanId) ?? null;
}

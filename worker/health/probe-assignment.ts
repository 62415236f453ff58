import { fnv1a } from '../edge/hash';
import { sameProbeTarget, type ProbeTarget } from './probe-target';

/**
 * Who probes what, as pure functions (the SIP node's main thread runs them): how many bindings a
 * node may hold, and which of its workers probes each.
 */

/**
 * The most bindings one node holds when `nodes` nodes are alive: an even split rounded up, so
 * every binding has a node. No node alive (this one has not been counted yet) counts as one.
 */
export function fairShare(contacts: number, nodes: number): number {
  if (contacts <= 0) return 0;
  return Math.ceil(contacts / Math.max(1, nodes));
}

/**
 * The worker that probes a binding: rendezvous hashing (the highest hash of binding and worker
 * wins), so the spread is even and stable: when a worker dies or comes back, only the bindings it
 * loses or wins move, and every other binding keeps its worker and its probing rhythm.
 */
export function workerFor(registrationId: string, workers: readonly number[]): number | null {
  let best: number | null = null;
  let bestWeight = -1;
  for (const worker of workers) {
    const weight = fnv1a(`${registrationId}/${worker}`);
    if (weight > bestWeight || (weight === bestWeight && worker < (best as number))) {
      best = worker;
      bestWeight = weight;
    }
  }
  return best;
}

/** Every ready worker's list (empty lists included, so a worker can be told to stop probing). */
export function assignProbes(targets: readonly ProbeTarget[], workers: readonly number[]): Map<number, ProbeTarget[]> {
  const lists = new Map<number, ProbeTarget[]>(workers.map((worker) => [worker, []]));
  for (const target of targets) {
    const worker = workerFor(target.registrationId, workers);
    if (worker !== null) lists.get(worker)?.push(target);
  }
  return lists;
}

/** Whether a worker's new list differs from what it was sent last (order aside). */
export function listChanged(before: readonly ProbeTarget[] | undefined, after: readonly ProbeTarget[]): boolean {
  if (before === undefined || before.length !== after.length) return true;
  const known = new Map(before.map((target) => [target.registrationId, target]));
  return after.some((target) => {
    const previous = known.get(target.registrationId);
    return previous === undefined || !sameProbeTarget(previous, target);
  });
}

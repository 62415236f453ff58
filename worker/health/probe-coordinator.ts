import type { Logger } from 'pino';
import type { ControlMessage } from '../edge/protocol';
import { assignProbes, listChanged } from './probe-assignment';
import { PROBE_LEASE_MS, type ClaimResult, type LeasedBinding } from './probe-leases';
import type { ProbeTarget, ProbeTargetsMessage } from './probe-target';

/**
 * OPTIONS probing on a SIP node's main thread: every `PROBE_CLAIM_MS` it claims and renews its
 * leases (probe-leases.ts), spreads the bindings it holds over its ready workers
 * (probe-assignment.ts) and sends each worker its list when the list changed. A worker that dies,
 * comes back or drains has its bindings moved at once.
 *
 * A lease is trusted only until `PROBE_LEASE_MS - LEASE_MARGIN_MS` after the claim that renewed
 * it began, by this node's monotonic clock: the database set the lapse later than that, so when
 * renewals fail (the database is away) this node has stopped probing before another node can
 * take the binding over. Probing pauses with the database; calls go on, with passive evidence.
 */

/** How often the node claims and renews its leases. */
export const PROBE_CLAIM_MS = 1_000;
/** Stop probing this long before a lease could lapse: two claim rounds of slack for timers and messages. */
export const LEASE_MARGIN_MS = 2 * PROBE_CLAIM_MS;
/** A probe without a final response for this many seconds (or its interval, if shorter) failed. */
export const PROBE_TIMEOUT_S = 5;

export interface ProbeWorkers {
  readyWorkers(): number[];
  send(index: number, message: ControlMessage): boolean;
}

export interface ProbeCoordinatorDeps {
  readonly leases: { claim(): Promise<ClaimResult>; release(): Promise<void> };
  readonly workers: ProbeWorkers;
  /** Monotonic milliseconds (performance.now in production). */
  readonly now: () => number;
  readonly logger: Logger;
  /** How long one second of a probe interval or timeout lasts: 1000; tests shorten it. */
  readonly probeSecondMs?: number;
  readonly leaseMs?: number;
}

export function probeTarget(binding: LeasedBinding, secondMs: number): ProbeTarget {
  return {
    registrationId: binding.registrationId,
    trunkId: binding.trunkId,
    contact: binding.contact,
    address: binding.address,
    port: binding.port,
    intervalMs: binding.intervalSeconds * secondMs,
    timeoutMs: Math.min(PROBE_TIMEOUT_S, binding.intervalSeconds) * secondMs,
  };
}

export class ProbeCoordinator {
  private targets: readonly ProbeTarget[] = [];
  private trustedUntil = -Infinity;
  private readonly sent = new Map<number, readonly ProbeTarget[]>();
  private claiming: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private failures = 0;
  private holding = false;
  private stopped = false;

  constructor(private readonly deps: ProbeCoordinatorDeps) {}

  start(): void {
    void this.tick();
    this.timer = setInterval(() => void this.tick(), PROBE_CLAIM_MS);
    this.timer.unref();
  }

  /** One round: drops leases past trust, then claims (unless a claim is still running). */
  tick(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.targets.length > 0 && this.deps.now() >= this.trustedUntil) {
      this.deps.logger.warn({ bindings: this.targets.length }, 'probe leases not renewed in time; probing paused until they are');
      this.setTargets([]);
    }
    this.claiming ??= this.claim().finally(() => {
      this.claiming = null;
    });
    return this.claiming;
  }

  /** A worker became ready, died, drained or stopped: its bindings move. */
  workersChanged(index: number, threadGone: boolean): void {
    if (threadGone) this.sent.delete(index);
    this.publish();
  }

  /** Tells the workers to stop probing, then gives the leases back so another node takes them at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    await this.claiming;
    this.setTargets([]);
    await this.deps.leases.release().catch((error: unknown) => this.deps.logger.warn({ err: error }, 'probe leases not released; they lapse'));
  }

  private async claim(): Promise<void> {
    if (this.deps.workers.readyWorkers().length === 0) {
      // No worker to probe with: give the bindings to a node that has one.
      if (this.holding) {
        this.setTargets([]);
        await this.deps.leases.release().then(
          () => (this.holding = false),
          (error: unknown) => this.deps.logger.warn({ err: error }, 'probe leases not released; they lapse'),
        );
      }
      return;
    }
    const startedAt = this.deps.now();
    let result: ClaimResult;
    try {
      result = await this.deps.leases.claim();
    } catch (error) {
      if (this.failures++ === 0) this.deps.logger.warn({ err: error }, 'probe leases not claimed; retrying every second');
      return;
    }
    if (this.stopped) return;
    if (this.failures > 0) this.deps.logger.info({ failedRounds: this.failures }, 'probe leases claimed again');
    this.failures = 0;
    this.holding = true;
    this.trustedUntil = startedAt + (this.deps.leaseMs ?? PROBE_LEASE_MS) - LEASE_MARGIN_MS;
    const secondMs = this.deps.probeSecondMs ?? 1000;
    const before = this.targets.length;
    this.setTargets(result.held.map((binding) => probeTarget(binding, secondMs)));
    if (before !== this.targets.length) {
      this.deps.logger.info({ bindings: this.targets.length, share: result.share, nodes: result.nodes, contacts: result.contacts }, 'probing bindings');
    }
  }

  private setTargets(targets: readonly ProbeTarget[]): void {
    this.targets = targets;
    this.publish();
  }

  /** Sends each ready worker its list if it changed, and an empty list to a worker no longer ready. */
  private publish(): void {
    const ready = this.deps.workers.readyWorkers();
    const lists = assignProbes(this.targets, ready);
    for (const index of [...this.sent.keys()]) {
      if (lists.has(index)) continue;
      this.send(index, []);
      this.sent.delete(index);
    }
    for (const [index, list] of lists) {
      if (!listChanged(this.sent.get(index), list)) continue;
      if (this.send(index, list)) this.sent.set(index, list);
    }
  }

  private send(index: number, targets: readonly ProbeTarget[]): boolean {
    const payload: ProbeTargetsMessage = { kind: 'probe-targets', targets };
    return this.deps.workers.send(index, { type: 'control', payload });
  }
}

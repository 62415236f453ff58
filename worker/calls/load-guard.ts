import { performance, type EventLoopUtilization } from 'node:perf_hooks';

/**
 * Runs in the worker threads and on the main thread: each worker checks its own loop, and the
 * edge checks the main thread's (edge/edge-load.ts), through which every datagram of the node passes.
 *
 * Overload protection for new calls. Past its capacity a SIP worker falls behind, carriers
 * retransmit their INVITEs, and the retransmissions take the capacity that was left: the rate
 * served collapses instead of levelling off (measured: bench/results/sip-load.md). So when the
 * worker's event loop was busy nearly all of the last interval, new INVITEs get 503 with
 * Retry-After at once (cheap, and the carrier tries its next route) while calls already in
 * progress and in-dialog requests are served as usual. Only a loop busy for a sustained
 * stretch counts (two samples in a row): a garbage collection or a burst must not shed calls the
 * worker would have served.
 */
export const OVERLOAD_UTILIZATION = 0.98;
export const OVERLOAD_SAMPLE_MS = 250;
export const OVERLOAD_SAMPLES = 2;

export type UtilizationSource = (previous: EventLoopUtilization | undefined) => { sample: EventLoopUtilization; utilization: number };

const eventLoop: UtilizationSource = (previous) => {
  const sample = performance.eventLoopUtilization();
  return { sample, utilization: previous === undefined ? 0 : performance.eventLoopUtilization(sample, previous).utilization };
};

export class LoadGuard {
  private previous: EventLoopUtilization | undefined;
  private busySamples = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly threshold = OVERLOAD_UTILIZATION,
    private readonly source: UtilizationSource = eventLoop,
  ) {}

  start(intervalMs = OVERLOAD_SAMPLE_MS): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  /** Takes one sample: how busy the loop was since the previous one. */
  sample(): void {
    const { sample, utilization } = this.source(this.previous);
    this.previous = sample;
    this.busySamples = utilization >= this.threshold ? this.busySamples + 1 : 0;
  }

  isOverloaded(): boolean {
    return this.busySamples >= OVERLOAD_SAMPLES;
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
  }
}

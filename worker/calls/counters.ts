/**
 * What one worker counts, reported to the edge with its health: requests by method, dropped
 * messages by reason, calls set up. The edge sums them over workers.
 */
export interface CountersReport {
  readonly requests: Record<string, number>;
  readonly drops: Record<string, number>;
  readonly calls: number;
}

export class WorkerCounters {
  readonly requests: Record<string, number> = {};
  readonly drops: Record<string, number> = {};
  calls = 0;

  request(method: string): void {
    const key = /^[A-Z]{2,16}$/.test(method) ? method : 'OTHER';
    this.requests[key] = (this.requests[key] ?? 0) + 1;
  }

  drop(reason: string): void {
    this.drops[reason] = (this.drops[reason] ?? 0) + 1;
  }

  call(): void {
    this.calls++;
  }

  snapshot(): CountersReport {
    return { requests: { ...this.requests }, drops: { ...this.drops }, calls: this.calls };
  }
}

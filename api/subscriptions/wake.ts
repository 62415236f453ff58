/**
 * A feed's doorbell: `ring()` marks that something may have changed and wakes a `wait()` in
 * progress. A ring with nobody waiting is kept, so the next `wait()` returns at once: a nudge
 * that arrives while the feed reads is not lost.
 */
export class Wake {
  private rung = false;
  private waiter: (() => void) | null = null;

  ring(): void {
    this.rung = true;
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.();
  }

  /** True when rung since the last `take()`, and clears it. */
  take(): boolean {
    const rung = this.rung;
    this.rung = false;
    return rung;
  }

  /** Resolves at the next ring, or at once when one is pending. */
  wait(): Promise<void> {
    if (this.rung) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }
}

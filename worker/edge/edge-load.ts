import { LoadGuard, OVERLOAD_SAMPLE_MS } from '../calls/load-guard';

/**
 * How hard the edge's own event loop (the SIP process's main thread) is working. Every datagram
 * in and out of the node passes this one loop, so when it is saturated the kernel drops datagrams
 * at random from its socket buffer, trusted ones among them. The same overload check as a
 * worker's (load-guard.ts: busy at least 98 % for two samples in a row) says when; what the loop
 * read in the last sample says why:
 *
 * - `overloaded`: mostly real traffic. New INVITEs are refused with 503 before they cost a worker
 *   anything and before their calls add the dozen datagrams each call sends through this loop;
 *   in-dialog requests and responses still pass, so calls in progress finish.
 * - `flooded`: mostly datagrams the edge refuses (INVITEs from strangers, ACKs for its own
 *   answers). Turning carriers away would not relieve the loop: the refused traffic is what
 *   costs. The edge stops answering strangers (a drop costs a fraction of a send) and keeps
 *   admitting carriers' calls.
 */
export type EdgePressure = 'normal' | 'overloaded' | 'flooded';

/** At least this share of the datagrams read in a sample refused by the edge makes a saturated loop `flooded`. */
export const FLOOD_SHARE = 0.5;
/**
 * A flood stays `flooded` this many samples (2 s) after its last saturated one. Answering
 * strangers again the moment the loop has a little room would saturate it at once: the answers
 * are what it could not afford.
 */
export const FLOOD_HOLD_SAMPLES = 8;

export class EdgeLoad {
  private received = 0;
  private refused = 0;
  private current: EdgePressure = 'normal';
  private floodHeld = 0;
  private timer: NodeJS.Timeout | null = null;

  /**
   * `sampleEveryMs` null: no timer, the owner calls `sample()` (tests drive the samples by hand,
   * as they inject the loop's utilisation through `guard`).
   */
  constructor(
    private readonly guard: LoadGuard = new LoadGuard(),
    private readonly sampleEveryMs: number | null = OVERLOAD_SAMPLE_MS,
  ) {}

  /** Takes the baseline sample and, unless sampled by hand, one every `sampleEveryMs`. */
  start(): void {
    this.sample();
    if (this.sampleEveryMs === null) return;
    this.timer = setInterval(() => this.sample(), this.sampleEveryMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
  }

  /** One datagram read; `refused` when the edge turned it away itself (a 403, an absorbed ACK). */
  count(refused: boolean): void {
    this.received++;
    if (refused) this.refused++;
  }

  /** Takes one sample of the loop and of what it read since the previous one. */
  sample(): void {
    this.guard.sample();
    const share = this.received === 0 ? 0 : this.refused / this.received;
    this.received = 0;
    this.refused = 0;
    let next: EdgePressure = 'normal';
    if (this.guard.isOverloaded()) next = share >= FLOOD_SHARE ? 'flooded' : 'overloaded';
    if (next === 'flooded') this.floodHeld = FLOOD_HOLD_SAMPLES;
    else if (next === 'normal' && this.current === 'flooded' && this.floodHeld > 0) {
      this.floodHeld--;
      next = 'flooded';
    } else this.floodHeld = 0;
    this.current = next;
  }

  pressure(): EdgePressure {
    return this.current;
  }
}

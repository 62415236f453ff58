/**
 * How the edge's own event loop (the SIP process's main thread) keeps up. Every datagram in and
 * out of the node passes this one loop, so when it falls behind, datagrams wait in the socket's
 * receive queue and, once it is full, the kernel drops them at random, trusted ones among them.
 * The edge's probes say when (edge-probe.ts: the sojourn of a datagram in that queue, judged as a
 * worker judges its own, calls/sojourn-guard.ts); what the loop read in the last sample says why:
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

/** Whether the loop is behind now (a SojournGuard; tests pass a stub). */
export interface OverloadSignal {
  isOverloaded(): boolean;
}

/**
 * How often the share of refused traffic is worked out. Whether the loop is behind is read from
 * the signal at each INVITE; only the flood's share waits for a sample.
 */
export const EDGE_LOAD_SAMPLE_MS = 100;

/** At least this share of the datagrams read in a sample refused by the edge makes an overloaded loop `flooded`. */
export const FLOOD_SHARE = 0.5;
/**
 * A flood stays `flooded` this many samples (2 s) after its last overloaded one. Answering
 * strangers again the moment the loop has a little room would overload it at once: the answers
 * are what it could not afford.
 */
export const FLOOD_HOLD_SAMPLES = 20;

export class EdgeLoad {
  private received = 0;
  private refused = 0;
  private flooded = false;
  private floodHeld = 0;
  private timer: NodeJS.Timeout | null = null;

  /**
   * `sampleEveryMs` null: no timer, the owner calls `sample()` (tests drive the samples by hand,
   * as they set the loop's state through `signal`).
   */
  constructor(
    private readonly signal: OverloadSignal,
    private readonly sampleEveryMs: number | null = EDGE_LOAD_SAMPLE_MS,
  ) {}

  /** Samples every `sampleEveryMs`, unless sampled by hand. */
  start(): void {
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

  /** Works out from what the loop read since the previous sample whether it is flooded. */
  sample(): void {
    const share = this.received === 0 ? 0 : this.refused / this.received;
    this.received = 0;
    this.refused = 0;
    if (this.signal.isOverloaded()) {
      this.flooded = share >= FLOOD_SHARE;
      this.floodHeld = this.flooded ? FLOOD_HOLD_SAMPLES : 0;
    } else if (this.flooded) {
      if (this.floodHeld > 0) this.floodHeld--;
      else this.flooded = false;
    }
  }

  pressure(): EdgePressure {
    if (this.flooded) return 'flooded';
    return this.signal.isOverloaded() ? 'overloaded' : 'normal';
  }
}

import type { Timers } from 'sip';

/**
 * The `timers` the `sip` stack arms its transactions with. The waits a finished transaction
 * lingers for (RFC 3261 Timers D, H, I, J, K; RFC 6026 Timers L and M) and Timers B and F are all
 * T4 (5 s) or 64*T1 (32 s): at 1,000 calls/s about 100,000 of them are out at once, and each as a
 * Node `Timeout` costs about 190 bytes (the object, its argument list, its start time). Waits of
 * one duration end in the order they began, so each of those durations keeps its waits in a FIFO
 * queue behind one Node timer, at a small entry each; the result is the same, to the millisecond.
 * Other durations (retransmissions, Timer C) are Node timers as before.
 *
 * A wait cleared before its time stays in its queue, emptied, until then: for the 5 s and 32 s
 * durations that is less than a `Timeout` kept for the full time.
 */
export interface QueuedTimersOptions {
  /** The durations queued, in milliseconds. */
  readonly durations: readonly number[];
  /** Milliseconds on a monotonic clock (default `performance.now`). */
  readonly now?: () => number;
  /** A callback threw (default: thrown again on a microtask, as uncaught as a Node timer's throw). */
  readonly onError?: (error: unknown) => void;
}

const rethrow = (error: unknown): void =>
  queueMicrotask(() => {
    throw error;
  });

class Wait {
  constructor(
    readonly at: number,
    public callback: ((arg: unknown) => void) | null,
    public arg: unknown,
  ) {}
}

/** The waits of one duration, oldest first from `head`, and the Node timer set for the oldest. */
class WaitQueue {
  private waits: Wait[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | null = null;
  /** The due waits are being run: a wait they add is timed when they are done. */
  private running = false;
  private readonly fire = (): void => this.due();

  constructor(
    private readonly ms: number,
    private readonly now: () => number,
    private readonly onError: (error: unknown) => void,
  ) {}

  add(callback: (arg: unknown) => void, arg: unknown): Wait {
    // Whole milliseconds: a small integer is kept in the entry itself, a fraction in a number object of its own.
    const wait = new Wait(Math.ceil(this.now()) + this.ms, callback, arg);
    this.waits.push(wait);
    if (this.timer === null && !this.running) this.timer = setTimeout(this.fire, this.ms);
    return wait;
  }

  private due(): void {
    this.timer = null;
    this.running = true;
    try {
      this.runDue();
    } finally {
      this.running = false;
    }
    if (this.head < this.waits.length) this.timer = setTimeout(this.fire, Math.max(0, this.waits[this.head].at - this.now()));
  }

  private runDue(): void {
    // Node may run a timer up to a millisecond before `now()` says it is due: its clock is read once per loop turn.
    const now = this.now() + 1;
    const { waits } = this;
    while (this.head < waits.length && waits[this.head].at <= now) {
      const wait = waits[this.head++];
      const { callback, arg } = wait;
      wait.callback = null;
      wait.arg = null;
      if (callback === null) continue;
      try {
        callback(arg);
      } catch (error) {
        // Without holding up the waits after it.
        this.onError(error);
      }
    }
    if (this.head === waits.length) {
      this.waits = [];
      this.head = 0;
      return;
    }
    if (this.head > 1024 && this.head * 2 > waits.length) {
      this.waits = waits.slice(this.head);
      this.head = 0;
    }
  }
}

export function queuedTimers(options: QueuedTimersOptions): Timers {
  const now = options.now ?? (() => performance.now());
  const queues = new Map(options.durations.map((ms) => [ms, new WaitQueue(ms, now, options.onError ?? rethrow)]));
  return {
    setTimeout(callback, ms, arg) {
      const queue = queues.get(ms);
      return queue === undefined ? setTimeout(callback, ms, arg) : queue.add(callback, arg);
    },
    clearTimeout(handle) {
      if (handle instanceof Wait) {
        handle.callback = null;
        handle.arg = null;
      } else {
        clearTimeout(handle as NodeJS.Timeout | undefined);
      }
    },
  };
}

import type { Logger } from 'pino';
import type { Clock, Timer } from '../../worker/clock';
import { ApiError, ErrorCode } from '../errors';
import type { TrunkStatusType } from '../trunk/trunk-status.type';
import type { NotificationHub, Unsubscribe } from './notification-hub';
import { Wake } from './wake';

/**
 * How often a waiting `trunkStatus` feed reads the status without a notification: the SIP nodes'
 * live call counts (trunk_load) and a binding that expires are not notified.
 */
export const STATUS_POLL_MS = 1_000;

export interface TrunkStatusFeedOptions {
  /** Reads the status in the subscriber's scope; NOT_FOUND once the trunk is gone. */
  readonly read: () => Promise<TrunkStatusType>;
  readonly hub: NotificationHub;
  readonly trunkId: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly pollMs?: number;
}

/** Two statuses are the same when every field a client sees is. */
function sameStatus(a: TrunkStatusType, b: TrunkStatusType): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function isNotFound(error: unknown): boolean {
  return error instanceof ApiError && error.extensions.code === ErrorCode.NOT_FOUND;
}

/**
 * One `trunkStatus` subscription: the current status first, then each status that differs from
 * the last one sent. It re-reads when the trunk, its health or one of its registrations is
 * notified, after the hub reconnects, and every `pollMs` while it waits. A trunk deleted
 * meanwhile ends the subscription. `return()` ends it at once and removes its callbacks and timer.
 */
export class TrunkStatusFeed implements AsyncIterableIterator<TrunkStatusType> {
  private readonly wake = new Wake();
  private readonly unsubscribe: Unsubscribe[];
  private pollTimer: Timer | null = null;
  private last: TrunkStatusType | null = null;
  private firstSent = false;
  private closed = false;

  private constructor(private readonly options: TrunkStatusFeedOptions) {
    const ring = (): void => this.wake.ring();
    this.unsubscribe = [options.hub.onTrunk(options.trunkId, ring), options.hub.onResync(ring)];
  }

  /**
   * Watches the trunk, then reads its status: a change committed during that read rings the feed.
   * Throws (leaving nothing behind) when the actor may not see the trunk.
   */
  static async open(options: TrunkStatusFeedOptions): Promise<TrunkStatusFeed> {
    const feed = new TrunkStatusFeed(options);
    try {
      feed.last = await options.read();
    } catch (error) {
      feed.close();
      throw error;
    }
    return feed;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** The first call returns the status read by `open`; the later ones wait for a different one. */
  async next(): Promise<IteratorResult<TrunkStatusType>> {
    if (!this.firstSent && !this.closed && this.last !== null) {
      this.firstSent = true;
      return { done: false, value: this.last };
    }
    while (!this.closed) {
      if (!this.wake.take()) {
        const timer = this.options.clock.after(this.options.pollMs ?? STATUS_POLL_MS, () => this.wake.ring());
        this.pollTimer = timer;
        await this.wake.wait();
        timer.cancel();
        if (this.pollTimer === timer) this.pollTimer = null;
        continue;
      }
      const status = await this.readStatus();
      if (status === 'gone') this.close();
      else if (status !== null && !this.closed && (this.last === null || !sameStatus(status, this.last))) {
        this.last = status;
        return { done: false, value: status };
      }
    }
    return { done: true, value: undefined };
  }

  async return(): Promise<IteratorResult<TrunkStatusType>> {
    this.close();
    return { done: true, value: undefined };
  }

  /** The status, `gone` when the trunk was deleted, or null when it could not be read (tried again at the next poll). */
  private async readStatus(): Promise<TrunkStatusType | 'gone' | null> {
    try {
      return await this.options.read();
    } catch (error) {
      if (isNotFound(error)) return 'gone';
      if (!this.closed) this.options.logger.warn({ err: error, trunkId: this.options.trunkId }, 'trunk status not read for a subscription: retrying');
      return null;
    }
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const unsubscribe of this.unsubscribe) unsubscribe();
    this.pollTimer?.cancel();
    this.pollTimer = null;
    this.wake.ring();
  }
}

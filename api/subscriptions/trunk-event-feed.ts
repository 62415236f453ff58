import type { Logger } from 'pino';
import type { Clock, Timer } from '../../worker/clock';
import type { TrunkEventObject } from '../trunk-event/trunk-event.type';
import type { NotificationHub, Unsubscribe } from './notification-hub';
import { Wake } from './wake';

/** Events read from the table at once; a longer backlog is read in several rounds. */
export const EVENT_READ_BATCH = 100;
/** After a failed read (the database away), the next attempt. */
export const FEED_RETRY_MS = 1_000;

export interface TrunkEventSource {
  eventsAfter(companyId: string, fromId: string, limit: number): Promise<TrunkEventObject[]>;
}

export interface TrunkEventFeedOptions {
  readonly source: TrunkEventSource;
  readonly hub: NotificationHub;
  readonly companyId: string;
  /** The id of the last event the client has: the feed sends those after it. */
  readonly fromId: string;
  readonly clock: Clock;
  readonly logger: Logger;
}

/**
 * One `trunkEvents` subscription. The table is the truth and a notification only rings: on each
 * ring the feed reads the company's events with an id over the last one it read, so an event is
 * sent once, in id order, even when a notification is lost (the hub rings every feed after it
 * reconnects). Ids commit in order (the inserting transaction holds an advisory lock), so reading
 * `id > last` misses none. It reads only when the client has taken what it read before, so a slow
 * client holds at most one batch here.
 *
 * `return()` ends it at once, also while it waits, and removes its callbacks and timer.
 */
export class TrunkEventFeed implements AsyncIterableIterator<TrunkEventObject> {
  private readonly wake = new Wake();
  private readonly unsubscribe: Unsubscribe[];
  private buffer: TrunkEventObject[] = [];
  private lastId: string;
  private retryTimer: Timer | null = null;
  private closed = false;

  constructor(private readonly options: TrunkEventFeedOptions) {
    this.lastId = options.fromId;
    const ring = (): void => this.wake.ring();
    this.unsubscribe = [options.hub.onTrunkEvent(options.companyId, ring), options.hub.onResync(ring)];
    // The first read replays what came after `fromId`.
    this.wake.ring();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<TrunkEventObject>> {
    while (!this.closed) {
      const event = this.buffer.shift();
      if (event !== undefined) return { done: false, value: event };
      if (this.wake.take()) await this.read();
      else await this.wake.wait();
    }
    return { done: true, value: undefined };
  }

  async return(): Promise<IteratorResult<TrunkEventObject>> {
    this.close();
    return { done: true, value: undefined };
  }

  private async read(): Promise<void> {
    const { source, companyId, logger, clock } = this.options;
    try {
      const events = await source.eventsAfter(companyId, this.lastId, EVENT_READ_BATCH);
      if (this.closed) return;
      this.buffer = events;
      if (events.length > 0) this.lastId = events[events.length - 1].id;
      if (events.length === EVENT_READ_BATCH) this.wake.ring();
    } catch (error) {
      if (this.closed) return;
      logger.warn({ err: error, companyId }, 'trunk events not read for a subscription: retrying');
      this.retryTimer ??= clock.after(FEED_RETRY_MS, () => {
        this.retryTimer = null;
        this.wake.ring();
      });
    }
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const unsubscribe of this.unsubscribe) unsubscribe();
    this.retryTimer?.cancel();
    this.retryTimer = null;
    this.buffer = [];
    this.wake.ring();
  }
}

import type { Logger } from 'pino';
import { systemClock, type Clock } from '../../worker/clock';
import type { Actor } from '../auth/actor';
import type { TrunkEventService } from '../trunk-event/trunk-event.service';
import type { TrunkEventObject } from '../trunk-event/trunk-event.type';
import type { TrunkService } from '../trunk/trunk.service';
import type { TrunkStatusType } from '../trunk/trunk-status.type';
import type { NotificationHub } from './notification-hub';
import { TrunkEventFeed } from './trunk-event-feed';
import { TrunkStatusFeed } from './trunk-status-feed';

/**
 * The subscriptions' side of the services: each call checks the actor's scope (NOT_FOUND for
 * another company's company or trunk, before anything is sent) and returns the feed that serves
 * that one subscription.
 */
export class FeedService {
  constructor(
    private readonly hub: NotificationHub,
    private readonly trunkEvents: TrunkEventService,
    private readonly trunks: TrunkService,
    private readonly logger: Logger,
    private readonly clock: Clock = systemClock,
  ) {}

  async trunkEventFeed(actor: Actor, companyId: string, after: string | null): Promise<AsyncIterableIterator<TrunkEventObject>> {
    const fromId = await this.trunkEvents.feedStart(actor, companyId, after);
    return new TrunkEventFeed({ source: this.trunkEvents, hub: this.hub, companyId, fromId, clock: this.clock, logger: this.logger });
  }

  trunkStatusFeed(actor: Actor, trunkId: string): Promise<AsyncIterableIterator<TrunkStatusType>> {
    return TrunkStatusFeed.open({ read: () => this.trunks.status(actor, trunkId), hub: this.hub, trunkId, clock: this.clock, logger: this.logger });
  }
}

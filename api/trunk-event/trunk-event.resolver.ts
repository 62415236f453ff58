import { Arg, Args, Ctx, ID, Query, Resolver, Root, Subscription, UseMiddleware, type SubscribeResolverData } from 'type-graphql';
import { DatabaseAvailability } from '../availability';
import type { ApiContext } from '../context';
import { PageArgs, type Page } from '../pagination';
import { TrunkEventConnection, TrunkEventObject } from './trunk-event.type';

@UseMiddleware(DatabaseAvailability)
@Resolver(() => TrunkEventObject)
export class TrunkEventResolver {
  @Query(() => TrunkEventConnection, {
    description:
      "A company's trunk events, oldest first (in id order), optionally of one trunk. The cursor of an event is its id: " +
      '`after: "<id>"` continues strictly after that event, so a client that kept the last id it saw resumes there.',
  })
  trunkEvents(
    @Arg('companyId', () => ID) companyId: string,
    @Arg('trunkId', () => ID, { nullable: true }) trunkId: string | null,
    @Args(() => PageArgs) page: PageArgs,
    @Ctx() ctx: ApiContext,
  ): Promise<Page<TrunkEventObject>> {
    return ctx.services.trunkEvents.list(ctx.actor, companyId, trunkId ?? null, page);
  }

  @Subscription(() => TrunkEventObject, {
    name: 'trunkEvents',
    description:
      "The company's trunk events as they happen, each once and in id order. With `after` (the id of the last event the client " +
      'has), the events after it are sent first, so a client that reconnects misses none.',
    subscribe: ({ args, context }: SubscribeResolverData<unknown, { companyId: string; after?: string | null }, ApiContext>) =>
      context.services.feeds.trunkEventFeed(context.actor, args.companyId, args.after ?? null),
  })
  trunkEventsFeed(
    @Root() event: TrunkEventObject,
    @Arg('companyId', () => ID) _companyId: string,
    @Arg('after', () => String, { nullable: true }) _after: string | null,
  ): TrunkEventObject {
    return event;
  }
}

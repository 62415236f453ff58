import { Arg, Args, Ctx, ID, Mutation, Query, Resolver, Root, Subscription, UseMiddleware, type SubscribeResolverData } from 'type-graphql';
import { DatabaseAvailability } from '../availability';
import type { ApiContext } from '../context';
import { PageArgs, type Page } from '../pagination';
import { CreateTrunkInput, UpdateTrunkInput } from './trunk.input';
import { TrunkStatusType } from './trunk-status.type';
import { TrunkConnection, TrunkType } from './trunk.type';

@UseMiddleware(DatabaseAvailability)
@Resolver(() => TrunkType)
export class TrunkResolver {
  @Mutation(() => TrunkType)
  createTrunk(@Arg('input', () => CreateTrunkInput) input: CreateTrunkInput, @Ctx() ctx: ApiContext): Promise<TrunkType> {
    return ctx.services.trunks.create(ctx.actor, input);
  }

  @Mutation(() => TrunkType)
  updateTrunk(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateTrunkInput) input: UpdateTrunkInput,
    @Ctx() ctx: ApiContext,
  ): Promise<TrunkType> {
    return ctx.services.trunks.update(ctx.actor, id, input);
  }

  @Mutation(() => ID, { description: 'Returns the id' })
  deleteTrunk(@Arg('id', () => ID) id: string, @Ctx() ctx: ApiContext): Promise<string> {
    return ctx.services.trunks.delete(ctx.actor, id);
  }

  @Query(() => TrunkType)
  trunk(@Arg('id', () => ID) id: string, @Ctx() ctx: ApiContext): Promise<TrunkType> {
    return ctx.services.trunks.get(ctx.actor, id);
  }

  @Query(() => TrunkConnection, { description: "Without companyId: the key's company (operators: all)" })
  trunks(
    @Arg('companyId', () => ID, { nullable: true }) companyId: string | null,
    @Args(() => PageArgs) page: PageArgs,
    @Ctx() ctx: ApiContext,
  ): Promise<Page<TrunkType>> {
    return ctx.services.trunks.list(ctx.actor, companyId ?? null, page);
  }

  @Subscription(() => TrunkStatusType, {
    name: 'trunkStatus',
    description: "The trunk's status now, then each time it changes (registration, health, live calls, failover); ends when the trunk is deleted",
    subscribe: ({ args, context }: SubscribeResolverData<unknown, { trunkId: string }, ApiContext>) =>
      context.services.feeds.trunkStatusFeed(context.actor, args.trunkId),
  })
  trunkStatusFeed(@Root() status: TrunkStatusType, @Arg('trunkId', () => ID) _trunkId: string): TrunkStatusType {
    return status;
  }
}

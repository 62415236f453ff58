import { Arg, Args, Ctx, ID, Mutation, Query, Resolver, UseMiddleware } from 'type-graphql';
import { DatabaseAvailability } from '../availability';
import type { ApiContext } from '../context';
import { PageArgs, type Page } from '../pagination';
import { CreateDialPlanInput, UpdateDialPlanInput } from './dial-plan.input';
import { DialPlanConnection, DialPlanType } from './dial-plan.type';

@UseMiddleware(DatabaseAvailability)
@Resolver(() => DialPlanType)
export class DialPlanResolver {
  @Mutation(() => DialPlanType)
  createDialPlan(@Arg('input', () => CreateDialPlanInput) input: CreateDialPlanInput, @Ctx() ctx: ApiContext): Promise<DialPlanType> {
    return ctx.services.dialPlans.create(ctx.actor, input);
  }

  @Mutation(() => DialPlanType)
  updateDialPlan(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateDialPlanInput) input: UpdateDialPlanInput,
    @Ctx() ctx: ApiContext,
  ): Promise<DialPlanType> {
    return ctx.services.dialPlans.update(ctx.actor, id, input);
  }

  @Mutation(() => ID, { description: 'Refused with CONFLICT while a trunk fails over to it; returns the id' })
  deleteDialPlan(@Arg('id', () => ID) id: string, @Ctx() ctx: ApiContext): Promise<string> {
    return ctx.services.dialPlans.delete(ctx.actor, id);
  }

  @Query(() => DialPlanType)
  dialPlan(@Arg('id', () => ID) id: string, @Ctx() ctx: ApiContext): Promise<DialPlanType> {
    return ctx.services.dialPlans.get(ctx.actor, id);
  }

  @Query(() => DialPlanConnection, { description: "Without companyId: the key's company (operators: all)" })
  dialPlans(
    @Arg('companyId', () => ID, { nullable: true }) companyId: string | null,
    @Args(() => PageArgs) page: PageArgs,
    @Ctx() ctx: ApiContext,
  ): Promise<Page<DialPlanType>> {
    return ctx.services.dialPlans.list(ctx.actor, companyId ?? null, page);
  }
}

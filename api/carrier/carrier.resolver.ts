import { Arg, Args, Ctx, ID, Mutation, Query, Resolver, UseMiddleware } from 'type-graphql';
import { DatabaseAvailability } from '../availability';
import type { ApiContext } from '../context';
import { PageArgs, type Page } from '../pagination';
import { CreateCarrierInput, UpdateCarrierInput } from './carrier.input';
import { CarrierConnection, CarrierType, OutboundGatewayType } from './carrier.type';

@UseMiddleware(DatabaseAvailability)
@Resolver(() => CarrierType)
export class CarrierResolver {
  @Mutation(() => CarrierType, { description: 'Operators only' })
  createCarrier(@Arg('input', () => CreateCarrierInput) input: CreateCarrierInput, @Ctx() ctx: ApiContext): Promise<CarrierType> {
    return ctx.services.carriers.create(ctx.actor, input);
  }

  @Mutation(() => CarrierType, { description: 'Operators only' })
  updateCarrier(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateCarrierInput) input: UpdateCarrierInput,
    @Ctx() ctx: ApiContext,
  ): Promise<CarrierType> {
    return ctx.services.carriers.update(ctx.actor, id, input);
  }

  @Mutation(() => ID, { description: 'Operators only; returns the id' })
  deleteCarrier(@Arg('id', () => ID) id: string, @Ctx() ctx: ApiContext): Promise<string> {
    return ctx.services.carriers.delete(ctx.actor, id);
  }

  @Query(() => CarrierConnection, { description: 'Operators only' })
  carriers(@Args(() => PageArgs) page: PageArgs, @Ctx() ctx: ApiContext): Promise<Page<CarrierType>> {
    return ctx.services.carriers.list(ctx.actor, page);
  }

  @Mutation(() => OutboundGatewayType, { nullable: true, description: 'Operators only; null removes the gateway' })
  setOutboundGateway(@Arg('uri', () => String, { nullable: true }) uri: string | null, @Ctx() ctx: ApiContext): Promise<OutboundGatewayType | null> {
    return ctx.services.carriers.setOutboundGateway(ctx.actor, uri ?? null);
  }

  @Query(() => OutboundGatewayType, { nullable: true, description: 'Operators only' })
  outboundGateway(@Ctx() ctx: ApiContext): Promise<OutboundGatewayType | null> {
    return ctx.services.carriers.outboundGateway(ctx.actor);
  }
}

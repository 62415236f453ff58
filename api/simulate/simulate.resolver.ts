import { Arg, Ctx, Query, Resolver, UseMiddleware } from 'type-graphql';
import { DatabaseAvailability } from '../availability';
import type { ApiContext } from '../context';
import { SimulateCallInput } from './simulate.input';
import { SimulatedCallType } from './simulate.type';

@UseMiddleware(DatabaseAvailability)
@Resolver(() => SimulatedCallType)
export class SimulateResolver {
  @Query(() => SimulatedCallType, { description: 'Runs the routing decision and the dial plan for a call without placing it' })
  simulateCall(@Arg('input', () => SimulateCallInput) input: SimulateCallInput, @Ctx() ctx: ApiContext): Promise<SimulatedCallType> {
    return ctx.services.simulations.simulate(ctx.actor, input);
  }
}

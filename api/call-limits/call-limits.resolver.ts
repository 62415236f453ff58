import { Arg, Ctx, Int, Mutation, Query, Resolver, UseMiddleware } from 'type-graphql';
import { DatabaseAvailability } from '../availability';
import type { ApiContext } from '../context';

@UseMiddleware(DatabaseAvailability)
@Resolver()
export class CallLimitsResolver {
  @Mutation(() => Int, {
    description:
      'Operators only. Seconds after its answer a call whose ends agreed on no SIP session timer is ended (BYE to both ends), 60..86400; returns the value set. Calls take the value in force when they are answered',
  })
  setMaxCallLengthSeconds(@Arg('seconds', () => Int) seconds: number, @Ctx() ctx: ApiContext): Promise<number> {
    return ctx.services.callLimits.setMaxCallLength(ctx.actor, seconds);
  }

  @Query(() => Int, { description: 'Operators only. The maximum call length in seconds for calls without a SIP session timer (default 14400: 4 h)' })
  maxCallLengthSeconds(@Ctx() ctx: ApiContext): Promise<number> {
    return ctx.services.callLimits.maxCallLength(ctx.actor);
  }
}

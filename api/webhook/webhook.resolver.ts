import { Arg, Ctx, Mutation, Query, Resolver, UseMiddleware } from 'type-graphql';
import { DatabaseAvailability } from '../availability';
import type { ApiContext } from '../context';

@UseMiddleware(DatabaseAvailability)
@Resolver()
export class WebhookResolver {
  @Mutation(() => [String], {
    description: 'Operators only. Networks (CIDR) webhooks may reach besides public addresses; replaces the list, returns it canonical. Empty: public addresses only',
  })
  setWebhookAllowedNetworks(@Arg('cidrs', () => [String]) cidrs: string[], @Ctx() ctx: ApiContext): Promise<string[]> {
    return ctx.services.webhooks.setAllowedNetworks(ctx.actor, cidrs);
  }

  @Query(() => [String], { description: 'Operators only. Networks (CIDR) webhooks may reach besides public addresses' })
  webhookAllowedNetworks(@Ctx() ctx: ApiContext): Promise<string[]> {
    return ctx.services.webhooks.allowedNetworks(ctx.actor);
  }
}

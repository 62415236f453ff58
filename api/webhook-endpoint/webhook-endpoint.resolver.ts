import { Arg, Args, Ctx, ID, Mutation, Query, Resolver, UseMiddleware } from 'type-graphql';
import { DatabaseAvailability } from '../availability';
import type { ApiContext } from '../context';
import { PageArgs, type Page } from '../pagination';
import { CreateWebhookEndpointInput } from './webhook-endpoint.input';
import { CreateWebhookEndpointPayload, WebhookDeliveryConnection, WebhookDeliveryType, WebhookEndpointType } from './webhook-endpoint.type';

@UseMiddleware(DatabaseAvailability)
@Resolver(() => WebhookEndpointType)
export class WebhookEndpointResolver {
  @Mutation(() => CreateWebhookEndpointPayload, { description: 'Trunk events of the company are POSTed to the URL, signed with the returned secret (shown only here)' })
  createWebhookEndpoint(@Arg('input', () => CreateWebhookEndpointInput) input: CreateWebhookEndpointInput, @Ctx() ctx: ApiContext): Promise<CreateWebhookEndpointPayload> {
    return ctx.services.webhookEndpoints.create(ctx.actor, input);
  }

  @Mutation(() => ID, { description: 'Stops deliveries to the endpoint (pending ones end FAILED); returns the id' })
  deleteWebhookEndpoint(@Arg('id', () => ID) id: string, @Ctx() ctx: ApiContext): Promise<string> {
    return ctx.services.webhookEndpoints.delete(ctx.actor, id);
  }

  @Query(() => [WebhookEndpointType])
  webhookEndpoints(@Arg('companyId', () => ID) companyId: string, @Ctx() ctx: ApiContext): Promise<WebhookEndpointType[]> {
    return ctx.services.webhookEndpoints.list(ctx.actor, companyId);
  }

  @Query(() => WebhookDeliveryConnection, { description: 'The endpoint\'s deliveries, newest first, each with every attempt' })
  webhookDeliveries(
    @Arg('endpointId', () => ID) endpointId: string,
    @Args(() => PageArgs) page: PageArgs,
    @Ctx() ctx: ApiContext,
  ): Promise<Page<WebhookDeliveryType>> {
    return ctx.services.webhookEndpoints.deliveries(ctx.actor, endpointId, page);
  }
}

import type { GraphQLSchema } from 'graphql';
import { buildSchema, type PubSub } from 'type-graphql';
import { ApiKeyResolver } from './auth/api-key.resolver';
import { CallLimitsResolver } from './call-limits/call-limits.resolver';
import { CallResolver } from './call/call.resolver';
import { CarrierResolver } from './carrier/carrier.resolver';
import { CompanyResolver } from './company/company.resolver';
import { DialPlanResolver } from './dial-plan/dial-plan.resolver';
import { SimulateResolver } from './simulate/simulate.resolver';
import { TrunkResolver } from './trunk/trunk.resolver';
import { TrunkEventResolver } from './trunk-event/trunk-event.resolver';
import { WebhookResolver } from './webhook/webhook.resolver';
import { WebhookEndpointResolver } from './webhook-endpoint/webhook-endpoint.resolver';

export const RESOLVERS = [
  ApiKeyResolver,
  CallLimitsResolver,
  CallResolver,
  CarrierResolver,
  CompanyResolver,
  DialPlanResolver,
  SimulateResolver,
  TrunkResolver,
  TrunkEventResolver,
  WebhookResolver,
  WebhookEndpointResolver,
] as const;

/**
 * type-graphql asks for a PubSub when a schema has subscriptions. Ours declare their own
 * `subscribe` instead (topics would bypass the feeds' scope checks and replay), so this one
 * refuses to be used.
 */
const NO_TOPICS: PubSub = {
  publish: () => {
    throw new Error('subscriptions are fed by api/subscriptions/, not by publishing');
  },
  subscribe: () => {
    throw new Error('every subscription declares its own subscribe');
  },
};

/**
 * The executable schema. Inputs are validated by class-validator before a resolver runs.
 * Subscriptions reach their feeds (api/subscriptions/) through the operation's context, so the
 * schema is free of any server and one schema serves every API server of a process.
 */
export function buildApiSchema(): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: RESOLVERS,
    pubSub: NO_TOPICS,
    validate: { forbidUnknownValues: false, stopAtFirstError: false },
  });
}

import type { GraphQLSchema } from 'graphql';
import { buildSchema } from 'type-graphql';
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

/** The executable schema. Inputs are validated by class-validator before a resolver runs. */
export function buildApiSchema(): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: RESOLVERS,
    validate: { forbidUnknownValues: false, stopAtFirstError: false },
  });
}

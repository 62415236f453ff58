import type { Logger } from 'pino';
import type { Actor } from './auth/actor';
import type { ApiKeyService } from './auth/api-key.service';
import type { CallLimitsService } from './call-limits/call-limits.service';
import type { CallService } from './call/call.service';
import type { CarrierService } from './carrier/carrier.service';
import type { CompanyService } from './company/company.service';
import type { DialPlanService } from './dial-plan/dial-plan.service';
import type { FeedService } from './subscriptions/feed.service';
import type { SimulateService } from './simulate/simulate.service';
import type { TrunkService } from './trunk/trunk.service';
import type { TrunkEventService } from './trunk-event/trunk-event.service';
import type { WebhookService } from './webhook/webhook.service';
import type { WebhookEndpointService } from './webhook-endpoint/webhook-endpoint.service';

export interface Services {
  readonly apiKeys: ApiKeyService;
  readonly callLimits: CallLimitsService;
  readonly calls: CallService;
  readonly carriers: CarrierService;
  readonly companies: CompanyService;
  readonly dialPlans: DialPlanService;
  readonly feeds: FeedService;
  readonly simulations: SimulateService;
  readonly trunks: TrunkService;
  readonly trunkEvents: TrunkEventService;
  readonly webhooks: WebhookService;
  readonly webhookEndpoints: WebhookEndpointService;
}

/** The typed context of every GraphQL operation: who calls, and the services that do the work. */
export interface ApiContext {
  readonly actor: Actor;
  readonly services: Services;
  readonly logger: Logger;
}

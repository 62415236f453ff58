import { ApiKey } from './entities/api-key.entity';
import { CallLimits } from './entities/call-limits.entity';
import { CallRecord } from './entities/call-record.entity';
import { Carrier } from './entities/carrier.entity';
import { Company } from './entities/company.entity';
import { DialPlan } from './entities/dial-plan.entity';
import { Did } from './entities/did.entity';
import { OutboundGateway } from './entities/outbound-gateway.entity';
import { Registration } from './entities/registration.entity';
import { Trunk } from './entities/trunk.entity';
import { TrunkEvent } from './entities/trunk-event.entity';
import { TrunkHealth } from './entities/trunk-health.entity';
import { TrunkLoad } from './entities/trunk-load.entity';
import { WebhookAllowedNetworks } from './entities/webhook-allowed-networks.entity';
import { WebhookAttempt, WebhookDelivery } from './entities/webhook-delivery.entity';
import { WebhookEndpoint } from './entities/webhook-endpoint.entity';

export const ENTITIES = [
  ApiKey,
  CallLimits,
  CallRecord,
  Carrier,
  Company,
  DialPlan,
  Did,
  OutboundGateway,
  Registration,
  Trunk,
  TrunkEvent,
  TrunkHealth,
  TrunkLoad,
  WebhookAllowedNetworks,
  WebhookAttempt,
  WebhookDelivery,
  WebhookEndpoint,
];

import { DateTimeResolver } from 'graphql-scalars';
import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { TrunkEventType } from '../../domain/trunk-health';
import { WebhookDeliveryStatus } from '../../schema/entities/webhook-delivery.entity';
import type { WebhookEndpoint } from '../../schema/entities/webhook-endpoint.entity';
import { Connection } from '../pagination';
// Registers TrunkEventType, which the endpoint's events are.
import '../trunk-event/trunk-event.type';

registerEnumType(WebhookDeliveryStatus, { name: 'WebhookDeliveryStatus', description: 'PENDING until a 2xx answer (DELIVERED) or 24 h after the event (FAILED)' });

@ObjectType('WebhookEndpoint', { description: 'Where a company\'s trunk events are POSTed, signed (X-Signature). The secret is never shown again' })
export class WebhookEndpointType {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  companyId!: string;

  @Field(() => String)
  url!: string;

  @Field(() => [TrunkEventType])
  events!: TrunkEventType[];

  @Field(() => DateTimeResolver)
  createdAt!: Date;

  static from(endpoint: WebhookEndpoint): WebhookEndpointType {
    return Object.assign(new WebhookEndpointType(), {
      id: endpoint.id,
      companyId: endpoint.companyId,
      url: endpoint.url,
      events: endpoint.events as TrunkEventType[],
      createdAt: endpoint.createdAt,
    });
  }
}

@ObjectType('CreateWebhookEndpointPayload')
export class CreateWebhookEndpointPayload {
  @Field(() => WebhookEndpointType)
  endpoint!: WebhookEndpointType;

  @Field(() => String, { description: 'The HMAC-SHA256 key of X-Signature. Shown once: store it now' })
  secret!: string;
}

@ObjectType('WebhookAttempt', { description: 'One POST of a delivery: the HTTP status of the answer, or why none came' })
export class WebhookAttemptType {
  @Field(() => DateTimeResolver)
  at!: Date;

  @Field(() => Int, { nullable: true, description: 'The HTTP status answered; null when no answer came' })
  status!: number | null;

  @Field(() => String, { nullable: true, description: 'Why no answer came (REFUSED_DESTINATION, TIMEOUT, CONNECTION_FAILED, DNS_FAILED ...)' })
  error!: string | null;

  @Field(() => Int)
  latencyMs!: number;
}

@ObjectType('WebhookDelivery', { description: 'One trunk event on its way to one endpoint' })
export class WebhookDeliveryType {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  endpointId!: string;

  @Field(() => ID, { description: 'The trunk event\'s id, as in the POSTed body' })
  eventId!: string;

  @Field(() => WebhookDeliveryStatus)
  status!: WebhookDeliveryStatus;

  @Field(() => Int)
  attemptCount!: number;

  @Field(() => DateTimeResolver, { nullable: true, description: 'When the next attempt is due; null once DELIVERED or FAILED' })
  nextAttemptAt!: Date | null;

  @Field(() => DateTimeResolver)
  createdAt!: Date;

  @Field(() => [WebhookAttemptType], { description: 'Every attempt, oldest first' })
  attempts!: WebhookAttemptType[];
}

export const WebhookDeliveryConnection = Connection('WebhookDelivery', WebhookDeliveryType);

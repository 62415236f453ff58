import { randomBytes } from 'node:crypto';
import { In, IsNull, type DataSource, type EntityManager } from 'typeorm';
import { normaliseWebhook, webhookProblems } from '../../domain/webhook';
import { WebhookAllowedNetworks } from '../../schema/entities/webhook-allowed-networks.entity';
import { WebhookAttempt, WebhookDelivery, WebhookDeliveryStatus } from '../../schema/entities/webhook-delivery.entity';
import { WebhookEndpoint } from '../../schema/entities/webhook-endpoint.entity';
import type { Actor } from '../auth/actor';
import { findAccessibleCompany } from '../company/company.service';
import { badInput, notFound } from '../errors';
import { isId } from '../ids';
import { mapPage, paginate, type Page, type PageArgs } from '../pagination';
import { inTransaction } from '../transaction';
import type { CreateWebhookEndpointInput } from './webhook-endpoint.input';
import { CreateWebhookEndpointPayload, WebhookAttemptType, WebhookDeliveryType, WebhookEndpointType } from './webhook-endpoint.type';

/** Endpoints per company: enough for a panel, a ticketing system and a pager, not a fan-out service. */
export const MAX_WEBHOOK_ENDPOINTS_PER_COMPANY = 10;

/** `whsec_` and 32 random bytes: a prefix a secret scanner can recognise, and 256 bits of key. */
function generateSigningSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

/**
 * A company's webhook endpoints for trunk events, and the record of their deliveries. Deliveries
 * are queued by the database (a trigger on `trunk_event`) and posted by the dispatcher
 * (webhook-dispatcher.ts); this service only creates, lists and deletes endpoints and reads.
 */
export class WebhookEndpointService {
  constructor(private readonly dataSource: DataSource) {}

  async create(actor: Actor, input: CreateWebhookEndpointInput): Promise<CreateWebhookEndpointPayload> {
    return inTransaction(this.dataSource, async (manager) => {
      await findAccessibleCompany(manager, actor, input.companyId);
      const [networks] = await manager.find(WebhookAllowedNetworks);
      const problems = webhookProblems({ url: input.url }, 'input', networks === undefined ? [] : networks.cidrs);
      if (new Set(input.events).size !== input.events.length) problems.push('input.events: an event type is given twice');
      if (problems.length > 0) throw badInput(problems);
      // Under the company row's lock, so two creations cannot both pass the count.
      await manager.query('SELECT 1 FROM company WHERE id = $1 FOR UPDATE', [input.companyId]);
      const count = await manager.countBy(WebhookEndpoint, { companyId: input.companyId, deletedAt: IsNull() });
      if (count >= MAX_WEBHOOK_ENDPOINTS_PER_COMPANY) throw badInput([`input: at most ${MAX_WEBHOOK_ENDPOINTS_PER_COMPANY} webhook endpoints per company`]);
      const secret = generateSigningSecret();
      const endpoint = await manager.save(
        manager.create(WebhookEndpoint, { companyId: input.companyId, url: normaliseWebhook({ url: input.url }).url, events: [...input.events], secret, deletedAt: null }),
      );
      return Object.assign(new CreateWebhookEndpointPayload(), { endpoint: WebhookEndpointType.from(endpoint), secret });
    });
  }

  /** Stops deliveries to the endpoint: those still pending end FAILED. Returns the id. */
  async delete(actor: Actor, id: string): Promise<string> {
    return inTransaction(this.dataSource, async (manager) => {
      const endpoint = await this.findAccessible(manager, actor, id);
      await manager.update(WebhookEndpoint, { id: endpoint.id }, { deletedAt: () => 'clock_timestamp()' });
      await manager.update(
        WebhookDelivery,
        { endpointId: endpoint.id, status: WebhookDeliveryStatus.PENDING },
        { status: WebhookDeliveryStatus.FAILED, lastError: 'endpoint deleted' },
      );
      return id;
    });
  }

  async list(actor: Actor, companyId: string): Promise<WebhookEndpointType[]> {
    const manager = this.dataSource.manager;
    await findAccessibleCompany(manager, actor, companyId);
    const endpoints = await manager.find(WebhookEndpoint, { where: { companyId, deletedAt: IsNull() }, order: { createdAt: 'ASC', id: 'ASC' } });
    return endpoints.map((endpoint) => WebhookEndpointType.from(endpoint));
  }

  /** An endpoint's deliveries, newest first, each with every attempt. */
  async deliveries(actor: Actor, endpointId: string, page: PageArgs): Promise<Page<WebhookDeliveryType>> {
    const manager = this.dataSource.manager;
    const endpoint = await this.findAccessible(manager, actor, endpointId);
    const query = manager.getRepository(WebhookDelivery).createQueryBuilder('delivery').where('delivery.endpointId = :id', { id: endpoint.id });
    const deliveries = await paginate(query, page, { timeColumn: 'createdAt', direction: 'DESC' }, (delivery) => delivery);
    return mapPage(deliveries, (rows) => this.toTypes(manager, rows));
  }

  private async toTypes(manager: EntityManager, deliveries: readonly WebhookDelivery[]): Promise<WebhookDeliveryType[]> {
    const ids = deliveries.map((delivery) => delivery.id);
    const attempts = ids.length === 0 ? [] : await manager.find(WebhookAttempt, { where: { deliveryId: In(ids) }, order: { at: 'ASC', id: 'ASC' } });
    const byDelivery = new Map<string, WebhookAttemptType[]>();
    for (const attempt of attempts) {
      const list = byDelivery.get(attempt.deliveryId) ?? [];
      list.push(Object.assign(new WebhookAttemptType(), { at: attempt.at, status: attempt.httpStatus, error: attempt.error, latencyMs: attempt.latencyMs }));
      byDelivery.set(attempt.deliveryId, list);
    }
    return deliveries.map((delivery) =>
      Object.assign(new WebhookDeliveryType(), {
        id: delivery.id,
        endpointId: delivery.endpointId,
        eventId: delivery.eventId,
        status: delivery.status,
        attemptCount: delivery.attempts,
        nextAttemptAt: delivery.status === WebhookDeliveryStatus.PENDING ? delivery.nextAttemptAt : null,
        createdAt: delivery.createdAt,
        attempts: byDelivery.get(delivery.id) ?? [],
      }),
    );
  }

  /** A live endpoint the actor may see; other companies' and deleted ones answer NOT_FOUND alike. */
  private async findAccessible(manager: EntityManager, actor: Actor, id: string): Promise<WebhookEndpoint> {
    const endpoint = isId(id) ? await manager.findOneBy(WebhookEndpoint, { id, deletedAt: IsNull() }) : null;
    if (endpoint === null || (actor.kind === 'company' && endpoint.companyId !== actor.companyId)) throw notFound('WebhookEndpoint', id);
    return endpoint;
  }
}

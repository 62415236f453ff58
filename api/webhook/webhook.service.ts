import type { DataSource } from 'typeorm';
import { WebhookAllowedNetworks } from '../../schema/entities/webhook-allowed-networks.entity';
import type { Actor } from '../auth/actor';
import { canonicalCidrs } from '../cidrs';
import { badInput, forbidden } from '../errors';
import { inTransaction } from '../transaction';

/** As many networks as a carrier may list: an allow-list, not a routing table. */
export const MAX_WEBHOOK_ALLOWED_NETWORKS = 100;

function requireOperator(actor: Actor): void {
  if (actor.kind !== 'operator') throw forbidden('the networks webhooks may reach are managed by operators');
}

/**
 * The operator's webhook allow-list: networks a WEBHOOK step may reach besides public unicast
 * addresses (domain/network-policy.ts). Empty means public addresses only.
 */
export class WebhookService {
  constructor(private readonly dataSource: DataSource) {}

  /** Replaces the whole list; returns it as stored (canonical). */
  async setAllowedNetworks(actor: Actor, inputs: readonly string[]): Promise<string[]> {
    requireOperator(actor);
    if (inputs.length > MAX_WEBHOOK_ALLOWED_NETWORKS) throw badInput([`cidrs: at most ${MAX_WEBHOOK_ALLOWED_NETWORKS} networks`]);
    const cidrs = canonicalCidrs(inputs, 'cidrs');
    return inTransaction(this.dataSource, async (manager) => {
      const [existing] = await manager.find(WebhookAllowedNetworks, { lock: { mode: 'pessimistic_write' } });
      const row = existing ?? manager.create(WebhookAllowedNetworks, {});
      row.cidrs = cidrs;
      return [...(await manager.save(row)).cidrs];
    });
  }

  async allowedNetworks(actor: Actor): Promise<string[]> {
    requireOperator(actor);
    const [row] = await this.dataSource.getRepository(WebhookAllowedNetworks).find();
    return row === undefined ? [] : [...row.cidrs];
  }
}

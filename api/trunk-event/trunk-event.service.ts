import type { DataSource } from 'typeorm';
import { Trunk } from '../../schema/entities/trunk.entity';
import { TrunkEvent } from '../../schema/entities/trunk-event.entity';
import type { Actor } from '../auth/actor';
import { findAccessibleCompany } from '../company/company.service';
import { badInput, notFound } from '../errors';
import { isId } from '../ids';
import type { Page, PageArgs } from '../pagination';
import { TrunkEventObject } from './trunk-event.type';

/** The largest bigint PostgreSQL holds: an `after` past it names no event and cannot make the query fail. */
const MAX_EVENT_ID = 9_223_372_036_854_775_807n;

/**
 * An event's cursor is its id in decimal. Ids commit in increasing order (the inserting
 * transaction holds an advisory lock until it commits), so a client that kept the id of the last
 * event it saw continues from it with `after` and misses none.
 */
function afterId(after: string | null | undefined): string | null {
  if (after == null) return null;
  if (!/^\d{1,19}$/.test(after) || BigInt(after) > MAX_EVENT_ID) throw badInput(['after: not a cursor from this list']);
  return BigInt(after).toString();
}

function toObject(event: TrunkEvent): TrunkEventObject {
  return Object.assign(new TrunkEventObject(), {
    id: event.id,
    trunkId: event.trunkId,
    companyId: event.companyId,
    type: event.type,
    reason: event.reason,
    at: event.at,
  });
}

/** A company's trunk events, oldest first; a company key sees its own company's only. */
export class TrunkEventService {
  constructor(private readonly dataSource: DataSource) {}

  async list(actor: Actor, companyId: string, trunkId: string | null, page: PageArgs): Promise<Page<TrunkEventObject>> {
    const after = afterId(page.after);
    const manager = this.dataSource.manager;
    await findAccessibleCompany(manager, actor, companyId);
    const query = manager.getRepository(TrunkEvent).createQueryBuilder('event').where('event.companyId = :companyId', { companyId });
    if (trunkId !== null) {
      const trunk = isId(trunkId) ? await manager.findOneBy(Trunk, { id: trunkId, companyId }) : null;
      if (trunk === null) throw notFound('Trunk', trunkId);
      query.andWhere('event.trunkId = :trunkId', { trunkId });
    }
    if (after !== null) query.andWhere('event.id > :after::bigint', { after });
    const events = await query.orderBy('event.id', 'ASC').limit(page.first + 1).getMany();
    const edges = events.slice(0, page.first).map((event) => ({ cursor: event.id, node: toObject(event) }));
    return { edges, pageInfo: { hasNextPage: events.length > page.first, endCursor: edges.length > 0 ? edges[edges.length - 1].cursor : null } };
  }

  /**
   * Where a subscription to the company's events starts: after `after` when given, else after the
   * newest event now. Checks the cursor and the actor's scope, so nothing is sent on a refusal.
   */
  async feedStart(actor: Actor, companyId: string, after: string | null): Promise<string> {
    const start = afterId(after);
    await findAccessibleCompany(this.dataSource.manager, actor, companyId);
    if (start !== null) return start;
    const [row] = (await this.dataSource.query('SELECT coalesce(max(id), 0)::text AS id FROM trunk_event WHERE company_id = $1', [companyId])) as { id: string }[];
    return row.id;
  }

  /** The company's events with an id over `fromId`, oldest first, at most `limit`; the caller checked the scope. */
  async eventsAfter(companyId: string, fromId: string, limit: number): Promise<TrunkEventObject[]> {
    const events = await this.dataSource
      .getRepository(TrunkEvent)
      .createQueryBuilder('event')
      .where('event.companyId = :companyId', { companyId })
      .andWhere('event.id > :after::bigint', { after: fromId })
      .orderBy('event.id', 'ASC')
      .limit(limit)
      .getMany();
    return events.map(toObject);
  }
}

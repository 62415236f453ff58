import { In, type DataSource, type EntityManager } from 'typeorm';
import { DialPlan } from '../../schema/entities/dial-plan.entity';
import { currentBindingOrder } from '../../domain/registration';
import { Registration } from '../../schema/entities/registration.entity';
import { Trunk } from '../../schema/entities/trunk.entity';
import { hasControlCharacter } from '../../domain/control-characters';
import { computeHa1, DigestAlgorithm } from '../../domain/digest';
import { quoteInput } from '../../domain/quote-input';
import type { Actor } from '../auth/actor';
import { findAccessibleCompany } from '../company/company.service';
import { findDialPlansByIds } from '../dial-plan/dial-plan.service';
import { badInput, notFound, translateConstraintError } from '../errors';
import { isId } from '../ids';
import { checkName } from '../names';
import { normaliseNumbers, numbersOf, replaceNumbers } from '../numbers';
import { listScope, mapPage, paginate, type Page, type PageArgs } from '../pagination';
import { inTransaction } from '../transaction';
import { FailoverSettingsType, RegistrationType, TrunkType } from './trunk.type';
import { applyHealthCheck, defaultHealthCheck, healthCheckOf, healthOf } from './trunk-health';
import { trunkStatusOf, type TrunkStatusType } from './trunk-status.type';
import type { CreateTrunkInput, FailoverSettingsInput, UpdateTrunkInput } from './trunk.input';
import type { TrunkHealthType } from './trunk-health.type';

export const FAILOVER_DEFAULTS = {
  noProvisionalTimeoutSeconds: 15,
  triggerStatusCodes: Array.from({ length: 100 }, (_, index) => 500 + index),
  digestAlgorithms: [DigestAlgorithm.MD5, DigestAlgorithm.SHA256],
} as const;

/** A SIP node's load report older than this is from a node that stopped: it no longer counts. */
const LOAD_REPORT_FRESHNESS = '5 seconds';

const CONSTRAINTS = {
  trunk_sip_username_key: 'the SIP username is used by another trunk',
  trunk_failover_dial_plan_fkey: 'the failover dial plan was deleted meanwhile',
};

const SIP_USERNAME = /^[A-Za-z0-9._-]{3,64}$/;

function checkSipUsername(username: string): string {
  if (!SIP_USERNAME.test(username)) throw badInput([`sipUsername: ${quoteInput(username)} must be 3..64 of A-Z a-z 0-9 . _ -`]);
  return username;
}

function checkPassword(password: string): void {
  // Control characters cannot be typed into a PBX's settings and break digest computations.
  if (hasControlCharacter(password)) throw badInput(['sipPassword must not contain control characters']);
}

function checkAlgorithms(algorithms: readonly DigestAlgorithm[]): DigestAlgorithm[] {
  if (new Set(algorithms).size !== algorithms.length) throw badInput(['digestAlgorithms: each algorithm at most once']);
  return [...algorithms];
}

interface Credentials {
  readonly sipUsername: string;
  readonly digestRealm: string;
  readonly ha1Md5: string;
  readonly ha1Sha256: string;
}

export class TrunkService {
  /** `realm` is the SIP realm the hashes are computed for (`SIP_REALM`). */
  constructor(
    private readonly dataSource: DataSource,
    private readonly realm: string,
  ) {}

  private credentials(sipUsername: string, password: string): Credentials {
    checkPassword(password);
    return {
      sipUsername,
      digestRealm: this.realm,
      ha1Md5: computeHa1(DigestAlgorithm.MD5, sipUsername, this.realm, password),
      ha1Sha256: computeHa1(DigestAlgorithm.SHA256, sipUsername, this.realm, password),
    };
  }

  /** Applies a partial failover input to the trunk, checking the dial plan is the trunk's company's. */
  private async applyFailover(manager: EntityManager, trunk: Trunk, input: FailoverSettingsInput | null | undefined): Promise<void> {
    if (input != null) {
      if (input.enabled != null) trunk.failoverEnabled = input.enabled;
      if (input.noProvisionalTimeoutSeconds != null) trunk.noProvisionalTimeoutSeconds = input.noProvisionalTimeoutSeconds;
      if (input.triggerStatusCodes != null) trunk.triggerStatusCodes = [...new Set(input.triggerStatusCodes)].sort((a, b) => a - b);
      if (input.dialPlanId !== undefined) {
        const id = input.dialPlanId;
        if (id !== null) {
          const plan = isId(id) ? await manager.findOneBy(DialPlan, { id, companyId: trunk.companyId }) : null;
          if (plan === null) throw notFound('DialPlan', id);
        }
        trunk.failoverDialPlanId = id;
      }
    }
    if (trunk.failoverEnabled && trunk.failoverDialPlanId === null) {
      throw badInput(['failover.dialPlanId: failover needs a dial plan to be enabled']);
    }
  }

  async create(actor: Actor, input: CreateTrunkInput): Promise<TrunkType> {
    const name = checkName(input.name) as string;
    const credentials = this.credentials(checkSipUsername(input.sipUsername), input.sipPassword);
    const numbers = normaliseNumbers(input.inboundNumbers, 'inboundNumbers');
    const digestAlgorithms = checkAlgorithms(input.digestAlgorithms ?? FAILOVER_DEFAULTS.digestAlgorithms);
    try {
      return await inTransaction(this.dataSource, async (manager) => {
        await findAccessibleCompany(manager, actor, input.companyId);
        const trunk = manager.create(Trunk, {
          companyId: input.companyId,
          name,
          ...credentials,
          digestAlgorithms,
          maxConcurrentCalls: input.maxConcurrentCalls,
          failoverEnabled: false,
          failoverDialPlanId: null,
          noProvisionalTimeoutSeconds: FAILOVER_DEFAULTS.noProvisionalTimeoutSeconds,
          triggerStatusCodes: [...FAILOVER_DEFAULTS.triggerStatusCodes],
          ...defaultHealthCheck(),
        });
        await this.applyFailover(manager, trunk, input.failover);
        applyHealthCheck(trunk, input.healthCheck);
        const saved = await manager.save(trunk);
        await replaceNumbers(manager, { trunkId: saved.id }, numbers);
        return this.toType(manager, saved);
      });
    } catch (error) {
      translateConstraintError(error, CONSTRAINTS);
    }
  }

  async update(actor: Actor, id: string, input: UpdateTrunkInput): Promise<TrunkType> {
    const name = checkName(input.name);
    const numbers = input.inboundNumbers == null ? undefined : normaliseNumbers(input.inboundNumbers, 'inboundNumbers');
    const digestAlgorithms = input.digestAlgorithms == null ? undefined : checkAlgorithms(input.digestAlgorithms);
    try {
      return await inTransaction(this.dataSource, async (manager) => {
        const trunk = await this.findAccessible(manager, actor, id);
        const sipUsername = input.sipUsername == null ? trunk.sipUsername : checkSipUsername(input.sipUsername);
        if (sipUsername !== trunk.sipUsername && input.sipPassword == null) {
          // HA1 = H(username:realm:password): a new username invalidates the stored hashes.
          throw badInput(['sipPassword: a new sipUsername needs the sipPassword too']);
        }
        if (input.sipPassword != null) Object.assign(trunk, this.credentials(sipUsername, input.sipPassword));
        if (name !== undefined) trunk.name = name;
        if (input.maxConcurrentCalls != null) trunk.maxConcurrentCalls = input.maxConcurrentCalls;
        if (digestAlgorithms !== undefined) trunk.digestAlgorithms = digestAlgorithms;
        await this.applyFailover(manager, trunk, input.failover);
        applyHealthCheck(trunk, input.healthCheck);
        const saved = await manager.save(trunk);
        if (numbers !== undefined) await replaceNumbers(manager, { trunkId: trunk.id }, numbers);
        return this.toType(manager, saved);
      });
    } catch (error) {
      translateConstraintError(error, CONSTRAINTS);
    }
  }

  /** Deletes the trunk with its numbers and registrations; its call records stay, without the trunk. */
  async delete(actor: Actor, id: string): Promise<string> {
    return inTransaction(this.dataSource, async (manager) => {
      const trunk = await this.findAccessible(manager, actor, id);
      await manager.delete(Trunk, { id: trunk.id });
      return id;
    });
  }

  async get(actor: Actor, id: string): Promise<TrunkType> {
    const manager = this.dataSource.manager;
    return this.toType(manager, await this.findAccessible(manager, actor, id));
  }

  /** The trunk's live status, read the way `Trunk.registration`, `Trunk.health` and `Trunk.activeCalls` are. */
  async status(actor: Actor, id: string): Promise<TrunkStatusType> {
    const manager = this.dataSource.manager;
    const trunk = await this.findAccessible(manager, actor, id);
    const [registrations, loads, health] = await Promise.all([
      this.currentRegistrations(manager, [trunk.id]),
      this.activeCalls(manager, [trunk.id]),
      healthOf(manager, [trunk]),
    ]);
    return trunkStatusOf(trunk.id, registrations.get(trunk.id) ?? null, health.get(trunk.id) as TrunkHealthType, loads.get(trunk.id) ?? 0);
  }

  /** One company's trunks; without companyId, the actor's company (or every company, for operators). */
  async list(actor: Actor, companyId: string | null, page: PageArgs): Promise<Page<TrunkType>> {
    const manager = this.dataSource.manager;
    if (companyId !== null) await findAccessibleCompany(manager, actor, companyId);
    const scope = listScope(actor, companyId);
    const query = manager.getRepository(Trunk).createQueryBuilder('trunk');
    if (scope !== null) query.where('trunk.companyId = :scope', { scope });
    return mapPage(await paginate(query, page, { timeColumn: 'createdAt', direction: 'ASC' }, (trunk) => trunk), (trunks) => this.toTypes(manager, trunks));
  }

  private async findAccessible(manager: EntityManager, actor: Actor, id: string): Promise<Trunk> {
    const trunk = isId(id) ? await manager.findOneBy(Trunk, { id }) : null;
    if (trunk === null || (actor.kind === 'company' && trunk.companyId !== actor.companyId)) throw notFound('Trunk', id);
    return trunk;
  }

  private async toType(manager: EntityManager, trunk: Trunk): Promise<TrunkType> {
    const [type] = await this.toTypes(manager, [trunk]);
    return type;
  }

  /** The public types of many trunks, with numbers, dial plans, registrations, health and live load batched. */
  private async toTypes(manager: EntityManager, trunks: readonly Trunk[]): Promise<TrunkType[]> {
    const ids = trunks.map((trunk) => trunk.id);
    // Sequential: inside a transaction the manager holds one connection, which runs one query at a time.
    const numbers = await numbersOf(manager, 'trunkId', ids);
    const plans = await findDialPlansByIds(manager, trunks.flatMap((trunk) => (trunk.failoverDialPlanId === null ? [] : [trunk.failoverDialPlanId])));
    const registrations = await this.currentRegistrations(manager, ids);
    const loads = await this.activeCalls(manager, ids);
    const health = await healthOf(manager, trunks);
    return trunks.map((trunk) =>
      Object.assign(new TrunkType(), {
        id: trunk.id,
        companyId: trunk.companyId,
        name: trunk.name,
        sipUsername: trunk.sipUsername,
        inboundNumbers: numbers.get(trunk.id) ?? [],
        maxConcurrentCalls: trunk.maxConcurrentCalls,
        digestAlgorithms: trunk.digestAlgorithms,
        failover: Object.assign(new FailoverSettingsType(), {
          enabled: trunk.failoverEnabled,
          dialPlan: trunk.failoverDialPlanId === null ? null : (plans.get(trunk.failoverDialPlanId) ?? null),
          noProvisionalTimeoutSeconds: trunk.noProvisionalTimeoutSeconds,
          triggerStatusCodes: trunk.triggerStatusCodes,
        }),
        healthCheck: healthCheckOf(trunk),
        health: health.get(trunk.id),
        registration: registrations.get(trunk.id) ?? null,
        activeCalls: loads.get(trunk.id) ?? 0,
        createdAt: trunk.createdAt,
        updatedAt: trunk.updatedAt,
      }),
    );
  }

  /** The current binding of each trunk: the unexpired one refreshed last, as routing picks it (domain/registration.ts). */
  private async currentRegistrations(manager: EntityManager, ids: readonly string[]): Promise<Map<string, RegistrationType>> {
    if (ids.length === 0) return new Map();
    const query = manager
      .getRepository(Registration)
      .createQueryBuilder('registration')
      .distinctOn(['registration.trunkId'])
      .where({ trunkId: In([...ids]) })
      .andWhere('registration.expiresAt > now()')
      .orderBy('registration.trunkId');
    for (const [expression, direction] of currentBindingOrder('registration')) query.addOrderBy(expression, direction);
    const rows = await query.getMany();
    return new Map(
      rows.map((row) => [
        row.trunkId,
        Object.assign(new RegistrationType(), {
          contact: row.contact,
          sourceAddress: `${row.sourceAddress.includes(':') ? `[${row.sourceAddress}]` : row.sourceAddress}:${row.sourcePort}`,
          expiresAt: row.expiresAt,
          userAgent: row.userAgent,
        }),
      ]),
    );
  }

  /** Live calls per trunk, summed over the SIP nodes whose reports are fresh. */
  private async activeCalls(manager: EntityManager, ids: readonly string[]): Promise<Map<string, number>> {
    if (ids.length === 0) return new Map();
    const rows: { trunk_id: string; calls: string }[] = await manager.query(
      `SELECT trunk_id, sum(active_calls)::text AS calls FROM trunk_load
       WHERE trunk_id = ANY($1::uuid[]) AND reported_at > now() - interval '${LOAD_REPORT_FRESHNESS}'
       GROUP BY trunk_id`,
      [ids],
    );
    return new Map(rows.map((row) => [row.trunk_id, Number(row.calls)]));
  }
}

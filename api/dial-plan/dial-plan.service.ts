import { In, type DataSource, type EntityManager } from 'typeorm';
import { DialPlan } from '../../schema/entities/dial-plan.entity';
import { Trunk } from '../../schema/entities/trunk.entity';
import { WebhookAllowedNetworks } from '../../schema/entities/webhook-allowed-networks.entity';
import { trunkTargetId } from '../../domain/flow/apps/ring-group';
import { DialPlanApp, validateFlow, type Flow, type FlowContext, type FlowDraft } from '../../domain/flow/flow';
import type { Actor } from '../auth/actor';
import { findAccessibleCompany } from '../company/company.service';
import { badInput, conflict, notFound, translateConstraintError } from '../errors';
import { isId } from '../ids';
import { checkName } from '../names';
import { normaliseNumbers, numbersOf, replaceNumbers } from '../numbers';
import { listScope, mapPage, paginate, type Page, type PageArgs } from '../pagination';
import { inTransaction } from '../transaction';
import { DialPlanType, type FlowType } from './dial-plan.type';
import type { CreateDialPlanInput, FlowInput, UpdateDialPlanInput } from './dial-plan.input';

const CONSTRAINTS = {
  dial_plan_internal_number_key: 'the internal number is used by another dial plan of this company',
  trunk_failover_dial_plan_fkey: 'the dial plan is used for failover by a trunk',
};

function checkFlow(input: FlowInput, context: FlowContext): Flow {
  const result = validateFlow(input as FlowDraft, context);
  if (!result.ok) throw badInput(result.problems);
  return result.flow;
}

/** What a flow is checked against, read as it is saved: the operator's webhook networks, only when a step needs them. */
async function flowContext(manager: EntityManager, input: FlowInput): Promise<FlowContext> {
  if (!input.steps.some((step) => step.app === DialPlanApp.WEBHOOK)) return { webhookAllowedNetworks: [] };
  const [row] = await manager.find(WebhookAllowedNetworks);
  return { webhookAllowedNetworks: row === undefined ? [] : [...row.cidrs] };
}

/**
 * A webhook secret is write-only, so a client updating a flow cannot send it back: a WEBHOOK
 * step whose secret is left out keeps the secret of the stored step with the same id (null
 * removes it).
 */
function keepWebhookSecrets(flow: Flow, input: FlowInput, stored: Flow): Flow {
  const omitted = new Set(input.steps.filter((step) => step.webhook != null && step.webhook.secret === undefined).map((step) => step.id));
  const secrets = new Map<string, string>();
  for (const step of stored.steps) {
    if (step.app === DialPlanApp.WEBHOOK && step.webhook.secret !== null && omitted.has(step.id)) secrets.set(step.id, step.webhook.secret);
  }
  if (secrets.size === 0) return flow;
  return {
    ...flow,
    steps: flow.steps.map((step) => {
      const secret = secrets.get(step.id);
      return step.app === DialPlanApp.WEBHOOK && secret !== undefined ? { ...step, webhook: { ...step.webhook, secret } } : step;
    }),
  };
}

/** A ring group may ring another trunk of the plan's company only: any other id is answered as unknown, as the failover plan id is. */
async function checkTrunkTargets(manager: EntityManager, companyId: string, flow: Flow): Promise<void> {
  const ids = new Set<string>();
  for (const step of flow.steps) {
    if (step.app !== DialPlanApp.RING_GROUP) continue;
    for (const { target } of step.ringGroup.targets) {
      const trunkId = trunkTargetId(target);
      if (trunkId !== null) ids.add(trunkId);
    }
  }
  if (ids.size === 0) return;
  const found = new Set((await manager.find(Trunk, { where: { id: In([...ids]), companyId }, select: { id: true } })).map((trunk) => trunk.id));
  const missing = [...ids].find((id) => !found.has(id));
  if (missing !== undefined) throw notFound('Trunk', missing);
}

/** The flow as the API shows it: a webhook's secret never leaves, only whether it is set. */
function publicFlow(flow: Flow): FlowType {
  const steps = flow.steps.map((step) => {
    if (step.app !== DialPlanApp.WEBHOOK) return step;
    const { secret, ...shown } = step.webhook;
    return { ...step, webhook: { ...shown, signed: secret !== null } };
  });
  return { ...flow, steps } as unknown as FlowType;
}

function externalNumbers(externalNumber: string | null | undefined): string[] | undefined {
  if (externalNumber === undefined) return undefined;
  return externalNumber === null ? [] : normaliseNumbers([externalNumber], 'externalNumber');
}

/** Builds the public types of many dial plans with their external numbers in one query. */
export async function toDialPlanTypes(manager: EntityManager, plans: readonly DialPlan[]): Promise<DialPlanType[]> {
  const numbers = await numbersOf(manager, 'dialPlanId', plans.map((plan) => plan.id));
  return plans.map((plan) =>
    Object.assign(new DialPlanType(), {
      id: plan.id,
      companyId: plan.companyId,
      name: plan.name,
      internalNumber: plan.internalNumber,
      externalNumber: numbers.get(plan.id)?.[0] ?? null,
      flow: publicFlow(plan.flow),
      createdAt: plan.createdAt,
      updatedAt: plan.updatedAt,
    }),
  );
}

export async function findDialPlansByIds(manager: EntityManager, ids: readonly string[]): Promise<Map<string, DialPlanType>> {
  if (ids.length === 0) return new Map();
  const plans = await manager.findBy(DialPlan, { id: In([...new Set(ids)]) });
  return new Map((await toDialPlanTypes(manager, plans)).map((plan) => [plan.id, plan]));
}

export class DialPlanService {
  constructor(private readonly dataSource: DataSource) {}

  private async findAccessible(manager: EntityManager, actor: Actor, id: string): Promise<DialPlan> {
    const plan = isId(id) ? await manager.findOneBy(DialPlan, { id }) : null;
    if (plan === null || (actor.kind === 'company' && plan.companyId !== actor.companyId)) throw notFound('DialPlan', id);
    return plan;
  }

  private async toType(manager: EntityManager, plan: DialPlan): Promise<DialPlanType> {
    const [type] = await toDialPlanTypes(manager, [plan]);
    return type;
  }

  async create(actor: Actor, input: CreateDialPlanInput): Promise<DialPlanType> {
    const name = checkName(input.name) as string;
    const flow = checkFlow(input.flow, await flowContext(this.dataSource.manager, input.flow));
    const numbers = externalNumbers(input.externalNumber) ?? [];
    try {
      return await inTransaction(this.dataSource, async (manager) => {
        await findAccessibleCompany(manager, actor, input.companyId);
        await checkTrunkTargets(manager, input.companyId, flow);
        const plan = await manager.save(manager.create(DialPlan, { companyId: input.companyId, name, internalNumber: input.internalNumber, flow }));
        await replaceNumbers(manager, { dialPlanId: plan.id }, numbers);
        return this.toType(manager, plan);
      });
    } catch (error) {
      translateConstraintError(error, CONSTRAINTS);
    }
  }

  async update(actor: Actor, id: string, input: UpdateDialPlanInput): Promise<DialPlanType> {
    const name = checkName(input.name);
    const flow = input.flow == null ? undefined : checkFlow(input.flow, await flowContext(this.dataSource.manager, input.flow));
    const numbers = externalNumbers(input.externalNumber);
    try {
      return await inTransaction(this.dataSource, async (manager) => {
        const plan = await this.findAccessible(manager, actor, id);
        if (name !== undefined) plan.name = name;
        if (input.internalNumber != null) plan.internalNumber = input.internalNumber;
        if (flow !== undefined) await checkTrunkTargets(manager, plan.companyId, flow);
        if (flow !== undefined) plan.flow = keepWebhookSecrets(flow, input.flow as FlowInput, plan.flow);
        const saved = await manager.save(plan);
        if (numbers !== undefined) await replaceNumbers(manager, { dialPlanId: plan.id }, numbers);
        return this.toType(manager, saved);
      });
    } catch (error) {
      translateConstraintError(error, CONSTRAINTS);
    }
  }

  /** Refused with CONFLICT while a trunk uses the dial plan for failover. */
  async delete(actor: Actor, id: string): Promise<string> {
    try {
      return await inTransaction(this.dataSource, async (manager) => {
        const plan = await this.findAccessible(manager, actor, id);
        const users = await manager.find(Trunk, { where: { failoverDialPlanId: plan.id }, select: { id: true, name: true } });
        if (users.length > 0) {
          throw conflict(`the dial plan is used for failover by trunk ${users.map((trunk) => `"${trunk.name}" (${trunk.id})`).join(', ')}`);
        }
        await manager.delete(DialPlan, { id: plan.id });
        return id;
      });
    } catch (error) {
      translateConstraintError(error, CONSTRAINTS);
    }
  }

  async get(actor: Actor, id: string): Promise<DialPlanType> {
    const manager = this.dataSource.manager;
    return this.toType(manager, await this.findAccessible(manager, actor, id));
  }

  /** One company's dial plans; without companyId, the actor's company (or every company, for operators). */
  async list(actor: Actor, companyId: string | null, page: PageArgs): Promise<Page<DialPlanType>> {
    const manager = this.dataSource.manager;
    if (companyId !== null) await findAccessibleCompany(manager, actor, companyId);
    const scope = listScope(actor, companyId);
    const query = manager.getRepository(DialPlan).createQueryBuilder('plan');
    if (scope !== null) query.where('plan.companyId = :scope', { scope });
    return mapPage(await paginate(query, page, { timeColumn: 'createdAt', direction: 'ASC' }, (plan) => plan), (plans) => toDialPlanTypes(manager, plans));
  }
}

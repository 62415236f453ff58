import { In, type DataSource, type EntityManager } from 'typeorm';
import { DialPlan } from '../../schema/entities/dial-plan.entity';
import { Trunk } from '../../schema/entities/trunk.entity';
import { WebhookAllowedNetworks } from '../../schema/entities/webhook-allowed-networks.entity';
import { trunkTargetId } from '../../domain/flow/apps/ring-group';
import { DialPlanApp, stepsPresentingPlanNumber, validateFlow, type Flow, type FlowContext, type FlowDraft } from '../../domain/flow/flow';
import { quoteInput } from '../../domain/quote-input';
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

/** The GOTO_DIAL_PLAN targets of a flow, each with the path of the field naming it. */
function gotoTargets(flow: Flow): { at: string; dialPlanId: string }[] {
  return flow.steps.flatMap((step, index) =>
    step.app === DialPlanApp.GOTO_DIAL_PLAN ? [{ at: `flow.steps[${index}].gotoDialPlan.dialPlanId`, dialPlanId: step.gotoDialPlan.dialPlanId }] : [],
  );
}

/** A path of goto edges from `start` back to itself (start first and last), or null. */
function cycleThrough(start: string, edges: ReadonlyMap<string, readonly string[]>): string[] | null {
  const seen = new Set<string>();
  const path: string[] = [start];
  const visit = (id: string): boolean => {
    for (const target of edges.get(id) ?? []) {
      if (target === start) {
        path.push(target);
        return true;
      }
      if (seen.has(target)) continue;
      seen.add(target);
      path.push(target);
      if (visit(target)) return true;
      path.pop();
    }
    return false;
  };
  return visit(start) ? path : null;
}

/**
 * Serialises the changes of one company's goto graph (saving a flow with gotos, deleting a plan):
 * two concurrent updates could otherwise each see no cycle and together close one, or a plan be
 * deleted while another is saved with a goto to it. NO KEY UPDATE leaves the company's foreign
 * key checks (KEY SHARE) free.
 */
async function lockGotoGraph(manager: EntityManager, companyId: string): Promise<void> {
  await manager.query('SELECT 1 FROM company WHERE id = $1 FOR NO KEY UPDATE', [companyId]);
}

/**
 * Checks a flow's goto targets: each a dial plan of the company (NOT_FOUND otherwise, as for a
 * trunk's failover plan), and no cycle of plans through `planId` (null: a plan being created,
 * which nothing can target yet). The problem names every plan of the cycle.
 */
async function checkGotos(manager: EntityManager, companyId: string, planId: string | null, flow: Flow): Promise<void> {
  const targets = gotoTargets(flow);
  if (targets.length === 0) return;
  await lockGotoGraph(manager, companyId);
  const plans = await manager.find(DialPlan, { where: { companyId }, select: { id: true, name: true, flow: true } });
  const byId = new Map(plans.map((plan) => [plan.id, plan]));
  for (const target of targets) if (!byId.has(target.dialPlanId)) throw notFound('DialPlan', target.dialPlanId);
  if (planId === null) return;
  const edges = new Map(plans.map((plan) => [plan.id, gotoTargets(plan.flow).map((target) => target.dialPlanId)]));
  edges.set(planId, targets.map((target) => target.dialPlanId));
  const cycle = cycleThrough(planId, edges);
  if (cycle === null) return;
  const at = targets.find((target) => target.dialPlanId === cycle[1])?.at ?? 'flow';
  const names = cycle.map((id) => `${quoteInput(byId.get(id)?.name ?? id)} (${id})`);
  throw badInput([`${at}: GOTO_DIAL_PLAN steps would make a cycle of dial plans: ${names.join(' -> ')}`]);
}

/**
 * FORWARD steps presenting the plan's number need the plan to have one: refused at save time
 * (with the steps named), whether the flow gains such a step or the number is being removed.
 */
function checkPlanNumberPresented(flow: Flow, numbers: readonly string[], removing: boolean): void {
  if (numbers.length > 0) return;
  const steps = stepsPresentingPlanNumber(flow);
  if (steps.length === 0) return;
  throw badInput(
    removing
      ? steps.map((step) => `externalNumber: cannot be removed while ${step} forwards presenting it (forward.callerId DIAL_PLAN_NUMBER)`)
      : steps.map((step) => `${step}.forward.callerId: DIAL_PLAN_NUMBER needs the dial plan to have an externalNumber`),
  );
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
    checkPlanNumberPresented(flow, numbers, false);
    try {
      return await inTransaction(this.dataSource, async (manager) => {
        await findAccessibleCompany(manager, actor, input.companyId);
        await checkGotos(manager, input.companyId, null, flow);
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
        const numbersAfter = numbers ?? (await numbersOf(manager, 'dialPlanId', [plan.id])).get(plan.id) ?? [];
        checkPlanNumberPresented(flow ?? plan.flow, numbersAfter, flow === undefined);
        if (name !== undefined) plan.name = name;
        if (input.internalNumber != null) plan.internalNumber = input.internalNumber;
        if (flow !== undefined) {
          await checkGotos(manager, plan.companyId, plan.id, flow);
          await checkTrunkTargets(manager, plan.companyId, flow);
          plan.flow = keepWebhookSecrets(flow, input.flow as FlowInput, plan.flow);
        }
        const saved = await manager.save(plan);
        if (numbers !== undefined) await replaceNumbers(manager, { dialPlanId: plan.id }, numbers);
        return this.toType(manager, saved);
      });
    } catch (error) {
      translateConstraintError(error, CONSTRAINTS);
    }
  }

  /** Refused with CONFLICT while a trunk uses the dial plan for failover or another plan's GOTO_DIAL_PLAN targets it. */
  async delete(actor: Actor, id: string): Promise<string> {
    try {
      return await inTransaction(this.dataSource, async (manager) => {
        const plan = await this.findAccessible(manager, actor, id);
        const users = await manager.find(Trunk, { where: { failoverDialPlanId: plan.id }, select: { id: true, name: true } });
        if (users.length > 0) {
          throw conflict(`the dial plan is used for failover by trunk ${users.map((trunk) => `"${trunk.name}" (${trunk.id})`).join(', ')}`);
        }
        await lockGotoGraph(manager, plan.companyId);
        const sources = await manager
          .createQueryBuilder(DialPlan, 'source')
          .select(['source.id', 'source.name'])
          .where('source.companyId = :companyId', { companyId: plan.companyId })
          .andWhere('source.id <> :id', { id: plan.id })
          .andWhere(`source.flow -> 'steps' @> CAST(:needle AS jsonb)`, { needle: JSON.stringify([{ gotoDialPlan: { dialPlanId: plan.id } }]) })
          .getMany();
        if (sources.length > 0) {
          throw conflict(`the dial plan is the target of a GOTO_DIAL_PLAN step in dial plan ${sources.map((source) => `${quoteInput(source.name)} (${source.id})`).join(', ')}`);
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

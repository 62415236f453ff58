import { In, type DataSource, type EntityManager } from 'typeorm';
import { DialPlan } from '../../schema/entities/dial-plan.entity';
import { Trunk } from '../../schema/entities/trunk.entity';
import { stepsPresentingPlanNumber, validateFlow, type Flow, type FlowDraft } from '../../domain/flow/flow';
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

function checkFlow(input: FlowInput): Flow {
  const result = validateFlow(input as FlowDraft);
  if (!result.ok) throw badInput(result.problems);
  return result.flow;
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
      flow: plan.flow as unknown as FlowType,
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
    const flow = checkFlow(input.flow);
    const numbers = externalNumbers(input.externalNumber) ?? [];
    checkPlanNumberPresented(flow, numbers, false);
    try {
      return await inTransaction(this.dataSource, async (manager) => {
        await findAccessibleCompany(manager, actor, input.companyId);
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
    const flow = input.flow == null ? undefined : checkFlow(input.flow);
    const numbers = externalNumbers(input.externalNumber);
    try {
      return await inTransaction(this.dataSource, async (manager) => {
        const plan = await this.findAccessible(manager, actor, id);
        const numbersAfter = numbers ?? (await numbersOf(manager, 'dialPlanId', [plan.id])).get(plan.id) ?? [];
        checkPlanNumberPresented(flow ?? plan.flow, numbersAfter, flow === undefined);
        if (name !== undefined) plan.name = name;
        if (input.internalNumber != null) plan.internalNumber = input.internalNumber;
        if (flow !== undefined) plan.flow = flow;
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

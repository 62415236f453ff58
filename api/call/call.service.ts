import { In, type DataSource } from 'typeorm';
import { CallRecord } from '../../schema/entities/call-record.entity';
import { Trunk } from '../../schema/entities/trunk.entity';
import type { Actor } from '../auth/actor';
import { notFound } from '../errors';
import { isId } from '../ids';
import { paginate, type Page, type PageArgs } from '../pagination';
import { CallAttemptType, CallRecordType, CallStepType } from './call.type';
import type { CallFilterInput } from './call.input';

function toDate(value: string | null): Date | null {
  return value === null ? null : new Date(value);
}

/** Call records, newest first; a company key sees its company's calls only. */
export class CallService {
  constructor(private readonly dataSource: DataSource) {}

  async list(actor: Actor, filter: CallFilterInput | null, page: PageArgs): Promise<Page<CallRecordType>> {
    const manager = this.dataSource.manager;
    const query = manager.getRepository(CallRecord).createQueryBuilder('call');
    if (actor.kind === 'company') query.andWhere('call.companyId = :companyId', { companyId: actor.companyId });
    const trunkId = filter?.trunkId ?? null;
    if (trunkId !== null) {
      const trunk = isId(trunkId) ? await manager.findOneBy(Trunk, { id: trunkId }) : null;
      if (trunk === null || (actor.kind === 'company' && trunk.companyId !== actor.companyId)) throw notFound('Trunk', trunkId);
      query.andWhere('call.trunkId = :trunkId', { trunkId });
    }
    if (filter?.outcome != null) query.andWhere('call.outcome = :outcome', { outcome: filter.outcome });
    const result = await paginate(query, page, { timeColumn: 'startedAt', direction: 'DESC' }, (record) => record);
    const trunkIds = [...new Set(result.edges.flatMap((edge) => (edge.node.trunkId === null ? [] : [edge.node.trunkId])))];
    const trunks = new Map(
      trunkIds.length === 0
        ? []
        : (await manager.find(Trunk, { where: { id: In(trunkIds) }, select: { id: true, name: true } })).map((trunk) => [trunk.id, trunk]),
    );
    return {
      pageInfo: result.pageInfo,
      edges: result.edges.map(({ cursor, node: record }) => {
        const trunk = record.trunkId === null ? undefined : trunks.get(record.trunkId);
        return {
          cursor,
          node: Object.assign(new CallRecordType(), {
            id: record.id,
            callId: record.callId,
            trunk: trunk === undefined ? null : { id: trunk.id, name: trunk.name },
            did: record.did,
            dialled: record.dialled,
            caller: record.caller,
            startedAt: record.startedAt,
            endedAt: record.endedAt,
            outcome: record.outcome,
            failoverReason: record.failoverReason,
            finalStatus: record.finalStatus,
            attempts: record.attempts.map((attempt) =>
              Object.assign(new CallAttemptType(), {
                target: attempt.target,
                status: attempt.status,
                startedAt: new Date(attempt.startedAt),
                firstResponseAt: toDate(attempt.firstResponseAt),
                endedAt: toDate(attempt.endedAt),
              }),
            ),
            steps: record.steps.map((step) =>
              Object.assign(new CallStepType(), { dialPlanId: step.dialPlanId, stepId: step.stepId, app: step.app, exit: step.exit, at: new Date(step.at) }),
            ),
            worker: record.worker,
          }),
        };
      }),
    };
  }
}

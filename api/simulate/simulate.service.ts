import type { DataSource, EntityManager } from 'typeorm';
import { DEFAULT_MAX_CALL_LENGTH_SECONDS } from '../../domain/call-limits';
import { hasControlCharacter } from '../../domain/control-characters';
import { toE164 } from '../../domain/phone-number';
import { decodeUserPart } from '../../domain/sip-uri';
import { newestFirst } from '../../domain/registration';
import {
  SELECT,
  toBinding,
  toCompany,
  toDialPlan,
  toTrunk,
  toTrunkHealth,
  type CompanyRow,
  type DialPlanRow,
  type RegistrationRow,
  type TrunkHealthRow,
  type TrunkRow,
} from '../../worker/config/rows';
import type { DidTarget, RegistrationBinding, Snapshot, TrunkConfig } from '../../worker/config/snapshot';
import { decide, next } from '../../worker/routing/decide';
import type { AttemptOutcome, Route } from '../../worker/routing/route';
import { canAccessCompany, type Actor } from '../auth/actor';
import { ApiError, badInput, ErrorCode } from '../errors';
import { inTransaction } from '../transaction';
import { simulatePlan } from './plan-path';
import { SimulatedPbxAnswer, type SimulateCallInput } from './simulate.input';
import { SimulatedDecision, type SimulatedCallType } from './simulate.type';

interface OwnedDidRow {
  number: string;
  trunk_id: string | null;
  dial_plan_id: string | null;
  company_id: string;
}

/** Unknown numbers and other companies' numbers answer alike (the number is not echoed, so the texts match too). */
const numberNotFound = (): ApiError => new ApiError(ErrorCode.NOT_FOUND, 'Number not found');

/** The PBX's status for a SERVER_ERROR assumption: 500 when it fails over, else the lowest trigger code. */
function serverErrorStatus(trunk: TrunkConfig): number {
  const codes = trunk.failover.triggerStatusCodes;
  return codes.has(500) || codes.size === 0 ? 500 : Math.min(...codes);
}

function outcomeOf(answer: SimulatedPbxAnswer, trunk: TrunkConfig): AttemptOutcome {
  switch (answer) {
    case SimulatedPbxAnswer.DELIVERED:
      return { kind: 'Answered', status: 200 };
    case SimulatedPbxAnswer.SILENT:
      return { kind: 'NoProvisionalResponse' };
    case SimulatedPbxAnswer.SERVER_ERROR:
      return { kind: 'Final', status: serverErrorStatus(trunk) };
    case SimulatedPbxAnswer.BUSY:
      return { kind: 'Final', status: 486 };
    default: {
      const unknown: never = answer;
      return unknown;
    }
  }
}

/**
 * Answers `simulateCall`: the worker's own pure routing (`decide`, `next`) and dial plan engine
 * (`entry`, `next`) fed from a snapshot of the one company the number belongs to, read from the
 * database for this query. Nothing is sent and nothing is written.
 */
export class SimulateService {
  constructor(private readonly dataSource: DataSource) {}

  async simulate(actor: Actor, input: SimulateCallInput): Promise<SimulatedCallType> {
    // The caller is read as a From user part; a control character is in none (a CRLF would be header injection).
    if (input.caller != null && hasControlCharacter(input.caller)) throw badInput(['caller: must not contain control characters']);
    const did = toE164(input.did);
    if (did === null) throw numberNotFound();
    const at = input.at ?? new Date();
    return inTransaction(this.dataSource, async (manager) => {
      const [owned] = (await manager.query(
        `SELECT d.number, d.trunk_id, d.dial_plan_id, COALESCE(t.company_id, p.company_id) AS company_id
           FROM did d LEFT JOIN trunk t ON t.id = d.trunk_id LEFT JOIN dial_plan p ON p.id = d.dial_plan_id
          WHERE d.number = $1`,
        [did],
      )) as OwnedDidRow[];
      if (owned === undefined || !canAccessCompany(actor, owned.company_id)) throw numberNotFound();
      const assumed = input.assume?.pbxAnswers != null || input.assume?.registered != null;
      const snapshot = await this.companySnapshot(manager, owned, input.assume?.registered ?? null, assumed);
      const now = Date.now();
      const trunkId = owned.trunk_id;
      const full = input.assume?.channelsFull === true;
      const route = decide({ did }, snapshot, now, { active: (id) => (full && id === trunkId ? Number.POSITIVE_INFINITY : 0) });
      const timeZone = snapshot.companies.get(owned.company_id)?.timeZone;
      // Read as the worker reads a From user part: escapes decoded, a malformed one is no caller (anonymous).
      const caller = input.caller == null ? null : decodeUserPart(input.caller);
      return this.describe(route, snapshot, input.assume?.pbxAnswers ?? SimulatedPbxAnswer.DELIVERED, { did, caller, timeZone, at });
    });
  }

  private describe(route: Route, snapshot: Snapshot, answer: SimulatedPbxAnswer, call: Parameters<typeof simulatePlan>[2]): SimulatedCallType {
    switch (route.kind) {
      case 'RunDialPlan':
        return { trunk: null, decision: SimulatedDecision.DELIVER, failoverReason: null, status: null, steps: simulatePlan(route.dialPlan, snapshot.dialPlans, call) };
      case 'Reject':
        return {
          trunk: route.trunk === null ? null : { id: route.trunk.id, name: route.trunk.name },
          decision: SimulatedDecision.REJECT,
          failoverReason: route.failoverReason,
          status: route.status,
          steps: [],
        };
      case 'Failover':
        return {
          trunk: { id: route.trunk.id, name: route.trunk.name },
          decision: SimulatedDecision.FAILOVER,
          failoverReason: route.failoverReason,
          status: route.pbxStatus,
          steps: simulatePlan(route.dialPlan, snapshot.dialPlans, call),
        };
      case 'Deliver': {
        const outcome = outcomeOf(answer, route.trunk);
        const after = next(route, outcome, snapshot);
        if (after !== null) return this.describe(after, snapshot, answer, call);
        const status = outcome.kind === 'Answered' || outcome.kind === 'Final' ? outcome.status : null;
        return { trunk: { id: route.trunk.id, name: route.trunk.name }, decision: SimulatedDecision.DELIVER, failoverReason: null, status, steps: [] };
      }
      default: {
        const unknown: never = route;
        return unknown;
      }
    }
  }

  /**
   * The worker's Snapshot, reduced to what routing one number of one company reads: the company,
   * the number, its trunk with the trunk's bindings, the company's dial plans. `registered` set
   * replaces the bindings with an assumed current one, or none. The trunk's health is read as it is
   * now (a trunk known down fails over with PBX_DOWN, as a real call does) unless the PBX is assumed:
   * then its health is taken as up. Trial calls (every 10th to a down trunk) are not simulated.
   */
  private async companySnapshot(manager: EntityManager, owned: OwnedDidRow, registered: boolean | null, assumed: boolean): Promise<Snapshot> {
    const companies = (await manager.query(`${SELECT.company} WHERE id = $1`, [owned.company_id])) as CompanyRow[];
    const plans = (await manager.query(`${SELECT.dial_plan} WHERE company_id = $1`, [owned.company_id])) as DialPlanRow[];
    const trunks = owned.trunk_id === null ? [] : ((await manager.query(`${SELECT.trunk} WHERE id = $1`, [owned.trunk_id])) as TrunkRow[]);
    const target: DidTarget = owned.trunk_id !== null ? { kind: 'trunk', trunkId: owned.trunk_id } : { kind: 'dialPlan', dialPlanId: owned.dial_plan_id ?? '' };
    const registrations = new Map<string, readonly RegistrationBinding[]>();
    if (owned.trunk_id !== null) {
      const bindings =
        registered === null
          ? ((await manager.query(`${SELECT.registration} WHERE trunk_id = $1`, [owned.trunk_id])) as RegistrationRow[]).map(toBinding).sort(newestFirst)
          : registered
            ? [assumedBinding(owned.trunk_id)]
            : [];
      registrations.set(owned.trunk_id, bindings);
    }
    const trunkMap = new Map(trunks.map((row) => [row.id, toTrunk(row)] as const));
    const health =
      owned.trunk_id === null || assumed ? [] : ((await manager.query(`${SELECT.trunk_health} WHERE trunk_id = $1`, [owned.trunk_id])) as TrunkHealthRow[]);
    return {
      version: 0,
      trunks: trunkMap,
      trunksByUsername: new Map(),
      dids: new Map([[owned.number, target]]),
      dialPlans: new Map(plans.map((row) => [row.id, toDialPlan(row)] as const)),
      registrations,
      carriers: [],
      carrierOf: () => null,
      outboundGateway: null,
      webhookAllowedNetworks: [],
      maxCallLengthSeconds: DEFAULT_MAX_CALL_LENGTH_SECONDS,
      companies: new Map(companies.map((row) => [row.id, toCompany(row)] as const)),
      health: new Map(health.map((row) => [row.trunk_id, toTrunkHealth(row)] as const)),
    };
  }
}

/** A binding that never expires, standing in for "the PBX is registered". */
function assumedBinding(trunkId: string): RegistrationBinding {
  return { id: 'assumed', trunkId, contact: 'sip:pbx.invalid', sourceAddress: '192.0.2.1', sourcePort: 5060, expiresAt: Number.POSITIVE_INFINITY, userAgent: null, updatedAt: 0 };
}

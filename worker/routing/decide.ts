import { FailoverReason } from '../../domain/call';
import { isPbxDown } from '../../domain/trunk-health';
import type { RegistrationBinding, Snapshot, TrunkConfig } from '../config/snapshot';
import type { TrialView } from '../health/trial-counter';
import { STATUS_WITHOUT_FAILOVER, type AttemptOutcome, type ChannelView, type Route } from './route';

/** The facts of an inbound INVITE that routing depends on. */
export interface CallToRoute {
  /** The dialled number (Request-URI user) in E.164, or null when it is not a number. */
  readonly did: string | null;
}

/** The binding calls go to: the most recently refreshed one that has not expired. */
export function currentBinding(snapshot: Snapshot, trunkId: string, now: number): RegistrationBinding | null {
  for (const binding of snapshot.registrations.get(trunkId) ?? []) {
    if (binding.expiresAt > now) return binding;
  }
  return null;
}

/** A failover reason held: fail over when the trunk allows it, else give the caller the status DESIGN names. */
export function failoverOrReject(snapshot: Snapshot, trunk: TrunkConfig, failoverReason: FailoverReason, pbxStatus: number | null): Route {
  const dialPlan = trunk.failover.enabled && trunk.failover.dialPlanId !== null ? snapshot.dialPlans.get(trunk.failover.dialPlanId) : undefined;
  if (dialPlan !== undefined) return { kind: 'Failover', failoverReason, pbxStatus, trunk, dialPlan };
  const fixed = STATUS_WITHOUT_FAILOVER[failoverReason];
  return { kind: 'Reject', status: fixed === 'pbx' ? (pbxStatus ?? 500) : fixed, failoverReason, trunk, relayPbxResponse: fixed === 'pbx' && pbxStatus !== null };
}

/** Never a trial: for callers that route without counting calls (simulateCall). */
const NO_TRIALS: TrialView = { isTrial: () => false };

/**
 * Routes a new inbound call (DESIGN section 4 step 3). Pure: the snapshot, the clock, the live
 * call counts and the per-trunk count of calls to a `DOWN` trunk are inputs. "Not registered",
 * "PBX down" and "channels full" are decided here, before anything is sent to the PBX. While a
 * trunk without OPTIONS probing is down for failing calls or probes, every `TRIAL_EVERY`th call
 * (counted by `trials`) still tries the PBX: nothing else would bring the trunk back.
 */
export function decide(call: CallToRoute, snapshot: Snapshot, now: number, channels: ChannelView, trials: TrialView = NO_TRIALS): Route {
  const target = call.did === null ? undefined : snapshot.dids.get(call.did);
  if (target === undefined) return { kind: 'Reject', status: 404, failoverReason: null, trunk: null, relayPbxResponse: false };
  switch (target.kind) {
    case 'dialPlan': {
      const dialPlan = snapshot.dialPlans.get(target.dialPlanId);
      return dialPlan === undefined ? { kind: 'Reject', status: 404, failoverReason: null, trunk: null, relayPbxResponse: false } : { kind: 'RunDialPlan', dialPlan };
    }
    case 'trunk': {
      const trunk = snapshot.trunks.get(target.trunkId);
      if (trunk === undefined) return { kind: 'Reject', status: 404, failoverReason: null, trunk: null, relayPbxResponse: false };
      const binding = currentBinding(snapshot, trunk.id, now);
      if (binding === null) return failoverOrReject(snapshot, trunk, FailoverReason.NOT_REGISTERED, null);
      const health = snapshot.health.get(trunk.id);
      const down = health !== undefined && isPbxDown(health);
      const full = channels.active(trunk.id) >= trunk.maxConcurrentCalls;
      // A call that could not be delivered anyway (channels full) spends no trial: the next one that can, is.
      // Past this line a call to a DOWN trunk is a trial.
      if (down && (trunk.healthCheck.enabled || full || !trials.isTrial(trunk.id, health.since))) return failoverOrReject(snapshot, trunk, FailoverReason.PBX_DOWN, null);
      if (full) return failoverOrReject(snapshot, trunk, FailoverReason.CONCURRENCY_LIMIT, null);
      return down ? { kind: 'Deliver', trunk, binding, trial: true } : { kind: 'Deliver', trunk, binding };
    }
    default: {
      const unknown: never = target;
      return unknown;
    }
  }
}

/**
 * What follows when the attempt to deliver to the PBX ended (DESIGN section 4 step 5). Pure.
 * Returns the failover (or the reject that stands in for it when failover is off), or null when
 * the outcome is relayed to the caller as it is: an answer, a busy/decline/redirect, a cancel.
 * Never fails over after the caller cancelled or the call was answered.
 */
export function next(route: Extract<Route, { kind: 'Deliver' }>, outcome: AttemptOutcome, snapshot: Snapshot): Route | null {
  const { trunk } = route;
  switch (outcome.kind) {
    case 'Answered':
    case 'CallerCancelled':
    case 'RingTimeout':
      return null;
    case 'Final':
      return outcome.status >= 500 && outcome.status <= 599 && trunk.failover.triggerStatusCodes.has(outcome.status)
        ? failoverOrReject(snapshot, trunk, FailoverReason.PBX_SERVER_ERROR, outcome.status)
        : null;
    case 'NoProvisionalResponse':
      return failoverOrReject(snapshot, trunk, FailoverReason.NO_PROVISIONAL_RESPONSE, null);
    case 'Unreachable':
      return failoverOrReject(snapshot, trunk, FailoverReason.PBX_UNREACHABLE, null);
    case 'ChannelsFull':
      return failoverOrReject(snapshot, trunk, FailoverReason.CONCURRENCY_LIMIT, null);
    default: {
      const unknown: never = outcome;
      return unknown;
    }
  }
}

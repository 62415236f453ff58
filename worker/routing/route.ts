import type { FailoverReason } from '../../domain/call';
import type { DialPlanConfig, RegistrationBinding, TrunkConfig } from '../config/snapshot';

/**
 * What to do with an inbound call, decided by `decide()` when the INVITE arrives and by `next()`
 * when an attempt ends. A closed union: the executor's `switch` ends in a `never` check.
 */
export type Route =
  /**
   * Proxy the INVITE to the trunk's registered PBX, at the address its REGISTER came from. `trial`:
   * the trunk is `DOWN` and this call tries the PBX anyway, with `TRIAL_NO_PROVISIONAL_MS` for its
   * 1xx; its outcome decides whether the trunk comes back.
   */
  | { readonly kind: 'Deliver'; readonly trunk: TrunkConfig; readonly binding: RegistrationBinding; readonly trial?: true }
  /** A failover reason held and failover is on: run the trunk's failover dial plan. */
  | {
      readonly kind: 'Failover';
      readonly failoverReason: FailoverReason;
      /** The PBX's status, for PBX_SERVER_ERROR. */
      readonly pbxStatus: number | null;
      readonly trunk: TrunkConfig;
      readonly dialPlan: DialPlanConfig;
    }
  /** The number belongs to a dial plan itself (its external number): run it. */
  | { readonly kind: 'RunDialPlan'; readonly dialPlan: DialPlanConfig }
  /**
   * Answer the caller with a final status. `failoverReason` names the cause that held, if any.
   * `relayPbxResponse`: the caller gets the PBX's own final response (its reason phrase, To tag,
   * Retry-After ...), not a fresh one with the same status (DESIGN section 1: "that 5xx").
   */
  | {
      readonly kind: 'Reject';
      readonly status: number;
      readonly failoverReason: FailoverReason | null;
      readonly trunk: TrunkConfig | null;
      readonly relayPbxResponse: boolean;
    };

/** How one attempt to reach a target ended: SIP failures are values, not exceptions. */
export type AttemptOutcome =
  /** A 2xx: the call is up. */
  | { readonly kind: 'Answered'; readonly status: number }
  /** A final non-2xx status from the target. */
  | { readonly kind: 'Final'; readonly status: number }
  /** No 1xx (100 Trying counts) within the no-1xx timeout: the branch was abandoned. */
  | { readonly kind: 'NoProvisionalResponse' }
  /** A 1xx came, then no final response within the ring timeout (Timer C): the branch was cancelled. */
  | { readonly kind: 'RingTimeout' }
  /** Sending to the target failed (transport error). */
  | { readonly kind: 'Unreachable'; readonly code: string }
  /** The channel could not be taken: another worker took the last one since `decide()`. */
  | { readonly kind: 'ChannelsFull' }
  /** The caller sent CANCEL. */
  | { readonly kind: 'CallerCancelled' };

/** Read-only view of the live call counts, shared by all workers. */
export interface ChannelView {
  active(trunkId: string): number;
}

/** A trial call's no-1xx timeout: short, since the trunk is known down and the caller waits. */
export const TRIAL_NO_PROVISIONAL_MS = 2_000;

/** What the caller gets when a failover reason holds and failover is off (DESIGN section 1). */
export const STATUS_WITHOUT_FAILOVER: Readonly<Record<FailoverReason, number | 'pbx'>> = {
  NOT_REGISTERED: 404,
  NO_PROVISIONAL_RESPONSE: 408,
  PBX_SERVER_ERROR: 'pbx',
  CONCURRENCY_LIMIT: 503,
  PBX_UNREACHABLE: 503,
  // Known down: 503 at once lets the carrier route elsewhere instead of waiting out the no-1xx timeout.
  PBX_DOWN: 503,
};

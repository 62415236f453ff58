import { ForwardCallerId, type DialPlanApp } from '../../../domain/flow/flow';
import { forwardedRequest } from '../../calls/proxy';
import type { SipRequest } from '../../sip/message';
import { presentingNumber } from '../caller-id';
import type { AppExecutor, PlanCall } from '../runner';
import { forwardRequestUri, literalDestination } from '../target';

/**
 * FORWARD: one branch to the target, rung for the step's ring timeout from the INVITE. Answered:
 * the plan ends with the target's 2xx. No answer, a failure, or a target that cannot be reached
 * (a number with no outbound gateway): the step leaves by `noAnswer`. The caller's CANCEL ends
 * the call, not the step: nothing more happens here. With `callerId: DIAL_PLAN_NUMBER` the INVITE
 * presents the plan's external number (caller-id.ts).
 */
export const forward: AppExecutor<DialPlanApp.FORWARD> = (step, call, done, dialPlanId) => {
  const { target, ringTimeoutSeconds, callerId } = step.forward;
  const uri = forwardRequestUri(target, call.outboundGateway);
  if (uri === null) {
    call.logger.warn({ stepId: step.id, target }, 'forward target not reachable: no outbound gateway for a number');
    done({ kind: 'Exit', exit: 'noAnswer' });
    return;
  }
  const proxied = forwardedRequest(call.invite, { uri, recordRoute: call.recordRoute, isOwnRoute: (route) => call.port.isOwnUri(route) });
  const request = callerId === ForwardCallerId.DIAL_PLAN_NUMBER ? presentPlanNumber(proxied, call, dialPlanId, step.id) : proxied;
  const destination = literalDestination(uri);
  call.startBranch({
    request,
    destination,
    target,
    noProvisionalMs: null,
    ringMs: ringTimeoutSeconds * 1000,
    ringFrom: 'start',
    onOutcome: (outcome, response) => {
      if (outcome.kind === 'Answered' && response !== null) done({ kind: 'Answered', response, callee: destination });
      else if (outcome.kind !== 'CallerCancelled') done({ kind: 'Exit', exit: 'noAnswer' });
    },
  });
};

/**
 * The API refuses DIAL_PLAN_NUMBER on a plan without an external number and the removal of a
 * number such a step presents; a snapshot caught between two changes may still lack it. Then the
 * call goes out with the caller kept, rather than not at all.
 */
function presentPlanNumber(request: SipRequest, call: PlanCall, dialPlanId: string, stepId: string): SipRequest {
  const number = call.dialPlanNumber(dialPlanId);
  if (number !== null) return presentingNumber(request, number);
  call.logger.warn({ stepId, dialPlanId }, 'forward presents the dial plan number, but the plan has none: the caller is kept');
  return request;
}

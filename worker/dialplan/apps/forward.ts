import { ForwardCallerId, type DialPlanApp } from '../../../domain/flow/flow';
import { forwardedInvite } from '../forwarded-invite';
import type { AppExecutor } from '../runner';

/**
 * FORWARD: one branch to the target, rung for the step's ring timeout from the INVITE. Answered:
 * the plan ends with the target's 2xx. No answer, a failure, or a target that cannot be reached
 * (a number with no outbound gateway): the step leaves by `noAnswer`. The caller's CANCEL ends
 * the call, not the step: nothing more happens here. With `callerId: DIAL_PLAN_NUMBER` the INVITE
 * presents the plan's external number (caller-id.ts).
 */
export const forward: AppExecutor<DialPlanApp.FORWARD> = (step, call, done, dialPlanId) => {
  const { target, ringTimeoutSeconds, callerId } = step.forward;
  const presentation = callerId === ForwardCallerId.DIAL_PLAN_NUMBER ? { callerId, dialPlanId, stepId: step.id } : { callerId: ForwardCallerId.KEEP_CALLER as const };
  const invite = forwardedInvite(call, target, presentation);
  if (invite === null) {
    call.logger.warn({ stepId: step.id, target }, 'forward target not reachable: a number with no outbound gateway, a trunk with no registration, or no usable URI');
    done({ kind: 'Exit', exit: 'noAnswer' });
    return;
  }
  const { request, destination } = invite;
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

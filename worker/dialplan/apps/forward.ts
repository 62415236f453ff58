import type { DialPlanApp } from '../../../domain/flow/flow';
import { forwardedRequest } from '../../calls/proxy';
import type { AppExecutor } from '../runner';
import { forwardRequestUri, literalDestination } from '../target';

/**
 * FORWARD: one branch to the target, rung for the step's ring timeout from the INVITE. Answered:
 * the plan ends with the target's 2xx. No answer, a failure, or a target that cannot be reached
 * (a number with no outbound gateway): the step leaves by `noAnswer`. The caller's CANCEL ends
 * the call, not the step: nothing more happens here.
 */
export const forward: AppExecutor<DialPlanApp.FORWARD> = (step, call, done) => {
  const { target, ringTimeoutSeconds } = step.forward;
  const uri = forwardRequestUri(target, call.outboundGateway);
  if (uri === null) {
    call.logger.warn({ stepId: step.id, target }, 'forward target not reachable: no outbound gateway for a number');
    done({ kind: 'Exit', exit: 'noAnswer' });
    return;
  }
  const request = forwardedRequest(call.invite, { uri, recordRoute: call.recordRoute, isOwnRoute: (route) => call.port.isOwnUri(route) });
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

import type { DialPlanApp } from '../../../domain/flow/flow';
import { UNANSWERED_STATUS } from '../engine';
import type { AppExecutor } from '../runner';

/**
 * GOTO_DIAL_PLAN: hands the call to the entry step of another dial plan of the same company; the
 * runner counts the hop. The API keeps targets in the company and refuses deleting a target, so a
 * target missing here or of another company is a configuration the API did not write: the plan
 * ends unanswered (480), logged.
 */
export const gotoDialPlan: AppExecutor<DialPlanApp.GOTO_DIAL_PLAN> = (step, call, done) => {
  const { dialPlanId } = step.gotoDialPlan;
  const target = call.snapshot.dialPlans.get(dialPlanId);
  if (target === undefined || target.companyId !== call.facts.companyId) {
    call.logger.warn({ stepId: step.id, dialPlanId }, 'goto dial plan: no such dial plan in the company; the call ends');
    done({ kind: 'Respond', status: UNANSWERED_STATUS });
    return;
  }
  done({ kind: 'Goto', dialPlan: target });
};

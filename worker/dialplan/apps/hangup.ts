import type { DialPlanApp } from '../../../domain/flow/flow';
import type { AppExecutor } from '../runner';

/** HANGUP: the plan ends, answering the caller with the step's status. */
export const hangup: AppExecutor<DialPlanApp.HANGUP> = (step, _call, done) => {
  done({ kind: 'Respond', status: step.hangup.status });
};

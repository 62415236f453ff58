import type { DialPlanApp } from '../../../domain/flow/flow';
import { matchesTimeWindow } from '../../../domain/time-window';
import type { AppExecutor } from '../runner';

/**
 * TIME_CONDITION: reads the call's instant on the wall clock of its company's time zone and leaves
 * by `match` or `noMatch` at once. A company missing from the snapshot (deleted while the call ran)
 * has no time zone: nothing matches.
 */
export const timeCondition: AppExecutor<DialPlanApp.TIME_CONDITION> = (step, call, done) => {
  const timeZone = call.snapshot.companies.get(call.facts.companyId)?.timeZone;
  if (timeZone === undefined) call.logger.warn({ stepId: step.id, companyId: call.facts.companyId }, 'time condition: no time zone for the company; noMatch');
  const matched = timeZone !== undefined && matchesTimeWindow(step.timeCondition, timeZone, call.clock.now());
  done({ kind: 'Exit', exit: matched ? 'match' : 'noMatch' });
};

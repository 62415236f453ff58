import { quoteInput } from '../../quote-input';
import { isUuid } from '../../uuid';
import type { AppDefinition } from '../flow';

/**
 * GOTO_DIAL_PLAN: the call continues at the entry step of another dial plan of the same company.
 * The step has no exits of its own. It does not wait: a cycle of plans is refused by the API
 * (api/dial-plan) and cut at run time by a hop limit (worker/dialplan/runner.ts).
 */
export interface GotoDialPlanSettings {
  readonly dialPlanId: string;
}

export const gotoDialPlanApp: AppDefinition<'gotoDialPlan', GotoDialPlanSettings, GotoDialPlanSettings> = {
  settingsKey: 'gotoDialPlan',
  exits: [],
  waits: false,
  normalise(draft, at, problems) {
    if (!isUuid(draft.dialPlanId)) {
      problems.push(`${at}.dialPlanId: ${quoteInput(draft.dialPlanId)} is not a dial plan id`);
      return null;
    }
    return { dialPlanId: draft.dialPlanId.toLowerCase() };
  },
};

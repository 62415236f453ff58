import { normaliseTimeWindow, timeWindowProblems, type TimeWindow, type TimeWindowDraft } from '../../time-window';
import type { AppDefinition } from '../flow';

/**
 * TIME_CONDITION: leaves by `match` when the call's local time, in the company's time zone, falls
 * in a rule and its local date in no holiday range (domain/time-window.ts), else by `noMatch`.
 * It decides at once, so it does not wait.
 */
export const timeConditionApp: AppDefinition<'timeCondition', TimeWindow, TimeWindowDraft> = {
  settingsKey: 'timeCondition',
  exits: ['match', 'noMatch'],
  waits: false,
  normalise(draft, at, problems) {
    const found = timeWindowProblems(draft, at);
    problems.push(...found);
    return found.length === 0 ? normaliseTimeWindow(draft) : null;
  },
};

import { callerMatchProblems, normaliseCallerMatch, type CallerMatch, type CallerMatchDraft } from '../../caller-match';
import type { AppDefinition } from '../flow';

/**
 * CALLER_CONDITION: leaves by `match` when the caller's number is one of `numbers`, starts with
 * one of `prefixes`, or the caller is anonymous and `anonymous` is set (domain/caller-match.ts),
 * else by `noMatch`. It decides at once, so it does not wait.
 */
export const callerConditionApp: AppDefinition<'callerCondition', CallerMatch, CallerMatchDraft> = {
  settingsKey: 'callerCondition',
  exits: ['match', 'noMatch'],
  waits: false,
  normalise(draft, at, problems) {
    const found = callerMatchProblems(draft, at);
    problems.push(...found);
    return found.length === 0 ? normaliseCallerMatch(draft) : null;
  },
};

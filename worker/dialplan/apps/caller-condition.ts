import { countryOfNumber, matchesCaller } from '../../../domain/caller-match';
import type { DialPlanApp } from '../../../domain/flow/flow';
import { didFromRequestUser } from '../../calls/did';
import { requestUser } from '../../calls/proxy';
import { privacyOf } from '../../calls/privacy';
import type { AppExecutor } from '../runner';

/**
 * CALLER_CONDITION: matches the caller's From user part, its Privacy header and, for a national
 * caller number, the country of the dialled number, and leaves by `match` or `noMatch` at once.
 */
export const callerCondition: AppExecutor<DialPlanApp.CALLER_CONDITION> = (step, call, done) => {
  const did = didFromRequestUser(requestUser(call.invite.uri));
  const country = did === null ? null : countryOfNumber(did);
  const matched = matchesCaller(step.callerCondition, requestUser(call.invite.headers.from.uri), { privacy: privacyOf(call.invite), country });
  done({ kind: 'Exit', exit: matched ? 'match' : 'noMatch' });
};

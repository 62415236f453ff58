import type { CallAttempt, CallStep } from '../../domain/call';
import { CONTROL_CHARACTER } from '../../domain/control-characters';

/**
 * What a call record may hold as text. Its values come from the wire (Call-ID, the dialled and
 * calling users, targets): a `%00` decoded by the URI parser (RFC 4475 section 3.1.2.6,
 * `escnull`) or a raw control byte must not reach PostgreSQL, which refuses a NUL in `text` and
 * `jsonb`, and a 60 KB Call-ID must not fill the table.
 */

/** Longest Call-ID, DID, caller and worker name kept; longer values are cut. */
export const MAX_RECORD_TEXT = 256;
/** Longest attempt target (a SIP URI) kept. */
export const MAX_TARGET_TEXT = 512;
/** Marks a value that was cut, so a reader does not take it for the whole value. */
const CUT_MARK = '…';

const CONTROL = new RegExp(CONTROL_CHARACTER.source, 'g');

/** Percent-encodes the control characters (the way they came in a SIP URI) and cuts at `max` characters. */
export function recordText(value: string, max = MAX_RECORD_TEXT): string {
  const escaped = value.replace(CONTROL, (character) => encodeURIComponent(character));
  if (escaped.length <= max) return escaped;
  let end = max - CUT_MARK.length;
  // Never split a surrogate pair: half of one is not valid UTF-8.
  const last = escaped.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return escaped.slice(0, end) + CUT_MARK;
}

/** `recordText` for an optional value. */
export function optionalRecordText(value: string | null, max = MAX_RECORD_TEXT): string | null {
  return value === null ? null : recordText(value, max);
}

/** An attempt with its text escaped and cut; the same object when nothing needed it. */
export function recordAttempt(attempt: CallAttempt): CallAttempt {
  const clean: CallAttempt = {
    ...attempt,
    target: recordText(attempt.target, MAX_TARGET_TEXT),
    startedAt: recordText(attempt.startedAt),
    firstResponseAt: optionalRecordText(attempt.firstResponseAt),
    endedAt: optionalRecordText(attempt.endedAt),
  };
  const changed = clean.target !== attempt.target || clean.startedAt !== attempt.startedAt || clean.firstResponseAt !== attempt.firstResponseAt || clean.endedAt !== attempt.endedAt;
  return changed ? clean : attempt;
}

/**
 * A dial plan step with its text escaped and cut; the same object when nothing needed it. Its
 * ids, app and exit come from a validated flow, but every text value on a record passes here:
 * the record must not depend on who checked what upstream.
 */
export function recordStep(step: CallStep): CallStep {
  const clean: CallStep = {
    ...step,
    dialPlanId: recordText(step.dialPlanId),
    stepId: recordText(step.stepId),
    app: recordText(step.app) as CallStep['app'],
    exit: optionalRecordText(step.exit),
    at: recordText(step.at),
  };
  const changed = clean.dialPlanId !== step.dialPlanId || clean.stepId !== step.stepId || clean.app !== step.app || clean.exit !== step.exit || clean.at !== step.at;
  return changed ? clean : step;
}

import { isSupportedCountry, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { e164FromUserPart, NUMBER_SEPARATORS, toE164 } from './phone-number';
import { quoteInput } from './quote-input';

/**
 * The settings of a CALLER_CONDITION step and their evaluation: the caller matches when its
 * number (E.164) is one of `numbers`, starts with one of `prefixes`, or when the caller is
 * anonymous and `anonymous` is set. Pure: the caller's user part is passed in.
 *
 * Decisions (see docs/decisions.md, "Caller conditions"):
 * - A caller is either identified (a number) or anonymous, never both: a caller that asked for
 *   privacy is anonymous even when its From header carries a number, and that number is not used.
 * - Anonymous: no user part (null or blank); a user part that is one of ANONYMOUS_CALLER_USERS in
 *   any case (`anonymous` from RFC 3323 section 4.1.1.3, and the words carriers use for withheld
 *   numbers); or a Privacy header (RFC 3323 section 4.2, RFC 3325 section 9.3) asking for `user`,
 *   `header` or `id` privacy. `session` and `none` say nothing about identity.
 * - A user part that is neither a number nor an anonymous word (`alice`, garbage) matches nothing.
 * - Caller numbers arrive in the forms the dialled number does (worker/calls/did.ts): `+` and
 *   digits, `00` and digits, bare international digits; separators and `;` parameters dropped.
 *   A national form (one leading 0) needs the country it was dialled in, which the caller
 *   passes (the country of the dialled number); without one it matches nothing.
 */

export interface CallerMatch {
  /** E.164 numbers, each matched exactly. */
  readonly numbers: readonly string[];
  /** `+` and 1..15 digits, matched at the start of the caller's E.164 number. */
  readonly prefixes: readonly string[];
  readonly anonymous: boolean;
}

export interface CallerMatchDraft {
  readonly numbers?: readonly string[] | null;
  readonly prefixes?: readonly string[] | null;
  readonly anonymous?: boolean | null;
}

/** What the SIP side knows beside the From user part. */
export interface CallerFacts {
  /** The Privacy header's value, if any. */
  readonly privacy?: string | null;
  /** ISO 3166 alpha-2 country a national caller number belongs to (that of the dialled number). */
  readonly country?: string | null;
}

export const MAX_CALLER_NUMBERS = 100;
export const MAX_CALLER_PREFIXES = 100;

/** User parts that mean "no number" (compared in lower case). */
export const ANONYMOUS_CALLER_USERS: ReadonlySet<string> = new Set(['anonymous', 'unknown', 'restricted', 'private', 'unavailable', 'withheld']);

/** Privacy values that withhold the caller's identity (RFC 3323 section 4.2; `id`: RFC 3325 section 9.3). */
const IDENTITY_PRIVACY: ReadonlySet<string> = new Set(['user', 'header', 'id']);

const PREFIX = /^\+[1-9][0-9]{0,14}$/;
/** Longer than any written number: refused before any parsing. */
const MAX_INPUT_CHARS = 64;

function normalisePrefix(prefix: string): string | null {
  if (prefix.length > MAX_INPUT_CHARS) return null;
  const bare = prefix.replace(NUMBER_SEPARATORS, '');
  return PREFIX.test(bare) ? bare : null;
}

/**
 * Every problem in a draft, each naming its field path under `at` (e.g. `steps[1].callerCondition`)
 * and the rule it breaks; input values are quoted and cut, never echoed whole.
 */
export function callerMatchProblems(draft: CallerMatchDraft, at: string): string[] {
  const problems: string[] = [];
  const numbers = draft.numbers ?? [];
  const prefixes = draft.prefixes ?? [];
  // Nothing to match would send every call to noMatch: a configuration mistake.
  if (numbers.length === 0 && prefixes.length === 0 && draft.anonymous !== true) {
    problems.push(`${at}: name at least one number or prefix, or match anonymous callers`);
  }
  if (numbers.length > MAX_CALLER_NUMBERS) {
    problems.push(`${at}.numbers: at most ${MAX_CALLER_NUMBERS} numbers`);
  } else {
    numbers.forEach((number, i) => {
      if (toE164(number) === null) problems.push(`${at}.numbers[${i}]: ${quoteInput(number)} is not an E.164 number (+ and country code)`);
    });
  }
  if (prefixes.length > MAX_CALLER_PREFIXES) {
    problems.push(`${at}.prefixes: at most ${MAX_CALLER_PREFIXES} prefixes`);
  } else {
    prefixes.forEach((prefix, i) => {
      if (normalisePrefix(prefix) === null) problems.push(`${at}.prefixes[${i}]: ${quoteInput(prefix)} is not + and 1..15 digits starting with a country code`);
    });
  }
  return problems;
}

/** The stored form of a draft that callerMatchProblems accepted: E.164 and bare prefixes, each once, in the client's order. */
export function normaliseCallerMatch(draft: CallerMatchDraft): CallerMatch {
  const numbers = (draft.numbers ?? []).map(toE164).filter((number): number is string => number !== null);
  const prefixes = (draft.prefixes ?? []).map(normalisePrefix).filter((prefix): prefix is string => prefix !== null);
  return { numbers: [...new Set(numbers)], prefixes: [...new Set(prefixes)], anonymous: draft.anonymous === true };
}

/** True when a Privacy header value (`id; user`, RFC 3323 section 4.2 priv-values) withholds the caller's identity. */
export function withholdsIdentity(privacy: string | null | undefined): boolean {
  if (privacy == null) return false;
  return privacy.split(/[;,]/).some((value) => IDENTITY_PRIVACY.has(value.trim().toLowerCase()));
}

/** True when the caller sent no number: no user part, an anonymous word, or identity privacy. */
export function isAnonymousCaller(callerUser: string | null, facts: CallerFacts = {}): boolean {
  if (withholdsIdentity(facts.privacy)) return true;
  if (callerUser === null) return true;
  const bare = callerUser.split(';')[0].trim();
  return bare === '' || ANONYMOUS_CALLER_USERS.has(bare.toLowerCase());
}

/** The caller's number in E.164 from a From user part, or null when it is not a number in a known form. */
export function callerToE164(callerUser: string | null, country?: string | null): string | null {
  if (callerUser === null || callerUser.length > MAX_INPUT_CHARS) return null;
  const international = e164FromUserPart(callerUser);
  if (international !== null) return international;
  const bare = callerUser.split(';')[0].replace(NUMBER_SEPARATORS, '');
  if (!/^0[1-9][0-9]{4,14}$/.test(bare) || country == null || !isSupportedCountry(country)) return null;
  const parsed = parsePhoneNumberFromString(bare, country as CountryCode);
  return parsed !== undefined && parsed.isPossible() ? parsed.number : null;
}

/** The country of an E.164 number (e.g. the dialled number), for reading national caller numbers. */
export function countryOfNumber(e164: string): string | null {
  return parsePhoneNumberFromString(e164)?.country ?? null;
}

/** True when the caller matches the settings. Never throws, whatever the user part holds. */
export function matchesCaller(settings: CallerMatch, callerUser: string | null, facts: CallerFacts = {}): boolean {
  if (isAnonymousCaller(callerUser, facts)) return settings.anonymous;
  const number = callerToE164(callerUser, facts.country);
  if (number === null) return false;
  return settings.numbers.includes(number) || settings.prefixes.some((prefix) => number.startsWith(prefix));
}

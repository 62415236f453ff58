import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

/**
 * Normalises a phone number written in international form (`+` and country code, spaces and
 * dashes allowed) to E.164, or returns null when it is not a valid number for its country.
 * National forms are refused: a platform-wide number cannot guess the country.
 */
export function toE164(input: string): string | null {
  const trimmed = input.trim();
  // libphonenumber extracts a number from surrounding text and drops extensions ("+44 20 7946 0000 x12",
  // "+442079460000abc"): accept formatting characters only, so nothing typed is silently discarded.
  if (!/^\+[0-9 ().-]+$/.test(trimmed) || trimmed.length > 32) return null;
  const parsed = parsePhoneNumberFromString(trimmed);
  if (parsed === undefined || !parsed.isValid()) return null;
  return parsed.number;
}

/** Visual separators people and carriers put in numbers. */
export const NUMBER_SEPARATORS = /[\s\-().]/g;

/**
 * A number in a SIP user part, in E.164 form, when it is written internationally: `+442079460000`,
 * `00442079460000` or bare `442079460000`, with visual separators or a parameter (`;npdi`) allowed.
 * Only the form is normalised, no number plan is checked (that costs a full parse). National forms
 * cannot be told from international ones without a country: null.
 */
export function e164FromUserPart(user: string): string | null {
  const bare = user.split(';')[0].replace(NUMBER_SEPARATORS, '');
  if (/^\+[1-9][0-9]{6,14}$/.test(bare)) return bare;
  if (/^00[1-9][0-9]{6,14}$/.test(bare)) return `+${bare.slice(2)}`;
  if (/^[1-9][0-9]{7,14}$/.test(bare)) return `+${bare}`;
  return null;
}

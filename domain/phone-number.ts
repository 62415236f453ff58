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

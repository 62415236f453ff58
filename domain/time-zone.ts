import { IANAZone } from 'luxon';

/** True for an IANA time zone name such as `Europe/Berlin` (used by time conditions). */
export function isIanaTimeZone(name: string): boolean {
  return name.length <= 64 && name.includes('/') ? IANAZone.isValidZone(name) : name === 'UTC';
}

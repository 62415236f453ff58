/**
 * The operator's maximum call length: a call whose ends agreed on no session timer (RFC 4028) is
 * ended by us this long after its answer, so a call whose PBX or carrier vanished without a BYE
 * gives its channel back. The API enforces the range; the SIP workers read it from their snapshot
 * and use the default while no operator has set one.
 */
export const MIN_MAX_CALL_LENGTH_SECONDS = 60;
export const MAX_MAX_CALL_LENGTH_SECONDS = 86_400;
export const DEFAULT_MAX_CALL_LENGTH_SECONDS = 4 * 60 * 60;

export function isMaxCallLength(seconds: number): boolean {
  return Number.isInteger(seconds) && seconds >= MIN_MAX_CALL_LENGTH_SECONDS && seconds <= MAX_MAX_CALL_LENGTH_SECONDS;
}

import { headerText, type SipHeaders, type SipRequest, type SipResponse } from '../sip/message';
import { MAX_SESSION_EXPIRES_S, MIN_SE_S, SESSION_EXPIRES_S, SESSION_GRACE_S } from '../sip/timers';

/**
 * SIP session timers (RFC 4028) as a record-routing proxy applies them (section 8), as pure
 * functions over plain messages. A session refresh request (the INVITE, a re-INVITE or an UPDATE)
 * is checked and completed on its way through; its 2xx says whether the session has a timer, how
 * long it runs and who refreshes it. A session nobody refreshed in time is ended by us (section 10).
 */
export type Refresher = 'uac' | 'uas';

export interface SessionExpires {
  readonly seconds: number;
  /** Who refreshes: the sender of the request (`uac`) or its answerer (`uas`); null when not said. */
  readonly refresher: Refresher | null;
}

/** Delta-seconds (RFC 3261 section 25.1) larger than this are read as this (2^31 - 1, section 20.19 for Expires). */
const MAX_DELTA_SECONDS = 2 ** 31 - 1;

/** The first value of a header the parser left as text (repeated lines are joined with commas). */
function firstValue(headers: SipHeaders, name: string): string | undefined {
  return headerText(headers, name)?.split(',')[0];
}

/** `delta-seconds *(;param)`; null when the number is missing or not one. */
function deltaSeconds(value: string | undefined): { seconds: number; params: Map<string, string> } | null {
  if (value === undefined) return null;
  const [first, ...rest] = value.split(';');
  const digits = first.trim();
  if (!/^\d{1,12}$/.test(digits)) return null;
  const params = new Map<string, string>();
  for (const param of rest) {
    const [name, text = ''] = param.split('=');
    params.set(name.trim().toLowerCase(), text.trim().toLowerCase());
  }
  return { seconds: Math.min(Number(digits), MAX_DELTA_SECONDS), params };
}

/** Session-Expires, or its compact form `x` (RFC 4028 section 4); null when absent or unreadable. */
export function sessionExpiresOf(headers: SipHeaders): SessionExpires | null {
  const parsed = deltaSeconds(firstValue(headers, 'session-expires') ?? firstValue(headers, 'x'));
  if (parsed === null) return null;
  const refresher = parsed.params.get('refresher');
  return { seconds: parsed.seconds, refresher: refresher === 'uac' || refresher === 'uas' ? refresher : null };
}

/** Min-SE (section 5); null when absent or unreadable. */
function minSeOf(headers: SipHeaders): number | null {
  return deltaSeconds(firstValue(headers, 'min-se'))?.seconds ?? null;
}

/** True when the option tag is listed in the header (Supported, compact `k`, or Require). */
function lists(headers: SipHeaders, name: string, tag: string): boolean {
  const text = headerText(headers, name);
  return text !== undefined && text.split(',').some((entry) => entry.trim().toLowerCase() === tag);
}

/** The sender understands session timers (`Supported: timer`; the parser reads `k` as Supported). */
export function supportsTimer(headers: SipHeaders): boolean {
  return lists(headers, 'supported', 'timer') || lists(headers, 'require', 'timer');
}

function writeSessionExpires(headers: SipHeaders, value: SessionExpires): SipHeaders {
  const { x: _compact, ...rest } = headers;
  return { ...rest, 'session-expires': value.refresher === null ? String(value.seconds) : `${value.seconds};refresher=${value.refresher}` } as SipHeaders;
}

export type SessionRequestVerdict =
  /** Answer 422 with `Min-SE: minSe` (section 8.1): the sender asked for less and can ask again. */
  | { readonly kind: 'reject'; readonly minSe: number }
  /** Forward this request: the received one, or a copy with Session-Expires and Min-SE set. */
  | { readonly kind: 'forward'; readonly request: SipRequest };

/**
 * A session refresh request on its way through us (section 8.1):
 * - a Session-Expires below our minimum (MIN_SE_S) is refused with 422 and our Min-SE when the
 *   sender supports timers; a sender that does not could not read a 422, so the interval is
 *   raised to the minimum instead and Min-SE says why;
 * - a request without Session-Expires gets one (SESSION_EXPIRES_S, or its Min-SE when that is
 *   higher; no refresher, which is the answerer's choice) and our Min-SE: the proxy may ask for a
 *   session timer, and a far end that supports timers then runs one (section 9);
 * - a Session-Expires above a day (MAX_SESSION_EXPIRES_S) is lowered to a day, or to the Min-SE
 *   when that is higher;
 * - any other Session-Expires is respected as it is (a proxy may lower it; we leave the ends'
 *   choice alone), and a Min-SE below ours is raised so no one downstream goes under it.
 */
export function sessionRequest(request: SipRequest): SessionRequestVerdict {
  const { headers } = request;
  const asked = sessionExpiresOf(headers);
  const minSe = minSeOf(headers);
  const floor = Math.max(MIN_SE_S, minSe ?? 0);
  if (asked === null) {
    const inserted = writeSessionExpires(headers, { seconds: Math.max(SESSION_EXPIRES_S, floor), refresher: null });
    return { kind: 'forward', request: { ...request, headers: { ...inserted, 'min-se': String(floor) } } };
  }
  if (asked.seconds < MIN_SE_S) {
    if (supportsTimer(headers)) return { kind: 'reject', minSe: MIN_SE_S };
    const raised = writeSessionExpires(headers, { seconds: floor, refresher: asked.refresher });
    return { kind: 'forward', request: { ...request, headers: { ...raised, 'min-se': String(floor) } } };
  }
  if (asked.seconds > Math.max(MAX_SESSION_EXPIRES_S, floor)) {
    const lowered = writeSessionExpires(headers, { seconds: Math.max(MAX_SESSION_EXPIRES_S, floor), refresher: asked.refresher });
    return { kind: 'forward', request: { ...request, headers: { ...lowered, 'min-se': String(floor) } } };
  }
  if (minSe !== null && minSe < MIN_SE_S) return { kind: 'forward', request: { ...request, headers: { ...headers, 'min-se': String(MIN_SE_S) } } };
  return { kind: 'forward', request };
}

/** The session timer a 2xx put in force: its interval, and who refreshes relative to the request. */
export interface SessionTimer {
  readonly seconds: number;
  readonly refresher: Refresher | null;
}

/**
 * The 2xx to a session refresh request we forwarded (`request`, as it left us), on its way back
 * (section 8.2):
 * - with Session-Expires, the session has a timer of that interval (read within MIN_SE_S..
 *   MAX_SESSION_EXPIRES_S: an answerer that went under the Min-SE it was sent must not get its
 *   call reaped early, nor one that went over what we asked for keep a dead call for days);
 * - without one, when the request carried Session-Expires and its sender supports timers, the
 *   answerer does not support them: we insert Session-Expires with `refresher=uac` and
 *   `Require: timer`, so the sender refreshes;
 * - otherwise neither end supports timers: no session timer (the maximum call length applies).
 * Pure: a retransmitted 2xx is completed the same way.
 */
export function sessionAnswer(request: SipRequest, response: SipResponse): { readonly response: SipResponse; readonly timer: SessionTimer | null } {
  if (response.status < 200 || response.status >= 300) return { response, timer: null };
  const answered = sessionExpiresOf(response.headers);
  if (answered !== null) return { response, timer: { seconds: interval(answered.seconds), refresher: answered.refresher } };
  const asked = sessionExpiresOf(request.headers);
  if (asked === null || !supportsTimer(request.headers)) return { response, timer: null };
  const timer: SessionTimer = { seconds: interval(asked.seconds), refresher: 'uac' };
  const require = headerText(response.headers, 'require');
  const headers = { ...writeSessionExpires(response.headers, timer), require: require === undefined || require.trim() === '' ? 'timer' : `${require}, timer` };
  return { response: { ...response, headers }, timer };
}

/** A session interval as we time it. */
function interval(seconds: number): number {
  return Math.min(Math.max(seconds, MIN_SE_S), MAX_SESSION_EXPIRES_S);
}

/**
 * How long after the last refresh we end a session no refresh reached: its interval plus a grace,
 * min(SESSION_GRACE_S, interval / 3), in which the end that does not refresh would send its own
 * BYE (section 10) and a late refresh completes its transaction.
 */
export function reapAfterSeconds(seconds: number): number {
  return seconds + Math.min(SESSION_GRACE_S, seconds / 3);
}

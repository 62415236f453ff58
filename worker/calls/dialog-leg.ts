import type { Endpoint, NameAddr, ParsedUri, RouteEntry, SipRequest, SipResponse } from '../sip/message';
import { DEFAULT_MAX_FORWARDS } from './proxy';

/**
 * One end of an answered call, as we need it to send that end a request within its dialog in the
 * name of the other end (RFC 3261 section 12.2.1.1): where to send it, its remote target, the
 * route set between us and it, and the From and To that end expects (its own tag in To).
 */
export interface DialogLeg {
  /** Where its in-dialog requests go (the carrier's source, the PBX's registered flow); null: resolve the target. */
  readonly endpoint: Endpoint | null;
  /** Its Contact: the Request-URI of a request to it (section 12.1.1 / 12.1.2). */
  readonly target: string;
  /** The proxies between us and it, nearest first: the Route of a request to it. */
  readonly routeSet: readonly RouteEntry[];
  /** From: the other end as this end knows it. */
  readonly from: NameAddr;
  /** To: this end itself, with its tag. */
  readonly to: NameAddr;
}

/** The URI of a message's first Contact, if it has one. */
export function contactOf(message: SipRequest | SipResponse): string | undefined {
  const contact = message.headers.contact;
  return Array.isArray(contact) ? contact[0]?.uri : undefined;
}

function copyEntry<T extends NameAddr | RouteEntry>(entry: T): T {
  return { ...entry, params: { ...entry.params } };
}

/**
 * Both ends of a call we answered as a record-routing proxy, from the INVITE the caller sent (as
 * we received it: its Record-Route holds only the proxies before us) and the 2xx that answered it
 * (whose Record-Route holds every proxy, ours among them).
 */
export function dialogLegs(
  invite: SipRequest,
  answer: SipResponse,
  ends: { readonly caller: Endpoint; readonly callee: Endpoint | null },
  isOwnRoute: (uri: string | ParsedUri) => boolean,
): { readonly caller: DialogLeg; readonly callee: DialogLeg } {
  // The caller's side: the UAS route set (section 12.1.1) is the Record-Route in order, nearest
  // first; the received INVITE's entries are all on the caller's side of us.
  const callerRoutes = (invite.headers['record-route'] ?? []).filter((entry) => !isOwnRoute(entry.uri)).map(copyEntry);
  // The callee's side: the entries above ours in the 2xx, taken as the UAC's route set (reversed,
  // section 12.1.2), which puts the proxy nearest to us first.
  const answerRoutes = answer.headers['record-route'] ?? [];
  const own = answerRoutes.findIndex((entry) => isOwnRoute(entry.uri));
  const calleeRoutes = (own < 0 ? [] : answerRoutes.slice(0, own)).map(copyEntry).reverse();
  return {
    caller: {
      endpoint: ends.caller,
      target: contactOf(invite) ?? invite.headers.from.uri,
      routeSet: callerRoutes,
      from: copyEntry(answer.headers.to),
      to: copyEntry(invite.headers.from),
    },
    callee: {
      endpoint: ends.callee,
      target: contactOf(answer) ?? invite.uri,
      routeSet: calleeRoutes,
      from: copyEntry(invite.headers.from),
      to: copyEntry(answer.headers.to),
    },
  };
}

/**
 * A BYE to one end of the call, as the other end would send it (section 15.1.1); `reason` is a
 * Reason header (RFC 3326) saying why we ended the call. Our stack adds the Via.
 */
export function byeRequest(leg: DialogLeg, callId: string, cseq: number, reason: string): SipRequest {
  return {
    method: 'BYE',
    uri: leg.target,
    headers: {
      via: [],
      to: copyEntry(leg.to),
      from: copyEntry(leg.from),
      'call-id': callId,
      cseq: { seq: cseq, method: 'BYE' },
      route: leg.routeSet.length > 0 ? leg.routeSet.map(copyEntry) : undefined,
      'max-forwards': DEFAULT_MAX_FORWARDS,
      reason,
    },
  };
}

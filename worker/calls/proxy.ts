import { decodeUserPart } from '../../domain/sip-uri';
import type { Endpoint, NameAddr, ParsedUri, RouteEntry, SipRequest, SipResponse, Via } from '../sip/message';

/**
 * Proxy message handling as pure functions over plain messages (RFC 3261 section 16).
 */
export const DEFAULT_MAX_FORWARDS = 70;

/** Our Record-Route entry (RFC 3261 section 16.6 step 4); an IPv6 address goes in brackets (RFC 5118 section 4.1). */
export function ownRecordRoute(address: string, port: number): NameAddr {
  const host = address.includes(':') ? `[${address}]` : address;
  return { uri: `sip:${host}:${port};lr`, params: {} };
}

/** Max-Forwards of a received request (section 16.3 step 3); absent means the default. */
export function maxForwards(request: SipRequest): number {
  const value = Number(request.headers['max-forwards'] ?? DEFAULT_MAX_FORWARDS);
  return Number.isInteger(value) && value >= 0 ? value : DEFAULT_MAX_FORWARDS;
}

function copyVia(via: Via): Via {
  return { ...via, params: { ...via.params } };
}

function copyNameAddr<T extends NameAddr | RouteEntry>(value: T): T {
  return { ...value, params: { ...value.params } };
}

/** A copy deep enough that changing the forwarded request never changes the received one. */
export function copyRequest(request: SipRequest): SipRequest {
  const headers = { ...request.headers };
  headers.via = request.headers.via.map(copyVia);
  headers.to = copyNameAddr(request.headers.to);
  headers.from = copyNameAddr(request.headers.from);
  headers.cseq = { ...request.headers.cseq };
  if (Array.isArray(request.headers.route)) headers.route = request.headers.route.map(copyNameAddr);
  if (Array.isArray(request.headers['record-route'])) headers['record-route'] = request.headers['record-route'].map(copyNameAddr);
  if (Array.isArray(request.headers.contact)) headers.contact = request.headers.contact.map(copyNameAddr);
  return { ...request, headers };
}

export interface ForwardOptions {
  /** The new Request-URI (section 16.6 step 2). */
  readonly uri: string;
  /** Our Record-Route entry, for dialog-creating requests (section 16.6 step 4). */
  readonly recordRoute?: RouteEntry;
  /** True for a Route entry that names us: removed before forwarding (section 16.4). */
  readonly isOwnRoute: (uri: string | ParsedUri) => boolean;
}

/**
 * The request to forward downstream: a copy with the new Request-URI, Max-Forwards decremented,
 * our Route entries removed and our Record-Route added. The stack adds our Via when sending.
 */
export function forwardedRequest(request: SipRequest, options: ForwardOptions): SipRequest {
  const forwarded = copyRequest(request);
  forwarded.uri = options.uri;
  forwarded.headers['max-forwards'] = maxForwards(request) - 1;
  const routes = (forwarded.headers.route ?? []).filter((route) => !options.isOwnRoute(route.uri));
  forwarded.headers.route = routes.length > 0 ? routes : undefined;
  if (options.recordRoute !== undefined) {
    forwarded.headers['record-route'] = [copyNameAddr(options.recordRoute), ...(forwarded.headers['record-route'] ?? [])];
  }
  return forwarded;
}

/** A response received on our client transaction, made ready to go upstream: our Via removed (16.7 step 3). */
export function upstreamResponse(response: SipResponse): SipResponse {
  return { ...response, headers: { ...response.headers, via: response.headers.via.slice(1) } };
}

/**
 * A response from the branch, re-addressed to the caller's server transaction: the caller's
 * Via list in place of ours, everything else as the branch sent it.
 */
export function responseForCaller(response: SipResponse, invite: SipRequest): SipResponse {
  return { ...response, headers: { ...response.headers, via: invite.headers.via.map(copyVia) } };
}

/**
 * True when `cancel` cancels `invite`: it names the INVITE's server transaction, i.e. the same
 * top Via branch and sent-by (RFC 3261 sections 9.2 and 17.2.3), with the same Call-ID, From
 * tag, To and CSeq number (section 9.1), and it came from the address the INVITE came from or
 * another address of the same carrier (`carrierOf`). Any port: the transaction is what matches
 * (section 9.2), and a carrier's SBC may send its CANCEL from another socket or cluster member.
 * Knowing a Call-ID is not enough to end someone's call.
 */
export function cancelMatches(
  invite: SipRequest,
  inviteSource: Endpoint,
  cancel: SipRequest,
  cancelSource: Endpoint,
  carrierOf: (address: string) => { readonly id: string } | null,
): boolean {
  const [inviteVia] = invite.headers.via;
  const [cancelVia] = cancel.headers.via;
  if (inviteVia === undefined || cancelVia === undefined) return false;
  const branch = inviteVia.params.branch;
  return (
    sameOrigin(inviteSource.address, cancelSource.address, carrierOf) &&
    typeof branch === 'string' &&
    branch !== '' &&
    cancelVia.params.branch === branch &&
    sameSentBy(inviteVia, cancelVia) &&
    cancel.headers['call-id'] === invite.headers['call-id'] &&
    cancel.headers.from.params.tag === invite.headers.from.params.tag &&
    cancel.headers.to.uri === invite.headers.to.uri &&
    (cancel.headers.to.params.tag ?? null) === (invite.headers.to.params.tag ?? null) &&
    cancel.headers.cseq.seq === invite.headers.cseq.seq
  );
}

/** The same address, or two addresses of one carrier. */
function sameOrigin(a: string, b: string, carrierOf: (address: string) => { readonly id: string } | null): boolean {
  if (a === b) return true;
  const carrier = carrierOf(a);
  return carrier !== null && carrierOf(b)?.id === carrier.id;
}

function sameSentBy(a: Via, b: Via): boolean {
  return a.host.toLowerCase() === b.host.toLowerCase() && (a.port ?? 5060) === (b.port ?? 5060);
}

/**
 * The user part of a SIP URI, decoded; null when there is none. It runs to the `@` and may hold
 * `;` and `?` (RFC 3261 section 25.1, user-unreserved): telephone-subscriber parameters such as
 * `;npdi` are part of it. A password after `:` is not.
 */
export function requestUser(uri: string): string | null {
  const match = /^sips?:([^@:]+)(?::[^@]*)?@/i.exec(uri);
  return match === null ? null : decodeUserPart(match[1]);
}

import type { Endpoint, ParsedUri, SipRequest } from '../sip/message';
import type { SipPort } from '../sip/port';
import type { Branch } from './branch';
import { forwardedRequest } from './proxy';
import { passUpstream } from './upstream';

/** What holds the early dialogs of a call being set up: its one branch, or a fork (a BranchSet). */
export interface EarlyDialogs {
  /** The ringing branch whose 1xx created the early dialog with this remote (target) tag, or null. */
  withEarlyDialog(tag: string): Branch | null;
}

/** The caller's side of the call: its INVITE and where it came from. */
export interface CallerLeg {
  readonly invite: SipRequest;
  readonly caller: Endpoint;
}

/**
 * Forwards a request within an early dialog of a call being set up: a PRACK for a reliable 1xx
 * (RFC 3262), an UPDATE (RFC 3311), an INFO (RFC 6086). An early dialog is one branch's: each
 * target's 1xx carries its own To tag (RFC 3261 section 12.1), so the tag names the leg.
 * - From the caller (its From tag is the INVITE's): the To tag is the target's; the request goes
 *   to the ringing branch whose 1xx had that tag. A PRACK's RAck names the RSeq and CSeq of the 1xx
 *   it acknowledges, but RSeq is counted per target and the CSeq is the INVITE's, the same on
 *   every branch: the tag is what tells the branches apart.
 * - From a target: its To tag is the caller's From tag and its From tag is its own; the request
 *   goes to the caller when a ringing branch has that early dialog.
 * Returns false when no ringing branch has the dialog the request names: the caller of this
 * function answers 481 (RFC 3261 section 12.2.2).
 */
export function forwardEarlyDialogRequest(
  request: SipRequest,
  dialogs: EarlyDialogs,
  leg: CallerLeg,
  port: SipPort,
  isOwnRoute: (uri: string | ParsedUri) => boolean,
): boolean {
  const callerTag = leg.invite.headers.from.params.tag;
  const fromCaller = request.headers.from.params.tag === callerTag;
  if (!fromCaller && request.headers.to.params.tag !== callerTag) return false;
  const targetTag = (fromCaller ? request.headers.to : request.headers.from).params.tag;
  const branch = typeof targetTag === 'string' && targetTag !== '' ? dialogs.withEarlyDialog(targetTag) : null;
  if (branch === null) return false;
  const forwarded = forwardedRequest(request, { uri: request.uri, isOwnRoute });
  port.send(forwarded, fromCaller ? branch.destination : leg.caller, passUpstream(port, request));
  return true;
}

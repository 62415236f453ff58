import { parseSipUri, uriHostPort } from '../../domain/sip-uri';
import type { SipRequest } from '../sip/message';

/**
 * Caller-ID presentation on a forwarded INVITE (FORWARD with `DIAL_PLAN_NUMBER`): the call
 * leaves presenting the dial plan's external number instead of the caller's.
 *
 * - `P-Asserted-Identity` (RFC 3325 section 9.1) becomes `<tel:NUMBER>`, replacing any the
 *   caller's carrier sent: toward the operator's outbound gateway (a trusted carrier, RFC 3325
 *   section 2.3) that is the identity the call is billed and screened by. A tel URI (RFC 3966)
 *   carries the number with no host to get wrong.
 * - The From URI's user part becomes the number, host and parameters kept, the display name
 *   dropped (the caller's name beside the company's number would mislead). The From tag is kept:
 *   dialogs are matched by Call-ID and tags (RFC 3261 section 12.2.2), not by the From URI, so the
 *   caller and the callee still share one dialog. RFC 3261 section 16.6 has a proxy leave From
 *   alone; carriers' SBCs rewrite it for presentation all the same, and a callee's display shows
 *   From. A From that is not a sip/sips URI becomes `tel:NUMBER`.
 * - `Privacy` (RFC 3323) is left as the caller sent it.
 *
 * In-dialog requests later on this proxied leg pass as they are: only the INVITE (and so its
 * CANCEL) presents the number.
 */
export const ASSERTED_IDENTITY = 'p-asserted-identity';

export function presentingNumber(request: SipRequest, number: string): SipRequest {
  const from = request.headers.from;
  const uri = parseSipUri(from.uri);
  const fromUri = uri === null ? `tel:${number}` : `${uri.scheme}:${number}@${uriHostPort(uri)}${uri.params}`;
  return {
    ...request,
    headers: {
      ...request.headers,
      from: { uri: fromUri, params: { ...from.params } },
      [ASSERTED_IDENTITY]: `<tel:${number}>`,
    },
  };
}

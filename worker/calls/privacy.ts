import type { SipRequest } from '../sip/message';

/**
 * The request's Privacy header (RFC 3323) as one value. A header sent several times reaches us
 * as one string, its values joined by `,` (the parser does so for every header it has no parser
 * of its own for), and `withholdsIdentity` splits on `,` and `;` alike: `Privacy: id` in a second
 * header hides the caller as much as in the first. Null when there is none.
 */
export function privacyOf(request: SipRequest): string | null {
  const value = request.headers.privacy;
  return typeof value === 'string' ? value : null;
}

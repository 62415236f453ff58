import type { SipRequest } from '../sip/message';

/**
 * The request's Privacy header (RFC 3323) as one value: a header sent several times parses as a
 * list, read as its values joined by `;` (the header's own separator), so `Privacy: id` in a second
 * header hides the caller as much as in the first. Null when there is none.
 */
export function privacyOf(request: SipRequest): string | null {
  const value = request.headers.privacy;
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.filter((part): part is string => typeof part === 'string').join(';');
  return null;
}

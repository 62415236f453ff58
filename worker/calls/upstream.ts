import type { SipRequest, SipResponse } from '../sip/message';
import type { ResponseOrigin, SipPort } from '../sip/port';
import { upstreamResponse } from './proxy';

/**
 * The response callback of a request we forward: a response off the wire goes upstream as the
 * next hop sent it (our Via removed, RFC 3261 section 16.7); one our own stack made (a timeout, a
 * send that failed) is answered by us with its status, as a proxy does when a branch gives no
 * response (sections 16.7 step 6 and 16.9), so nothing we made up passes for the far end's.
 */
export function passUpstream(port: SipPort, request: SipRequest): (response: SipResponse, origin: ResponseOrigin) => void {
  return (response, origin) => {
    if (origin === 'wire') port.respond(upstreamResponse(response));
    else if (response.status >= 200) port.reply(request, response.status);
  };
}

import type { Endpoint, NameAddr, SipRequest, SipResponse } from '../sip/message';
import { ownNameAddr, ownString } from '../sip/own-string';
import type { SipPort } from '../sip/port';
import { contactOf } from './dialog-leg';

/**
 * What an INVITE branch keeps once it has ended, for the responses that still come: the stack's
 * INVITE client transaction hands every 2xx to its callback for 64*T1 after the first (RFC 6026
 * Accepted state), so whatever that callback reaches lives 32 s per call. This holds the answered
 * dialog's To tag and a copy of the few request fields an ACK and BYE need, never the call, its
 * messages or the strings they were parsed from; the branch that made it can be collected with
 * its call.
 *
 * A 2xx on the answered dialog is the target sending its answer again (it has not seen the
 * caller's ACK yet, RFC 3261 sections 13.3.1.4 and 16.7 step 10): `answerAgain` passes it on and
 * must itself hold no call. Any other 2xx (a branch given up, another dialog forked downstream)
 * answers a call nobody is on: it is ACKed and ended with BYE (section 15); its retransmissions
 * are ACKed again (section 13.2.2.4) but get no second BYE.
 */
/** Dialogs one ended branch ACKs and BYEs at most (see LateResponses.hangUp). */
export const MAX_HUNG_UP = 16;

export class LateResponses {
  /** To tags of the dialogs we ACKed and BYEd. */
  private hungUp: Set<string> | null = null;
  private readonly answeredTag: string | null;
  private readonly dialog: DialogFields;

  constructor(
    request: SipRequest,
    private readonly destination: Endpoint | null,
    answeredTag: string | null,
    private readonly answerAgain: (response: SipResponse) => void,
    private readonly port: SipPort,
  ) {
    // Strings of their own: a parsed header value can be a slice of the whole datagram it came in.
    this.answeredTag = answeredTag === null ? null : ownString(answeredTag);
    this.dialog = { uri: ownString(request.uri), from: ownNameAddr(request.headers.from), callId: ownString(request.headers['call-id']), seq: request.headers.cseq.seq };
  }

  /** A response from the target after the branch ended. Only a 2xx matters. */
  receive(response: SipResponse): void {
    if (response.status < 200 || response.status >= 300) return;
    if (toTag(response) === this.answeredTag) this.answerAgain(response);
    else this.hangUp(response);
  }

  /**
   * ACKs `response` (a 2xx) and, the first time for its dialog, BYEs it. The target chooses the
   * tags: past MAX_HUNG_UP dialogs a 2xx with yet another one gets nothing, so that a target
   * sending a new tag in each neither grows this set nor draws two requests per datagram.
   */
  hangUp(response: SipResponse): void {
    const tag = toTag(response);
    this.hungUp ??= new Set();
    const again = this.hungUp.has(tag);
    if (!again) {
      if (this.hungUp.size >= MAX_HUNG_UP) return;
      this.hungUp.add(ownString(tag));
    }
    const { dialog } = this;
    const uri = contactOf(response) ?? dialog.uri;
    const headers = { to: response.headers.to, from: dialog.from, 'call-id': dialog.callId, via: [], 'max-forwards': 70 };
    this.port.sendAck({ method: 'ACK', uri, headers: { ...headers, via: [], cseq: { seq: dialog.seq, method: 'ACK' } } }, this.destination);
    if (again) return;
    this.port.send({ method: 'BYE', uri, headers: { ...headers, cseq: { seq: dialog.seq + 1, method: 'BYE' } } }, this.destination, () => undefined);
  }
}

interface DialogFields {
  readonly uri: string;
  readonly from: NameAddr;
  readonly callId: string;
  readonly seq: number;
}

export function toTag(response: SipResponse): string {
  return String(response.headers.to.params.tag ?? '');
}

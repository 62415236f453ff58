import type { Logger } from 'pino';
import type { Clock, Timer } from '../clock';
import type { Endpoint, SipRequest, SipResponse } from '../sip/message';
import type { ResponseOrigin, SipPort } from '../sip/port';
import { DIALOG_LINGER_MS } from '../sip/timers';
import { byeRequest, dialogLegs, type DialogLeg } from './dialog-leg';
import type { AnsweredCall, ChannelGate } from './call-deps';
import type { CallRecorder } from './recorder';
import { forwardedRequest } from './proxy';
import { reapAfterSeconds, sessionAnswer, sessionRequest, type SessionTimer } from './session-timer';
import { passUpstream } from './upstream';
import { ownString } from '../sip/own-string';

type Side = 'caller' | 'callee';

/** Why a call ended: a BYE came through, we ended it (no refresh, too long), or the worker stopped. */
type EndReason = 'bye' | 'session-expired' | 'max-call-length' | 'shutdown';

/** RFC 3326 Reason of the BYEs we send when we end a call ourselves. */
const REASON: Readonly<Record<'session-expired' | 'max-call-length', string>> = {
  'session-expired': 'SIP;cause=408;text="Session expired"',
  // Q.850 cause 102: recovery on timer expiry.
  'max-call-length': 'Q.850;cause=102;text="Maximum call length"',
};

/**
 * An answered call. Once it has ended it lingers 32 s (DIALOG_LINGER_MS) with its tags and its
 * ends' addresses only, in strings of their own (ownString): at 1,000 calls/s that is 32,000 of them.
 */
interface Dialog {
  readonly call: Omit<AnsweredCall, 'invite' | 'answer' | 'answerSent'>;
  /** The 2xx as the caller got it, until the dialog ends. */
  answerSent: SipResponse | null;
  /** Null once the dialog ended: only our own BYEs, sent before that, need them. */
  legs: Readonly<Record<Side, DialogLeg>> | null;
  /** The highest CSeq seen in a request of this dialog: our BYEs go above it. */
  cseq: number;
  readonly answeredAt: number;
  /** The maximum call length in force when the call was answered, in milliseconds. */
  readonly maxCallLengthMs: number;
  /** The session timer the last 2xx to a session refresh put in force (RFC 4028), with its refresher's side; null: none. */
  session: (SessionTimer & { readonly refresherSide: Side | null }) | null;
  ended: boolean;
  /** The session's expiry or the maximum call length while up; the linger after the end. */
  timer: Timer;
}

export interface DialogTableDeps {
  readonly port: SipPort;
  readonly clock: Clock;
  readonly channels: ChannelGate;
  readonly recorder: CallRecorder;
  readonly logger: Logger;
  /** The operator's maximum call length now, in seconds: a call takes the one in force at its answer. */
  readonly maxCallLengthSeconds: () => number;
  /** How long one second of a session interval or of the maximum call length lasts: 1000, shortened by tests. */
  readonly secondMs: number;
  /** The dialog is gone: its Call-ID needs no affinity any more. */
  readonly onGone: (callId: string) => void;
}

/**
 * The answered calls of this worker. We record-routed them, so their in-dialog requests (ACK,
 * BYE, re-INVITE, UPDATE, INFO ...) come through us: each goes to the other end, at the address
 * we know it by (the PBX's registered flow, the carrier's source). BYE ends the call, gives back
 * its channel and writes its end time.
 *
 * A call whose ends both went away without a BYE is ended by us, BYE to both ends: when its
 * session timer (RFC 4028, negotiated through us: session-timer.ts) expires with no refresh, or,
 * when its ends agreed on no session timer, at the maximum call length.
 */
export class DialogTable {
  private readonly dialogs = new Map<string, Dialog>();
  private readonly isOwnRoute = (uri: Parameters<SipPort['isOwnUri']>[0]) => this.deps.port.isOwnUri(uri);

  constructor(private readonly deps: DialogTableDeps) {}

  get size(): number {
    return this.dialogs.size;
  }

  /** Live (not ended) calls, for the worker's health report. */
  liveCount(): number {
    let live = 0;
    for (const dialog of this.dialogs.values()) if (!dialog.ended) live++;
    return live;
  }

  callIds(): string[] {
    return [...this.dialogs.keys()];
  }

  add(answered: AnsweredCall): void {
    const { invite, answer, answerSent, ...fields } = answered;
    const call = { ...fields, callId: ownString(fields.callId), callerTag: ownString(fields.callerTag), calleeTag: ownString(fields.calleeTag) };
    const now = this.deps.clock.now();
    const dialog: Dialog = {
      call,
      answerSent,
      legs: dialogLegs(invite, answer, { caller: call.caller, callee: call.callee }, this.isOwnRoute),
      cseq: invite.headers.cseq.seq,
      answeredAt: now,
      maxCallLengthMs: this.deps.maxCallLengthSeconds() * this.deps.secondMs,
      session: null,
      ended: false,
      timer: { cancel: () => undefined },
    };
    this.dialogs.set(call.callId, dialog);
    this.sessionAnswered(dialog, sessionAnswer(invite, answer).timer, 'caller');
  }

  has(callId: string): boolean {
    return this.dialogs.has(callId);
  }

  /**
   * The callee sent its 2xx again: it has not seen the caller's ACK (RFC 3261 sections 13.3.1.4
   * and 16.7 step 10), so the caller gets the answer again, as first sent, until the dialog ends.
   * A 2xx of another dialog is not ours to pass on (the branch hangs those up). A property, so
   * that calls can be handed it as it is: it holds the table, never a call.
   */
  readonly answerAgain = (response: SipResponse): void => {
    const dialog = this.dialogs.get(response.headers['call-id']);
    if (dialog?.answerSent == null || String(response.headers.to.params.tag ?? '') !== dialog.call.calleeTag) return;
    this.deps.port.respond(dialog.answerSent);
  };

  /** Routes an in-dialog request. Returns false when no dialog of ours matches. */
  handle(request: SipRequest): boolean {
    const dialog = this.dialogs.get(request.headers['call-id']);
    if (dialog === undefined) return false;
    const { call } = dialog;
    const fromTag = String(request.headers.from.params.tag ?? '');
    const toTag = String(request.headers.to.params.tag ?? '');
    const fromCaller = fromTag === call.callerTag && (toTag === call.calleeTag || call.calleeTag === '');
    const fromCallee = fromTag === call.calleeTag && toTag === call.callerTag;
    if (!fromCaller && !fromCallee) return false;
    const destination: Endpoint | null = fromCaller ? call.callee : call.caller;
    if (request.method === 'ACK') {
      this.deps.port.sendAck(forwardedRequest(request, { uri: request.uri, isOwnRoute: this.isOwnRoute }), destination);
      return true;
    }
    dialog.cseq = Math.max(dialog.cseq, request.headers.cseq.seq);
    const refresh = (request.method === 'INVITE' || request.method === 'UPDATE') && !dialog.ended;
    const side: Side = fromCaller ? 'caller' : 'callee';
    let outgoing = request;
    if (refresh) {
      const verdict = sessionRequest(request);
      if (verdict.kind === 'reject') {
        this.deps.port.reply(request, 422, 'Session Interval Too Small', { headers: { 'min-se': String(verdict.minSe) } });
        return true;
      }
      outgoing = verdict.request;
    }
    const forwarded = forwardedRequest(outgoing, { uri: request.uri, isOwnRoute: this.isOwnRoute });
    const upstream = passUpstream(this.deps.port, request);
    const onResponse = (response: SipResponse, origin: ResponseOrigin): void =>
      upstream(refresh && origin === 'wire' ? this.refreshAnswered(dialog, forwarded, response, side) : response, origin);
    this.deps.port.send(forwarded, destination, onResponse);
    if (request.method === 'BYE') this.end(dialog, 'bye');
    return true;
  }

  /** Ends every dialog: the worker is stopping. Channels are given back; records get their end. */
  endAll(): void {
    for (const dialog of this.dialogs.values()) this.end(dialog, 'shutdown');
  }

  /**
   * A response to a session refresh (re-INVITE or UPDATE) from `side`: a 2xx restarts the session
   * timer with what it says (RFC 4028 section 8.2), completed as session-timer.ts says; anything
   * else leaves the session as it was (a refused refresh changes nothing, section 10).
   */
  private refreshAnswered(dialog: Dialog, request: SipRequest, response: SipResponse, side: Side): SipResponse {
    if (response.status < 200 || response.status >= 300 || dialog.ended) return response;
    const answered = sessionAnswer(request, response);
    this.sessionAnswered(dialog, answered.timer, side);
    return answered.response;
  }

  /** A 2xx to a session refresh sent by `side` put `timer` in force (or none): the dialog's timer starts again. */
  private sessionAnswered(dialog: Dialog, timer: SessionTimer | null, side: Side): void {
    const other: Side = side === 'caller' ? 'callee' : 'caller';
    dialog.session = timer === null ? null : { ...timer, refresherSide: timer.refresher === null ? null : timer.refresher === 'uac' ? side : other };
    dialog.timer.cancel();
    const { clock, secondMs } = this.deps;
    if (dialog.session !== null) {
      dialog.timer = clock.after(reapAfterSeconds(dialog.session.seconds) * secondMs, () => this.reap(dialog, 'session-expired'));
      return;
    }
    // No session timer (any more): the maximum call length, counted from the answer.
    const left = dialog.answeredAt + dialog.maxCallLengthMs - clock.now();
    dialog.timer = clock.after(Math.max(0, left), () => this.reap(dialog, 'max-call-length'));
  }

  /**
   * Ends a call nobody ended: the channel, the record and the log as for any end (first: a BYE
   * that cannot be sent must not keep them), then BYE to both ends, each in the other's name within
   * its dialog, with a CSeq above every one seen in the dialog (so above the one the receiver
   * compares with, RFC 3261 section 12.2.2).
   */
  private reap(dialog: Dialog, why: 'session-expired' | 'max-call-length'): void {
    const { legs } = dialog;
    if (dialog.ended || legs === null) return;
    this.end(dialog, why);
    const { callId } = dialog.call;
    dialog.cseq++;
    for (const side of ['caller', 'callee'] as const) {
      const leg = legs[side];
      try {
        this.deps.port.send(byeRequest(leg, callId, dialog.cseq, REASON[why]), leg.endpoint, () => undefined);
      } catch (error) {
        this.deps.logger.error({ err: error, callId, side }, 'BYE ending a call not sent');
      }
    }
  }

  private end(dialog: Dialog, why: EndReason): void {
    if (dialog.ended) return;
    dialog.ended = true;
    dialog.answerSent = null;
    dialog.legs = null;
    dialog.timer.cancel();
    const { call } = dialog;
    // Kept a while so retransmitted BYEs and their responses still find their way. Armed first:
    // a fault in what follows must not keep the dialog (and its Call-ID) for ever.
    dialog.timer = this.deps.clock.after(DIALOG_LINGER_MS, () => {
      this.dialogs.delete(call.callId);
      this.deps.onGone(call.callId);
    });
    if (call.channelTrunkId !== null) this.deps.channels.release(call.channelTrunkId);
    const now = this.deps.clock.now();
    this.deps.recorder.ended(call.recordId, new Date(now));
    if (why === 'bye') return;
    const { session } = dialog;
    this.deps.logger.warn(
      { callId: call.callId, why, trunkId: call.channelTrunkId ?? undefined, lastedMs: now - dialog.answeredAt, sessionSeconds: session?.seconds, refresher: session?.refresherSide ?? undefined },
      'call ended without a BYE',
    );
  }
}

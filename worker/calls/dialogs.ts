import type { Logger } from 'pino';
import type { Clock, Timer } from '../clock';
import type { Endpoint, SipRequest } from '../sip/message';
import type { SipPort } from '../sip/port';
import { DIALOG_LINGER_MS, MAX_CALL_DURATION_MS } from '../sip/timers';
import type { AnsweredCall, ChannelGate } from './inbound-call';
import type { CallRecorder } from './recorder';
import { forwardedRequest } from './proxy';
import { passUpstream } from './upstream';

interface Dialog {
  readonly call: AnsweredCall;
  ended: boolean;
  /** `maxDuration` while up, `linger` after BYE. */
  timer: Timer;
}

/**
 * The answered calls of this worker. We record-routed them, so their in-dialog requests (ACK,
 * BYE, re-INVITE, UPDATE, INFO ...) come through us: each goes to the other end, at the address
 * we know it by (the PBX's registered flow, the carrier's source). BYE ends the call, gives back
 * its channel and writes its end time.
 */
export class DialogTable {
  private readonly dialogs = new Map<string, Dialog>();

  constructor(
    private readonly deps: {
      readonly port: SipPort;
      readonly clock: Clock;
      readonly channels: ChannelGate;
      readonly recorder: CallRecorder;
      readonly logger: Logger;
      /** The dialog is gone: its Call-ID needs no affinity any more. */
      readonly onGone: (callId: string) => void;
    },
  ) {}

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

  add(call: AnsweredCall): void {
    const timer = this.deps.clock.after(MAX_CALL_DURATION_MS, () => this.expire(call.callId));
    this.dialogs.set(call.callId, { call, ended: false, timer });
  }

  has(callId: string): boolean {
    return this.dialogs.has(callId);
  }

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
    const forwarded = forwardedRequest(request, { uri: request.uri, isOwnRoute: (uri) => this.deps.port.isOwnUri(uri) });
    if (request.method === 'ACK') {
      this.deps.port.sendAck(forwarded, destination);
      return true;
    }
    this.deps.port.send(forwarded, destination, passUpstream(this.deps.port, request));
    if (request.method === 'BYE') this.end(dialog, 'bye');
    return true;
  }

  /** Ends every dialog: the worker is stopping. Channels are given back; records get their end. */
  endAll(): void {
    for (const dialog of this.dialogs.values()) this.end(dialog, 'shutdown');
  }

  private end(dialog: Dialog, why: 'bye' | 'max-duration' | 'shutdown'): void {
    if (dialog.ended) return;
    dialog.ended = true;
    dialog.timer.cancel();
    const { call } = dialog;
    // Kept a while so retransmitted BYEs and their responses still find their way. Armed first:
    // a fault in what follows must not keep the dialog (and its Call-ID) for ever.
    dialog.timer = this.deps.clock.after(DIALOG_LINGER_MS, () => {
      this.dialogs.delete(call.callId);
      this.deps.onGone(call.callId);
    });
    if (call.channelTrunkId !== null) this.deps.channels.release(call.channelTrunkId);
    this.deps.recorder.ended(call.recordId, new Date(this.deps.clock.now()));
    if (why !== 'bye') this.deps.logger.warn({ callId: call.callId, why }, 'call ended without a BYE');
  }

  private expire(callId: string): void {
    const dialog = this.dialogs.get(callId);
    if (dialog !== undefined) this.end(dialog, 'max-duration');
  }
}

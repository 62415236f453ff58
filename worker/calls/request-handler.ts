import type { HealthEvidence } from '../../domain/trunk-health';
import type { TrialView } from '../health/trial-counter';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { CallOutcome } from '../../domain/call';
import type { Clock } from '../clock';
import type { Snapshot } from '../config/snapshot';
import type { Endpoint, NameAddr, SipRequest } from '../sip/message';
import { ownString } from '../sip/own-string';
import type { ResponseExtension, SipPort } from '../sip/port';
import { ownAddressMatcher } from '../sip/own-address';
import { DIALOG_LINGER_MS } from '../sip/timers';
import type { Registrar } from '../registrar/registrar';
import { DialogTable } from './dialogs';
import type { ChannelGate } from './call-deps';
import { InboundCall } from './inbound-call';
import { maxForwards, ownRecordRoute, requestUser } from './proxy';
import { dialledOf } from './did';
import { sessionRequest } from './session-timer';
import type { CallRecorder } from './recorder';
import type { WorkerCounters } from './counters';
import type { WebhookClient } from '../../net/webhook-client';
import { OVERLOAD_RETRY_AFTER_S } from './sojourn-guard';

export const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, UPDATE, INFO, PRACK, REFER, NOTIFY';

/** Methods we take only within a dialog we record-routed: outside one they get 481, not 405. */
const DIALOG_METHODS: ReadonlySet<string> = new Set(['BYE', 'UPDATE', 'INFO', 'PRACK', 'REFER', 'NOTIFY']);

/** The only SIP version there is (RFC 3261 section 7.1). */
const SIP_VERSION = '2.0';

/** INVITEs from a source that is no carrier are logged at most once per this long, with their count. */
export const UNTRUSTED_LOG_INTERVAL_MS = 10_000;

export interface RequestHandlerDeps {
  readonly port: SipPort;
  readonly clock: Clock;
  readonly channels: ChannelGate;
  readonly recorder: CallRecorder;
  readonly registrar: Registrar;
  readonly logger: Logger;
  readonly counters: WorkerCounters;
  readonly worker: string;
  readonly timerCMs: number;
  /** How long one second of a session interval or of the maximum call length lasts: 1000, shortened by tests. */
  readonly dialogSecondMs: number;
  readonly snapshot: () => Snapshot;
  /** A Call-ID this worker is done with: the edge may forget its affinity. */
  readonly unpin: (callId: string) => void;
  /** False while draining: new calls are refused with 503 so the carrier retries elsewhere. */
  readonly accepting: () => boolean;
  /** True while the worker is overloaded: new calls are shed with 503 (see load-guard.ts). */
  readonly overloaded: () => boolean;
  /** Sends the dial plans' webhooks. */
  readonly webhookClient: WebhookClient;
  /** Counts calls to `DOWN` trunks for trial calls. */
  readonly trials?: TrialView;
  /** Takes each call's evidence of its trunk's health. */
  readonly evidence?: (trunkId: string, evidence: HealthEvidence) => void;
}

/**
 * The worker's front door for SIP requests (DESIGN section 4 step 1): loop and hop checks, then
 * REGISTER to the registrar, a new INVITE (from a trusted carrier only) to a new call, CANCEL to
 * its call, in-dialog requests to their dialog, OPTIONS answered, anything else refused.
 */
export class RequestHandler {
  readonly dialogs: DialogTable;
  private readonly calls = new Map<string, InboundCall>();
  /** Call-IDs whose last transaction still lingers, with how many lingers are running. */
  private readonly lingering = new Map<string, number>();
  private readonly recordRoute: NameAddr;
  /** Our own public address, canonicalised once: every Via of every request is tested against it. */
  private readonly isOwnAddress: (host: string, port: number | undefined) => boolean;
  /** Untrusted INVITEs since the last log line about them, and when that line was written. */
  private untrusted = { count: 0, loggedAt: -Infinity };

  constructor(private readonly deps: RequestHandlerDeps) {
    this.recordRoute = ownRecordRoute(deps.port.publicAddress, deps.port.publicPort);
    this.isOwnAddress = ownAddressMatcher({ address: deps.port.publicAddress, port: deps.port.publicPort });
    this.dialogs = new DialogTable({
      port: deps.port,
      clock: deps.clock,
      channels: deps.channels,
      recorder: deps.recorder,
      logger: deps.logger,
      maxCallLengthSeconds: () => deps.snapshot().maxCallLengthSeconds,
      secondMs: deps.dialogSecondMs,
      onGone: (callId) => {
        if (!this.lingering.has(callId) && !this.calls.has(callId)) deps.unpin(callId);
      },
    });
  }

  /** Calls being set up plus calls up: what the supervisor balances and drains on. */
  liveCalls(): number {
    return this.calls.size + this.dialogs.liveCount();
  }

  /** Call-IDs this worker still needs routed to it. */
  liveCallIds(): string[] {
    return [...this.calls.keys(), ...this.dialogs.callIds()];
  }

  handle(request: SipRequest, remote: Endpoint): void {
    const { port, counters } = this.deps;
    counters.request(request.method);
    if (request.version !== undefined && request.version !== SIP_VERSION) {
      // RFC 3261 section 21.5.6; an ACK gets no response. The 505 itself speaks SIP/2.0.
      counters.drop('version-not-supported');
      if (request.method !== 'ACK') this.refuse({ ...request, version: SIP_VERSION }, 505, 'Version Not Supported');
      return;
    }
    if (request.method === 'ACK') {
      // ACKs for our non-2xx answers end in their transaction; these are for 2xx: route or drop.
      if (!this.dialogs.handle(request)) counters.drop('stray-ack');
      return;
    }
    if (maxForwards(request) === 0) {
      this.refuse(request, 483, 'Too Many Hops');
      return;
    }
    if (request.headers.via.some((via) => this.isOwnAddress(via.host, via.port))) {
      // Our own Via already on it: the request went round and came back (RFC 3261 section 16.3 step 4).
      this.refuse(request, 482, 'Loop Detected');
      return;
    }
    const inDialog = request.headers.to.params.tag != null;
    switch (request.method) {
      case 'REGISTER':
        void this.deps.registrar.handle(request, remote).catch((error: unknown) => {
          this.deps.logger.error({ err: error }, 'REGISTER failed');
          port.reply(request, 500, 'Server Internal Error');
        });
        return;
      case 'INVITE':
        if (inDialog) this.inDialog(request);
        else this.newCall(request, remote);
        return;
      case 'CANCEL':
        this.cancel(request, remote);
        return;
      case 'OPTIONS':
        if (inDialog) this.inDialog(request);
        else port.reply(request, 200, 'OK', { headers: { allow: ALLOW, accept: 'application/sdp' } });
        return;
      default:
        if (inDialog) this.inDialog(request);
        // A method we allow, but only within a dialog, and this names none (RFC 3261 section 15.1.2).
        else if (DIALOG_METHODS.has(request.method)) this.refuse(request, 481, 'Call/Transaction Does Not Exist');
        else this.refuse(request, 405, 'Method Not Allowed', { headers: { allow: ALLOW } });
    }
  }

  private newCall(request: SipRequest, remote: Endpoint): void {
    const { port, counters } = this.deps;
    const snapshot = this.deps.snapshot();
    if (snapshot.carrierOf(remote.address) === null) {
      // The edge refuses these itself once it knows the carriers (edge/admission.ts); until then
      // they come here, possibly as a flood: counted, and logged at most once per interval.
      counters.drop('untrusted-source');
      this.noteUntrusted(remote);
      this.refuse(request, 403, 'Forbidden');
      return;
    }
    const callId = request.headers['call-id'];
    if (this.calls.has(callId) || this.dialogs.has(callId)) {
      // Same Call-ID, new transaction, while the first is still on: a merged request (section 8.2.2.2).
      // The Call-ID is the live call's: refuse() leaves it bound.
      this.refuse(request, 482, 'Loop Detected');
      return;
    }
    if (!this.deps.accepting() || this.deps.overloaded()) {
      counters.drop(this.deps.accepting() ? 'overload' : 'draining');
      this.refuse(request, 503, 'Service Unavailable', { headers: { 'retry-after': String(OVERLOAD_RETRY_AFTER_S) } });
      this.deps.recorder.record({
        id: randomUUID(),
        callId,
        companyId: null,
        trunkId: null,
        ...dialledOf(request.uri),
        caller: requestUser(request.headers.from.uri),
        startedAt: new Date(this.deps.clock.now()),
        endedAt: new Date(this.deps.clock.now()),
        outcome: CallOutcome.REJECTED,
        failoverReason: null,
        finalStatus: 503,
        attempts: [],
        steps: [],
        worker: this.deps.worker,
      });
      return;
    }
    const session = sessionRequest(request);
    if (session.kind === 'reject') {
      // RFC 4028 section 8.1: the caller asked for a session interval below ours and can ask again
      // (same Call-ID, a higher CSeq). A negotiation step, not a call: no record.
      counters.drop('session-interval-too-small');
      this.refuse(request, 422, 'Session Interval Too Small', { headers: { 'min-se': String(session.minSe) } });
      return;
    }
    // The call forwards the INVITE with the session timer completed, to the PBX and to any dial plan target.
    const call = new InboundCall(session.request, remote, snapshot, {
      port,
      clock: this.deps.clock,
      channels: this.deps.channels,
      recorder: this.deps.recorder,
      logger: this.deps.logger,
      worker: this.deps.worker,
      recordRoute: this.recordRoute,
      timerCMs: this.deps.timerCMs,
      onAnswered: (answered) => this.dialogs.add(answered),
      answerAgain: this.dialogs.answerAgain,
      onSettled: (settled) => this.settled(settled),
      webhookClient: this.deps.webhookClient,
      trials: this.deps.trials,
      evidence: this.deps.evidence,
    });
    this.calls.set(callId, call);
    call.start();
  }

  /**
   * A fault was contained while handling a message with this Call-ID (worker/sip/stack.ts): its
   * call in setup, if any, is ended cleanly (InboundCall.abort: 500, channel back, one record) and
   * leaves the table, so its Call-ID is unpinned and a drain is not held up. An answered call's
   * dialog is left up: its state (tags and addresses) is set once and no in-dialog request changes
   * it, so a fault while forwarding one request costs that request; a dialog whose own end failed
   * still goes after its linger (dialogs.ts). Never throws.
   */
  abort(callId: string): void {
    try {
      const call = this.calls.get(callId);
      if (call === undefined) return;
      call.abort();
      // abort() settles the call, unless settling is what threw.
      this.settled(call);
    } catch (error) {
      this.deps.logger.error({ err: error, callId }, 'ending a call after a fault failed');
    }
  }

  private settled(call: InboundCall): void {
    // Setup is over: the call's state goes now (a CANCEL from here on finds nothing and gets 481).
    // The Call-ID stays routed here a while longer: the INVITE server transaction still absorbs
    // retransmissions and the ACK of a non-2xx. An answered call is a dialog of this worker, which
    // keeps it routed here until 64*T1 after its end, longer than this linger: it needs no timer of
    // its own (at 1,000 calls/s, 32,000 of them).
    if (this.calls.get(call.callId) !== call) return;
    this.calls.delete(call.callId);
    this.deps.counters.call();
    if (!this.dialogs.has(call.callId)) this.unpinAfterLinger(call.callId);
  }

  /**
   * Answers a request no call or dialog takes, and lets its Call-ID go once the transaction's
   * linger is over: the edge bound it when the request was an INVITE, and would keep it (and route
   * its retransmissions here) until its idle expiry otherwise.
   */
  private refuse(request: SipRequest, status: number, reason: string, extension?: ResponseExtension): void {
    this.deps.port.reply(request, status, reason, extension);
    this.unpinAfterLinger(request.headers['call-id']);
  }

  /**
   * Releases a Call-ID after DIALOG_LINGER_MS (64*T1: the server transaction absorbs retransmissions
   * and the ACK of a non-2xx that long, RFC 3261 section 17.2.1), once the last of its lingers is
   * over, and never while a call or dialog of this worker uses it (a merged request, a call that
   * came after a refusal).
   */
  private unpinAfterLinger(received: string): void {
    const callId = ownString(received);
    this.lingering.set(callId, (this.lingering.get(callId) ?? 0) + 1);
    this.deps.clock.after(DIALOG_LINGER_MS, () => {
      const left = (this.lingering.get(callId) ?? 1) - 1;
      if (left > 0) {
        this.lingering.set(callId, left);
        return;
      }
      this.lingering.delete(callId);
      if (!this.dialogs.has(callId) && !this.calls.has(callId)) this.deps.unpin(callId);
    });
  }

  private noteUntrusted(remote: Endpoint): void {
    this.untrusted.count++;
    const now = this.deps.clock.now();
    if (now - this.untrusted.loggedAt < UNTRUSTED_LOG_INTERVAL_MS) return;
    this.deps.logger.warn({ count: this.untrusted.count, lastSource: `${remote.address}:${remote.port}` }, 'INVITEs from sources that are no carrier refused (count since the last such line)');
    this.untrusted = { count: 0, loggedAt: now };
  }

  private cancel(request: SipRequest, remote: Endpoint): void {
    const call = this.calls.get(request.headers['call-id']);
    if (call === undefined || !call.isCancelledBy(request, remote)) {
      // No INVITE transaction of this source matches (RFC 3261 section 9.2): a late CANCEL, or a
      // guess at someone's Call-ID. Counted; logged at debug, as one datagram costs no more.
      this.deps.counters.drop('unmatched-cancel');
      this.deps.logger.debug({ source: `${remote.address}:${remote.port}`, callId: request.headers['call-id'], known: call !== undefined }, 'CANCEL matches no INVITE transaction');
      this.refuse(request, 481, 'Call/Transaction Does Not Exist');
      return;
    }
    this.deps.port.reply(request, 200, 'OK');
    call.cancel();
  }

  private inDialog(request: SipRequest): void {
    if (this.dialogs.handle(request)) return;
    const call = this.calls.get(request.headers['call-id']);
    if (call !== undefined && call.earlyDialogRequest(request)) return;
    this.refuse(request, 481, 'Call/Transaction Does Not Exist');
  }

  /** The worker is stopping: end what is up, so channels are given back and records closed. */
  stop(): void {
    this.dialogs.endAll();
  }
}

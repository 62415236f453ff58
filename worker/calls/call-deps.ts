import type { Logger } from 'pino';
import type { HealthEvidence } from '../../domain/trunk-health';
import type { WebhookClient } from '../../net/webhook-client';
import type { Clock } from '../clock';
import type { TrialView } from '../health/trial-counter';
import type { ChannelView } from '../routing/route';
import type { Endpoint, NameAddr, SipRequest, SipResponse } from '../sip/message';
import type { SipPort } from '../sip/port';
import type { InboundCall } from './inbound-call';
import type { CallRecorder } from './recorder';

/**
 * What an inbound call is given by its worker (CallDeps), and what it hands on: the shared channel
 * count it takes from, and the answered call its dialog takes over.
 */

/** Per-trunk channels across workers: read for `decide()`, taken and given back here. */
export interface ChannelGate extends ChannelView {
  tryAcquire(trunkId: string, limit: number): boolean;
  release(trunkId: string): void;
  /** True when a refusal came from the shared table being full, not from the trunk's limit. */
  isFull(trunkId: string): boolean;
}

/** The far ends of an answered call, for routing in-dialog requests. */
export interface AnsweredCall {
  readonly callId: string;
  readonly callerTag: string;
  readonly calleeTag: string;
  readonly caller: Endpoint;
  readonly callee: Endpoint | null;
  /** The trunk whose channel the call holds until BYE, or null (failover legs hold none). */
  readonly channelTrunkId: string | null;
  readonly recordId: string;
  /** The caller's INVITE (its session timer completed, session-timer.ts) and the 2xx that answered it: the two legs of the dialog. */
  readonly invite: SipRequest;
  readonly answer: SipResponse;
  /** The 2xx as the caller got it: sent again while the callee retransmits its answer. */
  readonly answerSent: SipResponse;
}

export interface CallDeps {
  readonly port: SipPort;
  readonly clock: Clock;
  readonly channels: ChannelGate;
  readonly recorder: CallRecorder;
  readonly logger: Logger;
  /** `node/worker`, written on the call record. */
  readonly worker: string;
  readonly recordRoute: NameAddr;
  /** Timer C of the PBX branch (RFC 3261 section 16.6 step 11). */
  readonly timerCMs: number;
  /** The call was answered: its dialog now routes BYE and re-INVITE. */
  readonly onAnswered: (call: AnsweredCall) => void;
  /**
   * A 2xx the callee sent again after its branch ended, for whichever call it answered: one
   * function per worker, holding no call, since a branch keeps it for 32 s (LateResponses).
   */
  readonly answerAgain: (response: SipResponse) => void;
  /** Setup is over (answered or failed): the INVITE transaction's state can go. */
  readonly onSettled: (call: InboundCall) => void;
  /** Counts calls to `DOWN` trunks for trial calls (default: none is a trial). */
  readonly trials?: TrialView;
  /** Takes what an attempt to the PBX says about its trunk's health (default: dropped). */
  readonly evidence?: (trunkId: string, evidence: HealthEvidence) => void;
  /** Sends the dial plan's webhooks; one per worker. */
  readonly webhookClient: WebhookClient;
}

import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { CallOutcome, type CallAttempt, type FailoverReason } from '../../domain/call';
import type { DialPlanConfig, Snapshot } from '../config/snapshot';
import { PlanRunner, type PlanBranchOptions } from '../dialplan/runner';
import type { BranchSet } from './branch-set';
import { decide, next } from '../routing/decide';
import { TRIAL_NO_PROVISIONAL_MS, type AttemptOutcome, type Route } from '../routing/route';
import { callEvidence } from '../health/call-evidence';
import type { Endpoint, SipRequest, SipResponse } from '../sip/message';
import type { SipPort } from '../sip/port';
import { Branch } from './branch';
import { planCallFor } from './plan-call';
import { cancelMatches, forwardedRequest, requestUser, responseForCaller } from './proxy';
import { forwardEarlyDialogRequest } from './early-dialog';
import { dialledOf, type Dialled } from './did';
import { guarded } from './guarded';
import { StepLog } from './step-log';
import { sessionAnswer } from './session-timer';
import type { CallDeps } from './call-deps';

type Phase =
  | { readonly kind: 'routing' }
  /** A branch (to the PBX or a dial plan's target) is out; the caller's CANCEL goes to it. */
  | { readonly kind: 'ringing'; readonly branch: Branch }
  /** A dial plan's fork (a parallel ring group) is out; the caller's CANCEL goes to every branch. */
  | { readonly kind: 'forking'; readonly set: BranchSet }
  | { readonly kind: 'settled' };

/** The reason `InboundCall.ended` aborts with. */
const CALL_SETTLED = 'the call settled';

/**
 * One inbound call from a carrier, from INVITE to the end of setup (DESIGN section 4): 100
 * Trying, `decide()`, delivery to the PBX or the failover dial plan, `next()` on each outcome,
 * and one call record. The caller's CANCEL is honoured in every phase and never fails over.
 */
export class InboundCall {
  readonly callId: string;
  readonly recordId = randomUUID();
  private phase: Phase = { kind: 'routing' };
  /**
   * Made when a dial plan runs (a delivered call never needs it); aborted when the call settles:
   * the plan's steps stop what they still have out (webhooks).
   */
  private ended: AbortController | null = null;
  private readonly startedAt: number;
  private readonly attempts: CallAttempt[] = [];
  private readonly steps = new StepLog();
  private childLogger: Logger | null = null;
  private heldChannel: string | null = null;
  private failoverReason: FailoverReason | null = null;
  private trunkId: string | null = null;
  private companyId: string | null = null;
  /** The route taken, for the call's log line: `deliver`, `failover`, `dial-plan` or `reject`. */
  private decision: string = 'none';
  /** A fault ended the call (`abort`). */
  private faulted = false;
  /** A final response went to the caller (or was being sent when something threw). */
  private finalSent = false;
  /** What the carrier dialled: the DID routing uses, and the raw user part for the record and the log. */
  private readonly dialled: Dialled;
  private readonly isOwnRoute = (uri: Parameters<SipPort['isOwnUri']>[0]) => this.deps.port.isOwnUri(uri);

  constructor(
    private readonly invite: SipRequest,
    private readonly caller: Endpoint,
    private readonly snapshot: Snapshot,
    private readonly deps: CallDeps,
  ) {
    this.callId = invite.headers['call-id'];
    this.startedAt = deps.clock.now();
    this.dialled = dialledOf(invite.uri);
  }

  /** The call's own logger, made when first needed: most calls log one line. */
  private get logger(): Logger {
    this.childLogger ??= this.deps.logger.child({ callId: this.callId });
    return this.childLogger;
  }

  /** A request within an early dialog of a branch now ringing (early-dialog.ts); false when none has that dialog. */
  earlyDialogRequest(request: SipRequest): boolean {
    const { phase } = this;
    const dialogs = phase.kind === 'ringing' ? phase.branch : phase.kind === 'forking' ? phase.set : null;
    return dialogs !== null && forwardEarlyDialogRequest(request, dialogs, { invite: this.invite, caller: this.caller }, this.deps.port, this.isOwnRoute);
  }

  /** Answers 100 Trying at once, then routes. */
  start(): void {
    this.deps.port.reply(this.invite, 100, 'Trying');
    this.execute(decide({ did: this.dialled.did }, this.snapshot, this.deps.clock.now(), this.deps.channels, this.deps.trials));
  }

  /** True when `request` is a CANCEL of this call's INVITE from its caller's carrier (RFC 3261 section 9.2). */
  isCancelledBy(request: SipRequest, source: Endpoint): boolean {
    return cancelMatches(this.invite, this.caller, request, source, this.snapshot.carrierOf);
  }

  /** The caller sent CANCEL for this INVITE (RFC 3261 section 16.10). */
  cancel(): void {
    const phase = this.phase;
    if (phase.kind === 'settled') return;
    this.answer(487, 'Request Terminated');
    if (phase.kind === 'ringing') phase.branch.cancelByCaller();
    if (phase.kind === 'forking') phase.set.cancelByCaller();
    this.settle(CallOutcome.CANCELLED, 487);
  }

  /**
   * A fault was contained while handling a message of this call (a bug, worker/sip/containment.ts):
   * end the call cleanly, once, whatever state the fault left it in. The branch is given up (CANCEL
   * after a 1xx, and a late 2xx still gets ACK and BYE from the branch), the caller gets 500 unless
   * a final response already went out, the channel is given back and the record written
   * (REJECTED, 500). Never throws: it runs where a fault was just caught.
   */
  abort(): void {
    const phase = this.phase;
    if (phase.kind === 'settled') return;
    this.faulted = true;
    if (phase.kind === 'ringing') {
      guarded(this.logger, 'giving up the branch', () => {
        if (phase.branch.abort()) this.attempts.push(phase.branch.attempt());
      });
    }
    if (phase.kind === 'forking') {
      guarded(this.logger, 'giving up the fork', () => {
        phase.set.abort();
        this.attempts.push(...phase.set.attempts().map((entry) => entry.attempt));
      });
    }
    if (!this.finalSent) guarded(this.logger, 'answering 500', () => this.answer(500, 'Server Internal Error'));
    guarded(this.logger, 'settling', () => this.settle(CallOutcome.REJECTED, 500));
    // settle() gives the channel back first, but it may be what threw.
    guarded(this.logger, 'giving back the channel', () => this.releaseChannel());
  }

  /** `pbxFinal`: the PBX's final response the route follows from, relayed when the route says so. */
  private execute(route: Route, pbxFinal: SipResponse | null = null): void {
    switch (route.kind) {
      case 'Deliver':
        this.trunkOf(route.trunk.id, route.trunk.companyId);
        this.deliver(route);
        return;
      case 'Failover':
        this.trunkOf(route.trunk.id, route.trunk.companyId);
        this.failoverReason = route.failoverReason;
        this.decision = 'failover';
        this.runPlan(route.dialPlan);
        return;
      case 'RunDialPlan':
        this.companyId = route.dialPlan.companyId;
        this.decision = 'dial-plan';
        this.runPlan(route.dialPlan);
        return;
      case 'Reject':
        if (route.trunk !== null) this.trunkOf(route.trunk.id, route.trunk.companyId);
        this.failoverReason = route.failoverReason;
        this.decision = 'reject';
        if (route.relayPbxResponse && pbxFinal !== null) this.relay(pbxFinal);
        else this.answer(route.status);
        this.settle(CallOutcome.REJECTED, route.status);
        return;
      default: {
        const unknown: never = route;
        throw new Error(`unknown route ${JSON.stringify(unknown)}`);
      }
    }
  }

  private trunkOf(trunkId: string, companyId: string): void {
    this.trunkId = trunkId;
    this.companyId = companyId;
  }

  private deliver(route: Extract<Route, { kind: 'Deliver' }>): void {
    const { trunk, binding } = route;
    if (!this.deps.channels.tryAcquire(trunk.id, trunk.maxConcurrentCalls)) {
      if (this.deps.channels.isFull(trunk.id)) this.logger.error({ trunkId: trunk.id }, 'channel table full: raise the counter capacity');
      this.afterDelivery(route, { kind: 'ChannelsFull' }, null);
      return;
    }
    this.heldChannel = trunk.id;
    this.decision = 'deliver';
    const request = forwardedRequest(this.invite, { uri: binding.contact, recordRoute: this.deps.recordRoute, isOwnRoute: this.isOwnRoute });
    this.startBranch({
      request,
      destination: { address: binding.sourceAddress, port: binding.sourcePort },
      target: binding.contact,
      noProvisionalMs: route.trial === true ? TRIAL_NO_PROVISIONAL_MS : trunk.failover.noProvisionalTimeoutMs,
      ringMs: this.deps.timerCMs,
      ringFrom: 'provisional',
      onOutcome: (outcome, response) => this.afterDelivery(route, outcome, response),
    });
  }

  /**
   * Starts a branch of this call (to the PBX or for a dial plan's app): its 1xx and a retransmitted
   * 2xx go to the caller, its attempt goes on the record, the caller's CANCEL goes to it, and its
   * outcome is passed on only while the call is not settled.
   */
  private startBranch(options: PlanBranchOptions): void {
    const branch = new Branch(
      {
        ...options,
        onProvisional: (response) => this.relay(response),
        onAnswerRetransmitted: this.deps.answerAgain,
        onOutcome: (outcome, response) => {
          this.attempts.push(branch.attempt());
          if (this.phase.kind !== 'settled') options.onOutcome(outcome, response);
        },
      },
      this.deps.port,
      this.deps.clock,
    );
    this.phase = { kind: 'ringing', branch };
    branch.start();
  }

  private afterDelivery(route: Extract<Route, { kind: 'Deliver' }>, outcome: AttemptOutcome, response: SipResponse | null): void {
    if (this.phase.kind === 'settled') return;
    const evidence = callEvidence(route, outcome);
    if (evidence !== null) this.deps.evidence?.(route.trunk.id, evidence);
    if (outcome.kind === 'Answered' && response !== null) {
      this.answered(response, { address: route.binding.sourceAddress, port: route.binding.sourcePort }, this.heldChannel);
      this.heldChannel = null;
      this.settle(CallOutcome.DELIVERED, outcome.status);
      return;
    }
    this.releaseChannel();
    const following = next(route, outcome, this.snapshot);
    if (following !== null) {
      this.phase = { kind: 'routing' };
      this.execute(following, outcome.kind === 'Final' ? response : null);
      return;
    }
    switch (outcome.kind) {
      case 'Final':
        if (response !== null) this.relay(response);
        this.settle(CallOutcome.DELIVERED, outcome.status);
        return;
      case 'RingTimeout':
        this.answer(408, 'Request Timeout');
        this.settle(CallOutcome.DELIVERED, 408);
        return;
      default:
        // CallerCancelled is settled by cancel(); nothing else reaches here.
        return;
    }
  }

  /** Hands the plan to the runner; the call keeps the caller's leg, the branches and the record. */
  private runPlan(dialPlan: DialPlanConfig): void {
    const outcome = this.failoverReason === null ? CallOutcome.DELIVERED : CallOutcome.FAILED_OVER;
    const call = planCallFor(this.deps, {
      invite: this.invite,
      snapshot: this.snapshot,
      logger: this.logger,
      facts: { companyId: dialPlan.companyId, trunkId: this.trunkId, failoverReason: this.failoverReason },
      ended: (this.ended ??= new AbortController()).signal,
      abort: () => this.abort(),
      startBranch: (options) => this.startBranch(options),
      relay: (response) => this.relay(response),
      forking: (set) => {
        this.phase = { kind: 'forking', set };
      },
      recordAttempts: (attempts) => this.attempts.push(...attempts),
    });
    const runner = new PlanRunner(dialPlan, call, (end) => {
      if (this.phase.kind === 'settled') return;
      if (end.kind === 'Answered') {
        this.answered(end.response, end.callee, null);
        this.settle(outcome, end.response.status);
        return;
      }
      this.answer(end.status);
      this.settle(outcome, end.status);
    }, (event) => {
      if (this.phase.kind !== 'settled') this.steps.add(event);
    });
    runner.start();
  }

  /** A response of our own to the caller's INVITE. */
  private answer(status: number, reason?: string): void {
    if (status >= 200) this.finalSent = true;
    this.deps.port.reply(this.invite, status, reason);
  }

  /** A response from a branch, passed on to the caller through the INVITE's server transaction; a 2xx with its session timer (RFC 4028 section 8.2). */
  private relay(response: SipResponse): SipResponse {
    if (response.status >= 200) this.finalSent = true;
    const sent = responseForCaller(sessionAnswer(this.invite, response).response, this.invite);
    this.deps.port.respond(sent);
    return sent;
  }

  /** Relays the 2xx that answered the call; its dialog takes over. */
  private answered(response: SipResponse, callee: Endpoint | null, channelTrunkId: string | null): void {
    const answerSent = this.relay(response);
    this.deps.onAnswered({
      callId: this.callId,
      callerTag: String(this.invite.headers.from.params.tag ?? ''),
      calleeTag: String(response.headers.to.params.tag ?? ''),
      caller: this.caller,
      callee,
      channelTrunkId,
      recordId: this.recordId,
      invite: this.invite,
      answer: response,
      answerSent,
    });
  }

  private releaseChannel(): void {
    if (this.heldChannel === null) return;
    this.deps.channels.release(this.heldChannel);
    this.heldChannel = null;
  }

  private settle(outcome: CallOutcome, finalStatus: number): void {
    if (this.phase.kind === 'settled') return;
    this.phase = { kind: 'settled' };
    // A reason of our own: abort() without one builds a DOMException and its stack on every call.
    this.ended?.abort(CALL_SETTLED);
    this.releaseChannel();
    const answered = finalStatus >= 200 && finalStatus < 300;
    const now = this.deps.clock.now();
    this.deps.recorder.record({
      id: this.recordId,
      callId: this.callId,
      companyId: this.companyId,
      trunkId: this.trunkId,
      ...this.dialled,
      caller: requestUser(this.invite.headers.from.uri),
      startedAt: new Date(this.startedAt),
      endedAt: answered ? null : new Date(now),
      outcome,
      failoverReason: this.failoverReason,
      finalStatus,
      attempts: this.attempts,
      steps: this.steps.steps(),
      worker: this.deps.worker,
    });
    // Through the call's own logger if it made one; else the line names the call itself, saving a child logger per call.
    (this.childLogger ?? this.deps.logger).info(
      { callId: this.childLogger === null ? this.callId : undefined, ...this.dialled, trunkId: this.trunkId, decision: this.decision, faulted: this.faulted || undefined, outcome, failoverReason: this.failoverReason, finalStatus, attempts: this.attempts.length, setupMs: now - this.startedAt },
      'call routed',
    );
    this.deps.onSettled(this);
  }
}

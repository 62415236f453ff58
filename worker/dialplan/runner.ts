import type { Logger } from 'pino';
import { DialPlanApp, type Flow, type StepOf } from '../../domain/flow/flow';
import type { BranchOptions } from '../calls/branch';
import type { Clock } from '../clock';
import type { DialPlanConfig, RegistrationBinding, Snapshot } from '../config/snapshot';
import type { Endpoint, NameAddr, SipRequest, SipResponse } from '../sip/message';
import type { SipPort } from '../sip/port';
import { forward } from './apps/forward';
import { hangup } from './apps/hangup';
import { timeCondition } from './apps/time-condition';
import { callerCondition } from './apps/caller-condition';
import { gotoDialPlan } from './apps/goto-dial-plan';
import { webhook } from './apps/webhook';
import { ringGroup } from './apps/ring-group';
import type { BranchSetMember, BranchSetOutcome } from '../calls/branch-set';
import type { WebhookClient } from '../../net/webhook-client';
import { entry, next, UNANSWERED_STATUS, type Next } from './engine';

/**
 * Flows are validated, and every loop goes through an app that waits; still, a plan that keeps
 * forwarding to targets that fail at once would spin. After this many steps the call ends.
 */
export const MAX_STEPS_PER_CALL = 32;

/**
 * GOTO_DIAL_PLAN hops one call may take. The API refuses cycles of plans, but two concurrent
 * changes or a snapshot between them could still close one: the hop after the last ends the call
 * with 482 Loop Detected (RFC 3261 section 21.4.20), like a request that came back to us.
 */
export const MAX_DIAL_PLAN_HOPS = 10;
export const DIAL_PLAN_LOOP_STATUS = 482;

/** A branch as an app asks for it; the call adds what every branch of it shares (1xx relay, attempts). */
export type PlanBranchOptions = Pick<BranchOptions, 'request' | 'destination' | 'target' | 'noProvisionalMs' | 'ringMs' | 'ringFrom' | 'onOutcome'>;

/**
 * What the plan reads from the call's snapshot: the dial plans a goto reaches, the company's time
 * zone, where E.164 targets leave (the operator's outbound gateway, null when none: section 6) and
 * the operator's networks a webhook may reach besides public addresses.
 */
export type PlanSnapshot = Pick<Snapshot, 'dialPlans' | 'companies' | 'outboundGateway' | 'webhookAllowedNetworks'>;

/** What the runner and its apps get from the call: they own none of it. */
export interface PlanCall {
  /** The caller's INVITE: the leg every branch copies. */
  readonly invite: SipRequest;
  readonly port: SipPort;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly recordRoute: NameAddr;
  /** Starts a branch of this call: the call relays its 1xx, records its attempt and routes the caller's CANCEL to it. */
  readonly startBranch: (options: PlanBranchOptions) => void;
  /** The snapshot the call started with. */
  readonly snapshot: PlanSnapshot;
  /** A dial plan's external number (E.164) in the snapshot the call started with; null when it has none. */
  readonly dialPlanNumber: (dialPlanId: string) => string | null;
  /** What the call knows: its company, and what a webhook reports. */
  readonly facts: PlanCallFacts;
  readonly webhookClient: WebhookClient;
  /**
   * Aborted once the call is settled (answered, cancelled, ended): a step that ends later leads
   * nowhere, and work a step still has out for the call (a webhook's request) is stopped.
   */
  readonly ended: AbortSignal;
  /**
   * A step went wrong after the message that started it was handled (a webhook's answer runs the
   * next steps in a promise, outside the stack's per-message containment): ends the call as a
   * contained fault does (500 unless a final response went out, channel and record settled).
   */
  readonly abort: (error: unknown) => void;
  /** Starts branches at once (a BranchSet): the call relays their 1xx, records their attempts and routes the caller's CANCEL to them. */
  readonly startBranchSet: (options: PlanBranchSetOptions) => void;
  /** The current registration of a trunk of the call's company, or null (none, or not the company's). */
  readonly trunkBinding: (trunkId: string) => RegistrationBinding | null;
}

/** A fork as an app asks for it. */
export interface PlanBranchSetOptions {
  readonly members: readonly BranchSetMember[];
  /** Not called for the caller's CANCEL's outcome once the call is over. */
  readonly onOutcome: (outcome: BranchSetOutcome) => void;
}

/** The call's routing facts, as the call record has them. */
export interface PlanCallFacts {
  /** The company whose dial plan runs: its time zone, the only company a goto may reach. */
  readonly companyId: string;
  /** The trunk that failed over, or null when the plan runs for its own number. */
  readonly trunkId: string | null;
  readonly failoverReason: string | null;
}

/** A dial plan as the runner runs it: its id (each step taken names it) and its flow. */
export interface PlanToRun {
  readonly id: string;
  readonly flow: Flow;
}

/**
 * What the runner reports as the call moves through a plan, for the call record: a step entered
 * (clock ms), then the exit it left by. A step entered and never left is the one the call ended in.
 */
export type StepEvent =
  | { readonly kind: 'Entered'; readonly dialPlanId: string; readonly stepId: string; readonly app: DialPlanApp; readonly at: number }
  | { readonly kind: 'Left'; readonly exit: string };

/** How the plan ends for the caller. */
export type PlanEnd =
  /** A target answered: its 2xx goes to the caller. */
  | { readonly kind: 'Answered'; readonly response: SipResponse; readonly callee: Endpoint | null }
  /** The plan answers the caller with a final status of its own. */
  | { readonly kind: 'Respond'; readonly status: number };

/** How one step ends: by a named exit, or with the plan's end. A caller's CANCEL ends it with nothing. */
export type StepEnd =
  | { readonly kind: 'Exit'; readonly exit: string }
  /** Continue at the entry step of this dial plan (GOTO_DIAL_PLAN). */
  | { readonly kind: 'Goto'; readonly dialPlan: DialPlanConfig }
  | PlanEnd;

/** Runs one step of app `A` of plan `dialPlanId` for one call, and calls `done` once when the step is over. */
export type AppExecutor<A extends DialPlanApp> = (step: StepOf<A>, call: PlanCall, done: (end: StepEnd) => void, dialPlanId: string) => void;

/** One executor per app: an app without one does not compile. */
const EXECUTORS: { readonly [A in DialPlanApp]: AppExecutor<A> } = {
  [DialPlanApp.FORWARD]: forward,
  [DialPlanApp.HANGUP]: hangup,
  [DialPlanApp.TIME_CONDITION]: timeCondition,
  [DialPlanApp.CALLER_CONDITION]: callerCondition,
  [DialPlanApp.GOTO_DIAL_PLAN]: gotoDialPlan,
  [DialPlanApp.WEBHOOK]: webhook,
  [DialPlanApp.RING_GROUP]: ringGroup,
};

/**
 * Drives one call's dial plan (DESIGN section 6): runs the entry step's executor, follows the
 * exit it ends with through the engine, and so on until an executor ends the plan, an exit leads
 * nowhere (480) or the step budget is spent (480). It owns no SIP state: branches are the call's;
 * nor any record: each step entered and left is reported to `onStep`.
 */
export class PlanRunner {
  private stepsTaken = 0;
  private hops = 0;

  constructor(
    private plan: PlanToRun,
    private readonly call: PlanCall,
    private readonly onEnd: (end: PlanEnd) => void,
    private readonly onStep: (event: StepEvent) => void = () => undefined,
  ) {}

  start(): void {
    this.enter(entry(this.plan.flow));
  }

  private enter(target: Next): void {
    this.stepsTaken++;
    if (target.kind === 'End' || this.stepsTaken > MAX_STEPS_PER_CALL) {
      this.onEnd({ kind: 'Respond', status: UNANSWERED_STATUS });
      return;
    }
    const { step } = target;
    // The record pairs each app with its executor; the step's app picks that pair.
    const execute = EXECUTORS[step.app] as AppExecutor<DialPlanApp>;
    const { id: dialPlanId, flow } = this.plan;
    this.onStep({ kind: 'Entered', dialPlanId, stepId: step.id, app: step.app, at: this.call.clock.now() });
    execute(
      step,
      this.call,
      (end) => {
        // A step that ends after the call did (a webhook answering after the caller's CANCEL) goes nowhere.
        if (this.call.ended.aborted) return;
        if (end.kind === 'Exit') {
          this.onStep({ kind: 'Left', exit: end.exit });
          this.enter(next(flow, step.id, end.exit));
        } else if (end.kind === 'Goto') {
          // A goto has no exit: the next step entered names the plan it moved to.
          this.hop(end.dialPlan);
        } else {
          this.onEnd(end);
        }
      },
      dialPlanId,
    );
  }

  /** Continues at another plan's entry, unless the call has used up its hops. */
  private hop(dialPlan: DialPlanConfig): void {
    this.hops++;
    if (this.hops > MAX_DIAL_PLAN_HOPS) {
      this.call.logger.warn({ dialPlanId: dialPlan.id, hops: MAX_DIAL_PLAN_HOPS }, 'dial plan hop limit reached: a cycle of GOTO_DIAL_PLAN steps; the call ends with 482');
      this.onEnd({ kind: 'Respond', status: DIAL_PLAN_LOOP_STATUS });
      return;
    }
    this.plan = dialPlan;
    this.enter(entry(dialPlan.flow));
  }
}

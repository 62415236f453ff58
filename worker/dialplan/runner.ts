import type { Logger } from 'pino';
import { DialPlanApp, type Flow, type StepOf } from '../../domain/flow/flow';
import type { BranchOptions } from '../calls/branch';
import type { Clock } from '../clock';
import type { Endpoint, NameAddr, SipRequest, SipResponse } from '../sip/message';
import type { SipPort } from '../sip/port';
import { forward } from './apps/forward';
import { hangup } from './apps/hangup';
import { webhook } from './apps/webhook';
import { ringGroup } from './apps/ring-group';
import type { BranchSetMember, BranchSetOutcome } from '../calls/branch-set';
import type { RegistrationBinding } from '../config/snapshot';
import type { WebhookClient } from './webhook-client';
import { entry, next, UNANSWERED_STATUS, type Next } from './engine';

/**
 * Flows are validated, and every loop goes through an app that waits; still, a plan that keeps
 * forwarding to targets that fail at once would spin. After this many steps the call ends.
 */
export const MAX_STEPS_PER_CALL = 32;

/** A branch as an app asks for it; the call adds what every branch of it shares (1xx relay, attempts). */
export type PlanBranchOptions = Pick<BranchOptions, 'request' | 'destination' | 'target' | 'noProvisionalMs' | 'ringMs' | 'ringFrom' | 'onOutcome'>;

/** What the runner and its apps get from the call: they own none of it. */
export interface PlanCall {
  /** The caller's INVITE: the leg every branch copies. */
  readonly invite: SipRequest;
  readonly port: SipPort;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly recordRoute: NameAddr;
  /** Where E.164 targets leave (section 6), null when the operator configured none. */
  readonly outboundGateway: string | null;
  /** Starts a branch of this call: the call relays its 1xx, records its attempt and routes the caller's CANCEL to it. */
  readonly startBranch: (options: PlanBranchOptions) => void;
  /** What the call knows that a webhook reports. */
  readonly facts: PlanCallFacts;
  /** The operator's networks a webhook may reach besides public addresses, from the call's snapshot. */
  readonly webhookAllowedNetworks: readonly string[];
  readonly webhookClient: WebhookClient;
  /** True once the call is settled (answered, cancelled, ended): a step that ends later leads nowhere. */
  readonly isOver: () => boolean;
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
  readonly companyId: string;
  /** The trunk that failed over, or null when the plan runs for its own number. */
  readonly trunkId: string | null;
  readonly failoverReason: string | null;
}

/** How the plan ends for the caller. */
export type PlanEnd =
  /** A target answered: its 2xx goes to the caller. */
  | { readonly kind: 'Answered'; readonly response: SipResponse; readonly callee: Endpoint | null }
  /** The plan answers the caller with a final status of its own. */
  | { readonly kind: 'Respond'; readonly status: number };

/** How one step ends: by a named exit, or with the plan's end. A caller's CANCEL ends it with nothing. */
export type StepEnd = { readonly kind: 'Exit'; readonly exit: string } | PlanEnd;

/** Runs one step of app `A` for one call, and calls `done` once when the step is over. */
export type AppExecutor<A extends DialPlanApp> = (step: StepOf<A>, call: PlanCall, done: (end: StepEnd) => void) => void;

/** One executor per app: an app without one does not compile. */
const EXECUTORS: { readonly [A in DialPlanApp]: AppExecutor<A> } = {
  [DialPlanApp.FORWARD]: forward,
  [DialPlanApp.HANGUP]: hangup,
  [DialPlanApp.WEBHOOK]: webhook,
  [DialPlanApp.RING_GROUP]: ringGroup,
};

/**
 * Drives one call's dial plan (DESIGN section 6): runs the entry step's executor, follows the
 * exit it ends with through the engine, and so on until an executor ends the plan, an exit leads
 * nowhere (480) or the step budget is spent (480). It owns no SIP state: branches are the call's.
 */
export class PlanRunner {
  private stepsTaken = 0;

  constructor(
    private readonly flow: Flow,
    private readonly call: PlanCall,
    private readonly onEnd: (end: PlanEnd) => void,
  ) {}

  start(): void {
    this.enter(entry(this.flow));
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
    execute(step, this.call, (end) => {
      // A step that ends after the call did (a webhook answering after the caller's CANCEL) goes nowhere.
      if (this.call.isOver()) return;
      if (end.kind === 'Exit') this.enter(next(this.flow, step.id, end.exit));
      else this.onEnd(end);
    });
  }
}

import type { Logger } from 'pino';
import type { CallAttempt } from '../../domain/call';
import type { Clock } from '../clock';
import type { RegistrationBinding, Snapshot } from '../config/snapshot';
import { dialPlanNumber } from '../dialplan/plan-number';
import type { PlanBranchOptions, PlanBranchSetOptions, PlanCall, PlanCallFacts } from '../dialplan/runner';
import type { WebhookClient } from '../../net/webhook-client';
import { currentBinding } from '../routing/decide';
import type { NameAddr, SipRequest, SipResponse } from '../sip/message';
import type { SipPort } from '../sip/port';
import { BranchSet } from './branch-set';

/** The inbound call's dependencies its dial plan uses (a `CallDeps` has them). */
export interface PlanCallDeps {
  readonly port: SipPort;
  readonly clock: Clock;
  readonly recordRoute: NameAddr;
  readonly webhookClient: WebhookClient;
  /** A retransmitted 2xx of a fork's winner, for whichever call it answered (CallDeps.answerAgain). */
  readonly answerAgain: (response: SipResponse) => void;
}

/** What the inbound call keeps while its dial plan runs: the caller's leg, the call's state and its record. */
export interface PlanCallOwner {
  readonly invite: SipRequest;
  /** The snapshot the call started with. */
  readonly snapshot: Snapshot;
  /** The call's own logger. */
  readonly logger: Logger;
  readonly facts: PlanCallFacts;
  /** Aborted when the call is settled. */
  readonly ended: AbortSignal;
  /** Ends the call as a contained fault does. */
  readonly abort: () => void;
  readonly startBranch: (options: PlanBranchOptions) => void;
  /** A branch's response, passed on to the caller through the INVITE's server transaction. */
  readonly relay: (response: SipResponse) => void;
  /** A fork is out: from now on the caller's CANCEL goes to every branch of it. */
  readonly forking: (set: BranchSet) => void;
  /** Branches' attempts, for the call record. */
  readonly recordAttempts: (attempts: readonly CallAttempt[]) => void;
}

/** The `PlanCall` the runner gets: the owner keeps the caller's leg, the branches and the record. */
export function planCallFor(deps: PlanCallDeps, owner: PlanCallOwner): PlanCall {
  const { snapshot } = owner;
  return {
    invite: owner.invite,
    port: deps.port,
    clock: deps.clock,
    logger: owner.logger,
    recordRoute: deps.recordRoute,
    startBranch: owner.startBranch,
    snapshot,
    dialPlanNumber: (dialPlanId: string) => dialPlanNumber(snapshot.dids, dialPlanId),
    facts: owner.facts,
    webhookClient: deps.webhookClient,
    ended: owner.ended,
    abort: (error: unknown) => {
      owner.logger.error({ err: error }, 'a dial plan step failed after its message was handled; the call is ended');
      owner.abort();
    },
    startBranchSet: (options: PlanBranchSetOptions) => startBranchSet(options, deps, owner),
    trunkBinding: (trunkId: string) => trunkBinding(trunkId, deps.clock, owner),
  };
}

/**
 * Starts a fork of the call (a parallel ring group): each branch's 1xx goes to the caller, the
 * winner's retransmitted 2xx too (while its dialog is up), every branch's attempt goes on the record, the caller's CANCEL
 * goes to every branch, and the outcome is passed on only while the call is not settled.
 */
function startBranchSet(options: PlanBranchSetOptions, deps: PlanCallDeps, owner: PlanCallOwner): void {
  const set = new BranchSet(
    {
      members: options.members,
      onProvisional: (response) => owner.relay(response),
      onAnswerRetransmitted: deps.answerAgain,
      onOutcome: (outcome) => {
        owner.recordAttempts(outcome.branches.map((entry) => entry.attempt));
        if (!owner.ended.aborted) options.onOutcome(outcome);
      },
    },
    deps.port,
    deps.clock,
  );
  owner.forking(set);
  set.start();
}

/** A trunk's current registration, for a dial plan target: only a trunk of this call's company. */
function trunkBinding(trunkId: string, clock: Clock, owner: PlanCallOwner): RegistrationBinding | null {
  const trunk = owner.snapshot.trunks.get(trunkId);
  if (trunk === undefined || trunk.companyId !== owner.facts.companyId) return null;
  return currentBinding(owner.snapshot, trunkId, clock.now());
}

import type { CallAttempt } from '../../domain/call';
import type { Clock } from '../clock';
import type { AttemptOutcome } from '../routing/route';
import type { SipResponse } from '../sip/message';
import type { SipPort } from '../sip/port';
import { Branch, type BranchOptions } from './branch';

/** One branch of a set, as its owner describes it; the set wires its callbacks. */
export type BranchSetMember = Pick<BranchOptions, 'request' | 'destination' | 'target' | 'noProvisionalMs' | 'ringMs' | 'ringFrom'>;

/** How one branch of the set ended. */
export interface BranchSetAttempt {
  /** Null: given up without an outcome, because another branch answered or the set was aborted. */
  readonly outcome: AttemptOutcome | null;
  readonly attempt: CallAttempt;
}

/** The set's one outcome. `branches` lists every branch in the order given. */
export type BranchSetOutcome =
  /** Branch `index` answered first: its 2xx goes to the caller, the others were given up. */
  | { readonly kind: 'Answered'; readonly index: number; readonly response: SipResponse; readonly branches: readonly BranchSetAttempt[] }
  /** Every branch ended without an answer (failed, timed out, unreachable). */
  | { readonly kind: 'Unanswered'; readonly branches: readonly BranchSetAttempt[] }
  | { readonly kind: 'CallerCancelled'; readonly branches: readonly BranchSetAttempt[] };

export interface BranchSetOptions {
  readonly members: readonly BranchSetMember[];
  /** A 1xx above 100 from branch `index`. */
  readonly onProvisional: (response: SipResponse, index: number) => void;
  /** The winning 2xx, sent again by its target: to be passed upstream. */
  readonly onAnswerRetransmitted: (response: SipResponse) => void;
  /** Called once. */
  readonly onOutcome: (outcome: BranchSetOutcome) => void;
}

type SetState = 'idle' | 'running' | 'done';

/**
 * Several branches of one call at once, as a forking proxy runs them (RFC 3261 section 16.7):
 * the first 2xx wins and goes upstream; the other branches are given up at once (CANCEL after a
 * 1xx, abandoned before one, see `Branch.giveUp`); a 2xx that still comes on a lost branch is
 * ACKed and BYEd by that branch. Non-2xx finals are not relayed here: when every branch has
 * ended without an answer the set reports `Unanswered` with each branch's outcome, and its owner
 * decides what the caller gets. The caller's CANCEL cancels every branch. The timers are each
 * branch's own (no-1xx, ring, cancel grace): a set ends when its last branch does.
 */
export class BranchSet {
  private state: SetState = 'idle';
  private readonly branches: Branch[];
  private readonly outcomes: (AttemptOutcome | null)[];

  constructor(
    private readonly options: BranchSetOptions,
    port: SipPort,
    clock: Clock,
  ) {
    this.outcomes = options.members.map(() => null);
    this.branches = options.members.map(
      (member, index) =>
        new Branch(
          {
            ...member,
            onProvisional: (response) => this.options.onProvisional(response, index),
            onAnswerRetransmitted: (response) => this.options.onAnswerRetransmitted(response),
            onOutcome: (outcome, response) => this.onBranchOutcome(index, outcome, response),
          },
          port,
          clock,
        ),
    );
  }

  /** Starts every branch, in order. A set without members is unanswered at once. */
  start(): void {
    if (this.state !== 'idle') return;
    this.state = 'running';
    for (const branch of this.branches) {
      if (this.state !== 'running') break;
      branch.start();
    }
    if (this.state === 'running' && this.branches.length === 0) this.finish({ kind: 'Unanswered', branches: [] });
  }

  /** The caller cancelled (RFC 3261 section 16.10): every branch still out is CANCELled. */
  cancelByCaller(): void {
    if (this.state === 'done') return;
    this.state = 'done';
    for (const branch of this.branches) branch.cancelByCaller();
    this.options.onOutcome({ kind: 'CallerCancelled', branches: this.attempts() });
  }

  /** The call was ended by a fault: every branch is given up, no outcome is reported. */
  abort(): void {
    if (this.state === 'done') return;
    this.state = 'done';
    for (const branch of this.branches) branch.abort();
  }

  /**
   * The ringing branch whose 1xx created the early dialog with remote tag `tag`, while the set is
   * out: each target answers with its own To tag, so the tag names the branch (an `EarlyDialogs`).
   */
  withEarlyDialog(tag: string): Branch | null {
    if (this.state !== 'running') return null;
    for (const branch of this.branches) {
      const ringing = branch.withEarlyDialog(tag);
      if (ringing !== null) return ringing;
    }
    return null;
  }

  /** Every branch's attempt so far, in the order given. */
  attempts(): BranchSetAttempt[] {
    return this.branches.map((branch, index) => ({ outcome: this.outcomes[index], attempt: branch.attempt() }));
  }

  private onBranchOutcome(index: number, outcome: AttemptOutcome, response: SipResponse | null): void {
    this.outcomes[index] = outcome;
    if (this.state !== 'running') return;
    if (outcome.kind === 'Answered' && response !== null) {
      for (const [other, branch] of this.branches.entries()) {
        if (other !== index) branch.giveUp();
      }
      this.finish({ kind: 'Answered', index, response, branches: this.attempts() });
      return;
    }
    // Branches given up have no outcome, but none is before an answer: null here is a branch still out.
    if (this.outcomes.every((ended) => ended !== null)) this.finish({ kind: 'Unanswered', branches: this.attempts() });
  }

  private finish(outcome: BranchSetOutcome): void {
    this.state = 'done';
    this.options.onOutcome(outcome);
  }
}

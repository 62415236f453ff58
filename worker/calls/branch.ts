import type { CallAttempt } from '../../domain/call';
import type { Clock, Timer } from '../clock';
import type { Endpoint, SipRequest, SipResponse } from '../sip/message';
import type { ClientBranch, ResponseOrigin, SipPort } from '../sip/port';
import { CANCEL_GRACE_MS } from '../sip/timers';
import type { AttemptOutcome } from '../routing/route';
import { LateResponses, toTag } from './late-responses';

/**
 * One INVITE branch to one target, with its own timers, turning what happens on the wire into
 * one `AttemptOutcome` (exactly once). Timers, by name:
 * - `noProvisional`: no 1xx (100 counts) within the trunk's timeout: the branch is abandoned
 *   (no CANCEL can be sent before a 1xx, RFC 3261 section 9.1) and its retransmissions stop.
 * - `ring`: no final response within the ring limit (Timer C for the PBX, counted from the
 *   last 1xx, section 16.6 step 11; a FORWARD's ring timeout, counted from the start): CANCEL.
 * - `cancelGrace`: a cancelled branch that never sends its final response is given up.
 * After the branch ended, what the target still sends goes to a `LateResponses`, which holds
 * nothing of the call: the stack keeps an answered INVITE's callback for 32 s.
 */
export interface BranchOptions {
  readonly request: SipRequest;
  /** Where to send, whatever the Request-URI says (the PBX's registered flow); null: resolve the URI. */
  readonly destination: Endpoint | null;
  /** What the call record calls the target. */
  readonly target: string;
  readonly noProvisionalMs: number | null;
  readonly ringMs: number;
  /** `provisional`: the ring timer starts (and restarts) at each 1xx above 100; `start`: at the INVITE. */
  readonly ringFrom: 'provisional' | 'start';
  readonly onProvisional: (response: SipResponse) => void;
  /**
   * The 2xx that answered the branch, sent again by the target: to be passed upstream. Called
   * after the branch ended, for up to 32 s: it must hold no call (see LateResponses).
   */
  readonly onAnswerRetransmitted: (response: SipResponse) => void;
  /** The outcome, with the final response when there was one. Called once. */
  readonly onOutcome: (outcome: AttemptOutcome, response: SipResponse | null) => void;
}

type BranchState = 'calling' | 'proceeding' | 'cancelling' | 'done';

/**
 * Early dialogs one branch tracks. A target forking to more phones than this is unheard of; a 1xx
 * with yet another tag is still relayed, but requests within that early dialog find none here.
 */
export const MAX_EARLY_DIALOGS = 16;

export class Branch {
  private state: BranchState = 'calling';
  private handle: ClientBranch | null = null;
  private readonly timers: { noProvisional?: Timer; ring?: Timer; cancelGrace?: Timer } = {};
  private readonly startedAt: number;
  private firstResponseAt: number | null = null;
  private endedAt: number | null = null;
  private status: number | null = null;
  /** What the outcome will be once a cancelled branch ends. */
  private pendingOutcome: AttemptOutcome | null = null;
  private stopListening: (() => void) | null = null;
  /** The To tag of the 2xx that answered this branch: the one dialog that won. */
  private answeredTag: string | null = null;
  /** Made when the branch ends, or sooner to hang up a 2xx that came too late. */
  private late: LateResponses | null = null;
  /** Where the stack's callback leads: this branch, then its LateResponses once it ended. */
  private readonly receiver: Receiver = {
    receive: (response, origin) => (origin === 'wire' ? this.onResponse(response) : this.onLocalResponse(response)),
  };
  /**
   * To tags of the 1xx that created early dialogs (RFC 3261 section 12.1): more than one if the
   * target forked, at most MAX_EARLY_DIALOGS (the target chooses the tags).
   */
  private readonly earlyTags = new Set<string>();

  constructor(
    private readonly options: BranchOptions,
    private readonly port: SipPort,
    private readonly clock: Clock,
  ) {
    this.startedAt = clock.now();
  }

  get destination(): Endpoint | null {
    return this.options.destination;
  }

  /** This branch while it rings with the early dialog whose remote tag is `tag`, else null (an `EarlyDialogs`). */
  withEarlyDialog(tag: string): Branch | null {
    return this.state === 'proceeding' && this.earlyTags.has(tag) ? this : null;
  }

  start(): void {
    const { options } = this;
    if (options.destination !== null) {
      const destination = options.destination;
      this.stopListening = this.port.onSendError((failed, code) => {
        if (failed.address === destination.address && failed.port === destination.port && this.firstResponseAt === null) {
          this.finish({ kind: 'Unreachable', code }, null);
        }
      });
    }
    if (options.noProvisionalMs !== null) {
      this.timers.noProvisional = this.clock.after(options.noProvisionalMs, () => this.onNoProvisional());
    }
    if (options.ringFrom === 'start') this.armRing();
    try {
      this.handle = this.port.send(options.request, options.destination, forwardingTo(this.receiver));
    } catch (error) {
      // The patched stack reports a request it cannot serialise or send as a 503 of its own (see
      // onLocalResponse), so little throws here: a request the stack cannot even set up (no Via
      // array, a CSeq it cannot read) or a bug in our port. Either way the target was not reached.
      this.finish({ kind: 'Unreachable', code: error instanceof Error && 'code' in error ? String(error.code) : 'EBADURI' }, null);
    }
  }

  /** The caller cancelled: CANCEL this branch; the outcome is CallerCancelled at once. */
  cancelByCaller(): void {
    if (this.state === 'done') return;
    this.handle?.cancel();
    this.finish({ kind: 'CallerCancelled' }, null);
  }

  attempt(): CallAttempt {
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    return {
      target: this.options.target,
      status: this.status,
      startedAt: new Date(this.startedAt).toISOString(),
      firstResponseAt: iso(this.firstResponseAt),
      endedAt: iso(this.endedAt),
    };
  }

  private armRing(): void {
    this.timers.ring?.cancel();
    this.timers.ring = this.clock.after(this.options.ringMs, () => this.onRingTimeout());
  }

  private onResponse(response: SipResponse): void {
    if (this.firstResponseAt === null) this.firstResponseAt = this.clock.now();
    if (response.status < 200) {
      this.timers.noProvisional?.cancel();
      if (this.state === 'calling') this.state = 'proceeding';
      if (response.status > 100) {
        // A 1xx above 100 with a To tag creates an early dialog (RFC 3261 section 12.1): 100 never does.
        const tag = toTag(response);
        if (tag !== '' && this.earlyTags.size < MAX_EARLY_DIALOGS) this.earlyTags.add(tag);
        if (this.options.ringFrom === 'provisional' && this.state === 'proceeding') this.armRing();
        this.options.onProvisional(response);
      } else if (this.options.ringFrom === 'provisional' && this.timers.ring === undefined) {
        this.armRing();
      }
      return;
    }
    this.status = response.status;
    if (this.state === 'cancelling') {
      if (response.status < 300) {
        // The target answered while our CANCEL was on its way: the call was given up, end it.
        this.hangUp(response);
      }
      this.finish(this.pendingOutcome ?? { kind: 'RingTimeout' }, null);
      return;
    }
    if (response.status < 300) {
      this.answeredTag = toTag(response);
      this.finish({ kind: 'Answered', status: response.status }, response);
      return;
    }
    this.finish({ kind: 'Final', status: response.status }, response);
  }

  /**
   * A final response our own stack made: the target never sent it, so it is no `Final` (which
   * would blame the target and be relayed as its answer). A 408 is a transaction that timed out
   * with nothing (Timer B) or nothing final (Timer C) from the target; anything else (a 503 for a
   * send that failed, a 404 for no address) means the request never reached it (RFC 3261 section
   * 16.9 treats a transport error as a 503 of the proxy's own).
   */
  private onLocalResponse(response: SipResponse): void {
    if (response.status < 200 || this.state === 'done') return;
    if (this.state === 'cancelling') {
      this.finish(this.pendingOutcome ?? { kind: 'RingTimeout' }, null);
      return;
    }
    if (response.status === 408) {
      this.finish(this.state === 'calling' ? { kind: 'NoProvisionalResponse' } : { kind: 'RingTimeout' }, null);
      return;
    }
    this.finish({ kind: 'Unreachable', code: `local-${response.status}` }, null);
  }

  private onNoProvisional(): void {
    if (this.state !== 'calling') return;
    this.handle?.abandon();
    this.finish({ kind: 'NoProvisionalResponse' }, null);
  }

  private onRingTimeout(): void {
    if (this.state === 'done' || this.state === 'cancelling') return;
    if (this.state === 'calling') {
      // Nothing came back at all: there is nobody to CANCEL (section 9.1), so stop retransmitting.
      this.handle?.abandon();
      this.finish(this.options.ringFrom === 'start' ? { kind: 'NoProvisionalResponse' } : { kind: 'RingTimeout' }, null);
      return;
    }
    this.state = 'cancelling';
    this.pendingOutcome = { kind: 'RingTimeout' };
    this.handle?.cancel();
    this.timers.cancelGrace = this.clock.after(CANCEL_GRACE_MS, () => this.finish({ kind: 'RingTimeout' }, null));
  }

  /** ACKs and BYEs a 2xx on a dialog that did not win (see LateResponses). */
  private hangUp(response: SipResponse): void {
    this.lateResponses().hangUp(response);
  }

  private lateResponses(): LateResponses {
    return (this.late ??= new LateResponses(this.options.request, this.options.destination, this.answeredTag, this.options.onAnswerRetransmitted, this.port));
  }

  /**
   * The call was ended by a fault: give the branch up without an outcome. The stack stops
   * retransmitting and CANCELs a branch that had a 1xx; a 2xx that still comes is ACKed and BYEd
   * (lateResponse: no dialog won). False when the branch had already ended.
   */
  abort(): boolean {
    if (!this.end()) return false;
    this.handle?.abandon();
    return true;
  }

  /**
   * Another branch of the call answered (a fork: RFC 3261 section 16.7 step 10 CANCELs the pending
   * branches): end this one without an outcome. After a 1xx it is CANCELled; before one it is
   * abandoned (section 9.1: no CANCEL yet; the stack sends one if a 1xx still comes). A 2xx that
   * still comes is ACKed and BYEd (lateResponse: no dialog won). False when it had already ended.
   */
  giveUp(): boolean {
    const ringing = this.state === 'proceeding';
    if (!this.end()) return false;
    if (ringing) this.handle?.cancel();
    else this.handle?.abandon();
    return true;
  }

  /** Ends the branch once and reports its outcome. */
  private finish(outcome: AttemptOutcome, response: SipResponse | null): void {
    if (this.end()) this.options.onOutcome(outcome, response);
  }

  /** Timers stop, send errors no longer matter, what still comes goes to LateResponses. False if already done. */
  private end(): boolean {
    if (this.state === 'done') return false;
    this.state = 'done';
    this.endedAt = this.clock.now();
    this.timers.noProvisional?.cancel();
    this.timers.ring?.cancel();
    this.timers.cancelGrace?.cancel();
    this.stopListening?.();
    this.stopListening = null;
    this.receiver.receive = receivingLate(this.lateResponses());
    return true;
  }
}

type Receiver = { receive: (response: SipResponse, origin: ResponseOrigin) => void };

// Closures made apart from the branch's methods: a closure keeps everything its scope shares with
// its siblings, and these two outlive the branch (see LateResponses).
function forwardingTo(receiver: Receiver): Receiver['receive'] {
  return (response, origin) => receiver.receive(response, origin);
}

function receivingLate(late: LateResponses): Receiver['receive'] {
  return (response, origin) => {
    if (origin === 'wire') late.receive(response);
  };
}

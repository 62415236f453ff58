/**
 * What one worker counts, reported to the edge with its health: requests by method, dropped
 * messages by reason, calls set up, REGISTERs with a foreign nonce. The edge sums them over workers.
 */
export interface CountersReport {
  readonly requests: Record<string, number>;
  readonly drops: Record<string, number>;
  readonly calls: number;
  /**
   * REGISTERs whose credentials carried no nonce we issued to their source address (none, forged,
   * or issued to another address): challenged again, never counted against the address. Many of
   * them are a spoofing attempt, or a PBX whose address changes between challenge and answer.
   */
  readonly foreignNonces: number;
}

/**
 * Why a worker dropped a message, or gave up on part of its work. The first group are decisions
 * of the call path; the second are faults, each contained so that it costs one message and never
 * the worker (see worker/sip/containment.ts).
 */
export type DropReason =
  | 'stray-ack'
  | 'untrusted-source'
  | 'overload'
  | 'draining'
  /** A CANCEL that names no INVITE transaction of ours from the same source (RFC 3261 section 9.2). */
  | 'unmatched-cancel'
  /** An INVITE asking for a session interval below our Min-SE, answered 422 (RFC 4028 section 8.1). */
  | 'session-interval-too-small'
  /** A request in a SIP version other than 2.0, answered 505. */
  | 'version-not-supported'
  /** Not a SIP message at all. */
  | 'unparsable'
  /** A SIP message without Via, Call-ID, To, From or CSeq: nothing to answer to. */
  | 'missing-headers'
  /** The call path threw on a request; it was answered 400 where a response is possible. */
  | 'request-exception'
  /** The call path threw on a response. */
  | 'response-exception'
  /** Ending a call after a fault threw too (it ends what it can; see RequestHandler.abort). */
  | 'fault-handler-exception'
  /** A message could not be serialised or handed to the transport (not sent). */
  | 'transport-exception'
  /** The stack's transaction layer reported an error on a received message. */
  | 'stack-error'
  /** An exception or rejection nothing else caught (last resort in worker-main.ts). */
  | 'uncaught-exception'
  | 'unhandled-rejection';

export class WorkerCounters {
  readonly requests: Record<string, number> = {};
  readonly drops: Partial<Record<DropReason, number>> = {};
  calls = 0;
  foreignNonces = 0;

  request(method: string): void {
    const key = /^[A-Z]{2,16}$/.test(method) ? method : 'OTHER';
    this.requests[key] = (this.requests[key] ?? 0) + 1;
  }

  drop(reason: DropReason): void {
    this.drops[reason] = (this.drops[reason] ?? 0) + 1;
  }

  call(): void {
    this.calls++;
  }

  foreignNonce(): void {
    this.foreignNonces++;
  }

  snapshot(): CountersReport {
    return { requests: { ...this.requests }, drops: { ...this.drops } as Record<string, number>, calls: this.calls, foreignNonces: this.foreignNonces };
  }
}

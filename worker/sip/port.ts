import type { Endpoint, ParsedUri, SipHeaders, SipRequest, SipResponse } from './message';

/** A client transaction we started: a branch that can be cancelled or abandoned. */
export interface ClientBranch {
  /** Sends CANCEL now if the branch had a 1xx, else as soon as one comes (RFC 3261 section 9.1). */
  cancel(): void;
  /**
   * Stops retransmitting and stops waiting: for a branch that never answered. Responses that
   * still arrive (a late 2xx) keep reaching the response callback for a while, to be cleaned up.
   */
  abandon(): void;
}

/**
 * Where a response to a request we sent came from: `wire`, a datagram from the next hop; `local`,
 * made by our own stack (a 408 when a transaction timed out, a 503 when the send failed, a 404
 * when there was no address). A local response speaks for no one downstream: never relayed.
 */
export type ResponseOrigin = 'wire' | 'local';

export interface ResponseExtension {
  readonly headers?: Partial<SipHeaders>;
  readonly content?: string;
}

/**
 * What the call layer needs from the SIP stack. `worker/sip/stack.ts` implements it over the
 * `sip` package; tests may implement it over anything.
 */
export interface SipPort {
  /** Via and Record-Route advertise this address and port. */
  readonly publicAddress: string;
  readonly publicPort: number;
  /** Answers a received request through its server transaction; a final answer gets a To tag. */
  reply(request: SipRequest, status: number, reason?: string, extension?: ResponseExtension): void;
  /** Sends a response whose top Via names the upstream hop, through that server transaction. */
  respond(response: SipResponse): void;
  /**
   * Sends a request on a new client transaction to `destination`, whatever its Request-URI says
   * (null: to where the Request-URI resolves).
   */
  send(request: SipRequest, destination: Endpoint | null, onResponse: (response: SipResponse, origin: ResponseOrigin) => void): ClientBranch;
  /** Sends an ACK (no transaction), adding our Via. */
  sendAck(request: SipRequest, destination: Endpoint | null): void;
  /** Subscribes to send failures reported for a destination (ICMP-less UDP: the send itself failed). */
  onSendError(listener: (destination: Endpoint, code: string) => void): () => void;
  /** True when the URI names this proxy (our public address and port). */
  isOwnUri(uri: string | ParsedUri): boolean;
}

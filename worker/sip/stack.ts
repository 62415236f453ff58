import * as sip from 'sip';
import type { Logger } from 'pino';
import type { DropReason } from '../calls/counters';
import { Containment } from './containment';
import type { Endpoint, SipRequest, SipResponse } from './message';
import { ownAddressMatcher } from './own-address';
import { ownString } from './own-string';
import type { ClientBranch, ResponseExtension, SipPort } from './port';
import { threadRandomPool } from './random-pool';
import { queuedTimers } from './queued-timers';
import { T1_MS, T4_MS, TIMER_C_MS } from './timers';

/**
 * The one file that imports `sip` (0.0.6, patched: see patches/). It turns the package into a
 * `SipPort`: a stack over a datagram port fed by the edge, with no TCP, responses tagged, and
 * client transactions that can be cancelled or abandoned and sent to an explicit destination.
 */
export interface DatagramSocket {
  on(event: 'message', listener: (message: Buffer, remote: { address: string; port: number }) => void): unknown;
  on(event: 'send-error', listener: (error: { address: string; port: number; code: string }) => void): unknown;
  send(buffer: Buffer, offset: number, length: number, port: number, address: string): void;
  close(): void;
}

export interface StackOptions {
  readonly socket: DatagramSocket;
  /** What Via and Record-Route advertise. */
  readonly publicAddress: string;
  readonly publicPort: number;
  readonly logger: Logger;
  /** Called for every request that is not a retransmission; `remote` is where it came from. */
  readonly onRequest: (request: SipRequest, remote: Endpoint) => void;
  /** Counts what the stack drops or contains, by reason (WorkerCounters.drop). */
  readonly onDrop?: (reason: DropReason) => void;
  /**
   * A fault was contained while handling a message with this Call-ID (a request, or a response
   * to a request we sent): the call layer ends what that Call-ID had in setup (RequestHandler.abort).
   */
  readonly onFault?: (callId: string) => void;
}

/** The stack's own Timer C: a backstop behind the call layer's ring timer, which fires first. */
const STACK_TIMER_C_MS = TIMER_C_MS + 32_000;

export interface SipStack extends SipPort {
  destroy(): void;
}

/** RFC 3261 section 19.3: a tag with at least 32 bits of randomness (48 here). */
export function newTag(): string {
  return threadRandomPool.hex(6);
}

export function createSipStack(options: StackOptions): SipStack {
  const { logger, publicAddress, publicPort } = options;
  const containment = new Containment(logger, options.onDrop ?? (() => undefined));
  const isOwnAddress = ownAddressMatcher({ address: publicAddress, port: publicPort });
  const sendErrorListeners = new Set<(destination: Endpoint, code: string) => void>();
  options.socket.on('send-error', (error) => {
    for (const listener of sendErrorListeners) {
      try {
        listener({ address: error.address, port: error.port }, error.code);
      } catch (thrown) {
        containment.contain('response-exception', thrown, { sendError: error.code });
      }
    }
  });

  // One message, one fault: an exception in the call path while handling a request drops that
  // request, answered 400 (the server transaction already exists; once a final answer went out
  // the patched transaction refuses another, RFC 6026 section 8.5). ACK has no response.
  // The call whose message it was is ended first: its own 500 then answers an INVITE that threw,
  // and the 400 below is refused by the transaction that already has a final answer.
  const onFault = (callId: string): void => {
    try {
      options.onFault?.(callId);
    } catch (error) {
      containment.contain('fault-handler-exception', error, { callId });
    }
  };
  const onRequest = (request: SipRequest, remote: Endpoint): void => {
    try {
      options.onRequest(request, remote);
    } catch (error) {
      containment.contain('request-exception', error, { method: request.method, callId: request.headers['call-id'] });
      onFault(request.headers['call-id']);
      if (request.method === 'ACK') return;
      try {
        stack.send(sip.makeResponse(request as never, 400, 'Bad Request') as never);
      } catch (again) {
        containment.contain('request-exception', again, { method: request.method, callId: request.headers['call-id'] });
      }
    }
  };

  const stack = sip.create(
    {
      udpSocket: options.socket,
      udp: true,
      tcp: false,
      address: publicAddress,
      publicAddress,
      port: publicPort,
      timerC: STACK_TIMER_C_MS,
      // The waits of finished transactions, and Timers B and F: queued per duration (queued-timers.ts).
      timers: queuedTimers({ durations: [T4_MS, 64 * T1_MS] }),
      logger: {
        error: (error: unknown) => containment.contain('stack-error', error),
      },
      // The injected socket reports no socket errors: this is an exception while parsing a
      // datagram, or a message that could not be serialised (it was not sent).
      onTransportError: (error: unknown) => containment.contain('transport-exception', error),
      onMessageDropped: (reason, remote) => containment.dropped(reason, { source: `${remote.address}:${remote.port}` }),
    },
    (request, remote) => onRequest(request as unknown as SipRequest, { address: remote.address, port: remote.port }),
  );

  const udp = (destination: Endpoint | null) => (destination === null ? undefined : { protocol: 'UDP', address: destination.address, port: destination.port });

  return {
    publicAddress,
    publicPort,
    reply(request, status, reason, extension?: ResponseExtension) {
      const response = sip.makeResponse(request as never, status, reason ?? '', extension as never) as unknown as SipResponse;
      if (status > 100 && response.headers.to.params.tag == null) {
        response.headers.to = { ...response.headers.to, params: { ...response.headers.to.params, tag: newTag() } };
      }
      stack.send(response as never);
    },
    respond(response) {
      stack.send(response as never);
    },
    send(request, destination, onResponse): ClientBranch {
      // Responses arrive from the stack's timers and process.nextTick too (a synthetic 408 or 503), where an
      // exception would reach no try/catch: it ends here, costing that response. The callback outlives the
      // request while an answered INVITE absorbs 2xx retransmissions (64*T1): it holds the Call-ID, not the request,
      // in a string of its own, not a slice of the datagram the request came in.
      const callId = ownString(request.headers['call-id']);
      const contained = (response: sip.SipResponse): void => {
        try {
          // The patched stack marks what it received with `remote`; what it made itself has none.
          onResponse(response as unknown as SipResponse, response.remote === undefined ? 'local' : 'wire');
        } catch (error) {
          containment.contain('response-exception', error, { status: response.status, callId });
          onFault(callId);
        }
      };
      const handle = stack.send(request as never, contained, udp(destination));
      return handle as ClientBranch;
    },
    sendAck(request, destination) {
      // The (patched) stack puts our Via with a fresh branch on top (RFC 3261 section 16.6 step 8).
      stack.send(request as never, undefined, udp(destination));
    },
    onSendError(listener) {
      sendErrorListeners.add(listener);
      return () => sendErrorListeners.delete(listener);
    },
    isOwnUri(uri) {
      const parsed = sip.parseUri(uri);
      return parsed !== undefined && isOwnAddress(parsed.host, parsed.port);
    },
    destroy() {
      stack.destroy();
    },
  };
}

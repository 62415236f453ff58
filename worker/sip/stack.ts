import { randomBytes } from 'node:crypto';
import * as sip from 'sip';
import type { Logger } from 'pino';
import type { Endpoint, SipRequest, SipResponse } from './message';
import type { ClientBranch, ResponseExtension, SipPort } from './port';
import { TIMER_C_MS } from './timers';

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
}

/** The stack's own Timer C: a backstop behind the call layer's ring timer, which fires first. */
const STACK_TIMER_C_MS = TIMER_C_MS + 32_000;

export interface SipStack extends SipPort {
  destroy(): void;
}

/** RFC 3261 section 19.3: a tag with at least 32 bits of randomness. */
export function newTag(): string {
  return randomBytes(6).toString('hex');
}

export function createSipStack(options: StackOptions): SipStack {
  const { logger, publicAddress, publicPort } = options;
  const sendErrorListeners = new Set<(destination: Endpoint, code: string) => void>();
  options.socket.on('send-error', (error) => {
    for (const listener of sendErrorListeners) listener({ address: error.address, port: error.port }, error.code);
  });

  const stack = sip.create(
    {
      udpSocket: options.socket,
      udp: true,
      tcp: false,
      address: publicAddress,
      publicAddress,
      port: publicPort,
      timerC: STACK_TIMER_C_MS,
      logger: {
        error: (error: unknown) => logger.warn({ err: error }, 'SIP stack error'),
      },
      onTransportError: (error: unknown) => logger.error({ err: error }, 'SIP transport error'),
    },
    (request, remote) => options.onRequest(request as unknown as SipRequest, { address: remote.address, port: remote.port }),
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
      const handle = stack.send(request as never, (response) => onResponse(response as unknown as SipResponse), udp(destination));
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
      if (parsed === undefined) return false;
      const port = Number.isFinite(parsed.port) && parsed.port !== undefined ? parsed.port : 5060;
      return parsed.host === publicAddress && port === publicPort;
    },
    destroy() {
      stack.destroy();
    },
  };
}

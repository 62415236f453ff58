import type dgram from 'node:dgram';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import type { Affinity } from './affinity';
import { scanCallId, startsWith } from './call-id';
import { PackedReader } from './datagram-batch';
import type { SendsMessage } from './protocol';
import type { Supervisor } from './supervisor';

const RESPONSE_LINE = Buffer.from('SIP/2.0 ', 'latin1');

/**
 * What workers post for sending (`sends` batches), sent from the edge's socket in the order
 * posted, so every packet leaves from the address the peer knows. A request with a Call-ID no
 * worker holds pins it to its sender (a new leg, an OPTIONS probe: DESIGN section 3); a response
 * refreshes its pin. A failure goes back to the worker as `send-error`.
 */
export class WorkerSends {
  sent = 0;
  sendErrors = 0;

  /** `onFault`: sending one datagram threw (a bug); it costs that datagram only. */
  constructor(
    private readonly socket: dgram.Socket,
    private readonly affinity: Affinity,
    private readonly supervisor: Supervisor,
    private readonly logger: Logger,
    private readonly onFault: (index: number, error: unknown) => void,
  ) {}

  send(index: number, message: SendsMessage): void {
    const batch = new PackedReader(message);
    if (batch.count !== message.count) this.onFault(index, new TypeError('malformed sends batch'));
    for (let k = 0; k < batch.count; k++) {
      const address = batch.address(k);
      const port = batch.port(k);
      try {
        const bytes = batch.datagram(k);
        if (bytes === null) this.failed(index, address, port, 'EINVAL');
        else this.sendOne(index, bytes, address, port);
      } catch (error) {
        this.onFault(index, error);
      }
    }
  }

  private sendOne(index: number, bytes: Buffer, address: string, port: number): void {
    // Addresses must be literal: a host name would make the main thread wait on DNS.
    if (typeof address !== 'string' || isIP(address) === 0) return this.failed(index, String(address), port, 'EINVAL');
    const callId = scanCallId(bytes);
    if (callId !== null) {
      if (startsWith(bytes, RESPONSE_LINE)) this.affinity.touch(callId, index);
      else this.affinity.pinOutgoing(callId, index);
    }
    try {
      this.socket.send(bytes, port, address, (err) => {
        if (err) this.failed(index, address, port, errorCode(err));
        else this.sent++;
      });
    } catch (err) {
      // Synchronous refusals: a bad port, a closed socket.
      this.failed(index, address, port, errorCode(err));
    }
  }

  private failed(index: number, address: string, port: number, code: string): void {
    this.sendErrors++;
    this.logger.debug({ worker: index, address, port, code }, 'send failed');
    this.supervisor.send(index, { type: 'send-error', address, port, code });
  }
}

function errorCode(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' ? code : 'EUNKNOWN';
}

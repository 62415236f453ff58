import { EventEmitter } from 'node:events';
import type { TransferListItem } from 'node:worker_threads';
import type { EdgeToWorker, SendMessage } from './protocol';

/**
 * Inside a worker thread: the dgram-like socket the patched `sip` stack takes as its `udpSocket`
 * option. The edge owns the real UDP socket; datagrams arrive here as `datagram` messages and
 * leave as `send` messages, so every packet still leaves from the address the peer knows.
 *
 * It listens on a port other modules of the worker share (drain, stop, control), so it handles
 * only its own message types and leaves the rest alone.
 */

/** `parentPort` in a worker; one end of a `MessageChannel` in tests. */
export interface MessagePortLike {
  postMessage(value: unknown, transferList?: readonly TransferListItem[]): void;
  on(event: 'message', listener: (value: unknown) => void): unknown;
  off(event: 'message', listener: (value: unknown) => void): unknown;
}

/** What dgram passes with each message; `sip` reads `address` and `port`. */
export interface RemoteInfo {
  readonly address: string;
  readonly family: 'IPv4' | 'IPv6';
  readonly port: number;
  readonly size: number;
}

export interface SendError {
  readonly address: string;
  readonly port: number;
  readonly code: string;
}

export type SendCallback = (error: Error | null, bytes: number) => void;

interface DatagramPortEvents {
  message: [buf: Buffer, rinfo: RemoteInfo];
  'send-error': [error: SendError];
  close: [];
}

export class DatagramPort extends EventEmitter<DatagramPortEvents> {
  private closed = false;
  private readonly onPortMessage = (value: unknown): void => this.receive(value as EdgeToWorker);

  constructor(private readonly port: MessagePortLike) {
    super();
    port.on('message', this.onPortMessage);
  }

  /**
   * Hands `buf[offset, offset + length)` to the edge. The bytes are copied into an ArrayBuffer of
   * their own, which is transferred: the caller may reuse `buf`, and a pooled Buffer's backing
   * store is never detached. The callback runs once the edge has the bytes, with no error; a
   * failure of the actual send arrives later as a `send-error` event (UDP cannot say sooner).
   */
  send(buf: Buffer, offset: number, length: number, port: number, address: string, callback?: SendCallback): void {
    if (this.closed) {
      if (callback) process.nextTick(callback, Object.assign(new Error('DatagramPort is closed'), { code: 'ERR_SOCKET_DGRAM_NOT_RUNNING' }), 0);
      return;
    }
    if (!(offset >= 0 && length >= 0 && offset + length <= buf.length)) {
      throw new RangeError(`send: bytes ${offset}..${offset + length} are outside the ${buf.length}-byte buffer`);
    }
    const data = new ArrayBuffer(length);
    new Uint8Array(data).set(buf.subarray(offset, offset + length));
    const message: SendMessage = { type: 'send', data, address, port };
    this.port.postMessage(message, [data]);
    if (callback) process.nextTick(callback, null, length);
  }

  /** Stops listening; the shared port itself stays open for the rest of the worker. */
  close(callback?: () => void): void {
    if (this.closed) return;
    this.closed = true;
    this.port.off('message', this.onPortMessage);
    if (callback) this.once('close', callback);
    process.nextTick(() => this.emit('close'));
  }

  private receive(message: EdgeToWorker): void {
    if (typeof message !== 'object' || message === null) return;
    switch (message.type) {
      case 'datagram': {
        const buf = Buffer.from(message.data);
        this.emit('message', buf, {
          address: message.address,
          family: message.address.includes(':') ? 'IPv6' : 'IPv4',
          port: message.port,
          size: buf.length,
        });
        return;
      }
      case 'send-error':
        this.emit('send-error', { address: message.address, port: message.port, code: message.code });
        return;
      default:
        // drain, stop, control and anything else belong to other modules of the worker.
        return;
    }
  }
}

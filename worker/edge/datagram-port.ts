import { EventEmitter } from 'node:events';
import type { TransferListItem } from 'node:worker_threads';
import { DatagramBatch, MAX_BATCH_DATAGRAMS, PackedReader } from './datagram-batch';
import { handoffNow } from './handoff-clock';
import type { DatagramsMessage, EdgeToWorker, SendsMessage, WorkerToEdge } from './protocol';

/**
 * Inside a worker thread: the dgram-like socket the patched `sip` stack takes as its `udpSocket`
 * option. The edge owns the real UDP socket; datagrams arrive here in `datagrams` batches and
 * leave in `sends` batches, one per event-loop turn (datagram-batch.ts), so every packet still
 * leaves from the address the peer knows and each turn costs one cross-thread message each way.
 *
 * It listens on a port other modules of the worker share (drain, stop, control), so it handles
 * only its own message types and leaves the rest alone. What the worker posts to the edge besides
 * datagrams goes through `post`, behind the sends queued before it.
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

/** Each received datagram's wait, from the edge reading it to this thread starting on it (ms, at `now`). */
export type SojournObserver = (now: number, sojournMs: number) => void;

export interface DatagramPortOptions {
  readonly onSojourn?: SojournObserver;
  /** Runs the flush of the turn's sends once the turn's work is done; tests flush by hand. */
  readonly schedule?: (flush: () => void) => void;
}

interface DatagramPortEvents {
  message: [buf: Buffer, rinfo: RemoteInfo];
  'send-error': [error: SendError];
  close: [];
}

/**
 * Sends made while a received batch is handled (the answers to it) leave together when that batch
 * is done, with no further wait. Any other send (a timer's retransmission, after a promise) is
 * flushed on `setImmediate`, after every I/O callback of the turn, so a turn's retransmissions
 * share one message too; a microtask would run after each timer's callback and post each apart.
 * Flushing at the end of a batch spares a `setImmediate` per turn, measured at about a tenth of
 * the hand-off's CPU at 10,000 datagrams/s.
 */
const endOfTurn = (flush: () => void): void => void setImmediate(flush);

export class DatagramPort extends EventEmitter<DatagramPortEvents> {
  private closed = false;
  private readonly outbox = new DatagramBatch();
  private flushScheduled = false;
  /** A received batch is being handled: its sends are flushed when it is done. */
  private delivering = false;
  private readonly onSojourn: SojournObserver | undefined;
  private readonly schedule: (flush: () => void) => void;
  private readonly onPortMessage = (value: unknown): void => this.receive(value as EdgeToWorker);
  private readonly flushTurn = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  constructor(
    private readonly port: MessagePortLike,
    options: DatagramPortOptions = {},
  ) {
    super();
    this.onSojourn = options.onSojourn;
    this.schedule = options.schedule ?? endOfTurn;
    port.on('message', this.onPortMessage);
  }

  /**
   * Queues `buf[offset, offset + length)` for the edge; it leaves with the other sends of the
   * received batch being handled, or of the turn (or at `MAX_BATCH_DATAGRAMS`). The bytes are copied at once: the caller may reuse
   * `buf`, and a pooled Buffer's backing store is never detached. The callback runs on the next
   * tick with no error; a failure of the actual send arrives later as a `send-error` event (UDP
   * cannot say sooner).
   */
  send(buf: Buffer, offset: number, length: number, port: number, address: string, callback?: SendCallback): void {
    if (this.closed) {
      if (callback) process.nextTick(callback, Object.assign(new Error('DatagramPort is closed'), { code: 'ERR_SOCKET_DGRAM_NOT_RUNNING' }), 0);
      return;
    }
    if (!(offset >= 0 && length >= 0 && offset + length <= buf.length)) {
      throw new RangeError(`send: bytes ${offset}..${offset + length} are outside the ${buf.length}-byte buffer`);
    }
    if (this.outbox.add(buf.subarray(offset, offset + length), address, port) >= MAX_BATCH_DATAGRAMS) this.flush();
    else if (!this.delivering && !this.flushScheduled) {
      this.flushScheduled = true;
      this.schedule(this.flushTurn);
    }
    if (callback) process.nextTick(callback, null, length);
  }

  /**
   * Posts one of the worker's other messages to the edge. `unpin` and `keep` go after every send
   * queued before them (the edge must not forget a Call-ID whose last datagrams are still queued);
   * the others (evidence, health, overload ...) say nothing about sends and leave the batch whole.
   */
  post(message: Exclude<WorkerToEdge, SendsMessage>): void {
    if (message.type === 'unpin' || message.type === 'keep') this.flush();
    this.port.postMessage(message);
  }

  /** Posts the queued sends now, if any. */
  flush(): void {
    if (this.outbox.size === 0) return;
    const { bytes, count, addresses } = this.outbox.take();
    const message: SendsMessage = { type: 'sends', bytes, count, addresses };
    this.port.postMessage(message, [message.bytes]);
  }

  /** Posts what is queued and stops listening; the shared port itself stays open for the rest of the worker. */
  close(callback?: () => void): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.port.off('message', this.onPortMessage);
    if (callback) this.once('close', callback);
    process.nextTick(() => this.emit('close'));
  }

  private receive(message: EdgeToWorker): void {
    if (typeof message !== 'object' || message === null) return;
    switch (message.type) {
      case 'datagrams':
        return this.deliver(message);
      case 'send-error':
        this.emit('send-error', { address: message.address, port: message.port, code: message.code });
        return;
      default:
        // drain, stop, control and anything else belong to other modules of the worker.
        return;
    }
  }

  /**
   * Emits each datagram of a batch in order, then posts the sends they caused; a listener's throw
   * costs its own datagram only.
   */
  private deliver(message: DatagramsMessage): void {
    const batch = new PackedReader(message);
    this.delivering = true;
    try {
      for (let k = 0; k < batch.count && !this.closed; k++) this.deliverOne(batch, k);
    } finally {
      this.delivering = false;
      this.flush();
    }
  }

  private deliverOne(batch: PackedReader, k: number): void {
    if (this.onSojourn) {
      const now = handoffNow();
      this.onSojourn(now, now - batch.stamp(k));
    }
    const buf = batch.datagram(k);
    if (buf === null) return;
    const address = batch.address(k);
    try {
      this.emit('message', buf, { address, family: address.includes(':') ? 'IPv6' : 'IPv4', port: batch.port(k), size: buf.length });
    } catch (error) {
      // As uncaught as it was with one datagram per message (the worker's last resort sees it),
      // without losing the datagrams after it.
      queueMicrotask(() => {
        throw error;
      });
    }
  }
}

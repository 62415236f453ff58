import { DatagramBatch, MAX_BATCH_DATAGRAMS } from './datagram-batch';
import type { DatagramsMessage } from './protocol';

/**
 * The edge's side of the hand-off: the datagrams read in one event-loop turn go to each worker
 * as one `datagrams` message, posted when the turn's reads are done (or at `MAX_BATCH_DATAGRAMS`).
 * A lone datagram waits for nothing but the end of its turn: no timer.
 *
 * The flush runs on `setImmediate`: the socket's 'message' events of a turn are separate
 * callbacks, each followed by a microtask checkpoint, so a microtask would flush after every
 * datagram and batch nothing; the check phase comes once the poll phase has read everything
 * ready (measured in bench/edge-handoff.ts).
 */

/** Posts one worker's batch; false when that worker cannot take it (gone, or being stopped). */
export type DeliverBatch = (index: number, message: DatagramsMessage, transfer: readonly ArrayBuffer[]) => boolean;

export class Handoff {
  /** By worker index; a worker's batch is kept across turns, so its staging area is reused. */
  private readonly batches: (DatagramBatch | undefined)[] = [];
  private flushScheduled = false;
  private readonly flushTurn = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  /**
   * `deliver` posts a batch; `undelivered` hears of each one it refused. `schedule` runs the
   * turn's flush; tests flush by hand.
   */
  constructor(
    private readonly deliver: DeliverBatch,
    private readonly undelivered: (index: number, count: number) => void,
    private readonly schedule: (flush: () => void) => void = (flush) => void setImmediate(flush),
  ) {}

  /** Queues one datagram for worker `index`; `receivedAt` on the hand-off clock (handoff-clock.ts). */
  add(index: number, bytes: Uint8Array, address: string, port: number, receivedAt: number): void {
    let batch = this.batches[index];
    if (batch === undefined) {
      batch = new DatagramBatch();
      this.batches[index] = batch;
    }
    if (batch.add(bytes, address, port, receivedAt) >= MAX_BATCH_DATAGRAMS) this.post(index, batch);
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      this.schedule(this.flushTurn);
    }
  }

  /** Posts every worker's queued datagrams now. */
  flush(): void {
    for (let index = 0; index < this.batches.length; index++) {
      const batch = this.batches[index];
      if (batch !== undefined && batch.size > 0) this.post(index, batch);
    }
  }

  private post(index: number, batch: DatagramBatch): void {
    const { bytes, count, addresses } = batch.take();
    const message: DatagramsMessage = { type: 'datagrams', bytes, count, addresses };
    if (!this.deliver(index, message, [message.bytes])) this.undelivered(index, message.count);
  }
}

import { parentPort, workerData } from 'node:worker_threads';
import { ChannelCounter, type ChannelCounterBuffers } from '../../worker/calls/channel-counter';

/**
 * Contends for one trunk's channels from a real thread: holds up to `hold` channels at a time,
 * taking and giving them back `cycles` times, and reports the highest count it ever saw.
 * With `exitHolding`, it takes that many channels and dies without giving them back.
 */

export interface CounterWorkerData {
  readonly buffers: ChannelCounterBuffers;
  readonly index: number;
  readonly trunkId: string;
  readonly limit: number;
  readonly cycles: number;
  readonly hold: number;
  /** Every worker increments it, then waits for all: the loops start together. */
  readonly barrier: SharedArrayBuffer;
  readonly workers: number;
  readonly exitHolding?: number;
}

export interface CounterWorkerResult {
  readonly acquired: number;
  readonly refused: number;
  readonly maxSeen: number;
}

const options = workerData as CounterWorkerData;
const counter = ChannelCounter.attach(options.buffers, options.index);

if (options.exitHolding !== undefined) {
  for (let k = 0; k < options.exitHolding; k++) counter.tryAcquire(options.trunkId, options.limit);
  process.exit(3);
}

const barrier = new Int32Array(options.barrier);
Atomics.add(barrier, 0, 1);
Atomics.notify(barrier, 0);
for (let arrived = Atomics.load(barrier, 0); arrived < options.workers; arrived = Atomics.load(barrier, 0)) {
  Atomics.wait(barrier, 0, arrived, 5);
}

let held = 0;
let acquired = 0;
let refused = 0;
let maxSeen = 0;
for (let cycle = 0; cycle < options.cycles; cycle++) {
  while (held < options.hold) {
    if (!counter.tryAcquire(options.trunkId, options.limit)) {
      refused++;
      break;
    }
    held++;
    acquired++;
    maxSeen = Math.max(maxSeen, counter.active(options.trunkId));
  }
  if (held > 0 && counter.release(options.trunkId)) held--;
}
while (held > 0 && counter.release(options.trunkId)) held--;

const result: CounterWorkerResult = { acquired, refused, maxSeen };
parentPort?.postMessage(result);

import { once } from 'node:events';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { expect } from 'chai';
import { ChannelCounter } from '../../../worker/calls/channel-counter';
import type { CounterWorkerData, CounterWorkerResult } from '../../support/counter-worker';

const COUNTER_WORKER = path.join(__dirname, '..', '..', 'support', 'counter-worker.js');
const TRUNK = '3b9e4c1a-7d2f-4e8b-a1c6-5f0d9e2b7a34';

function run(data: CounterWorkerData): Promise<{ result: CounterWorkerResult | null; code: number }> {
  const worker = new Worker(COUNTER_WORKER, { workerData: data });
  let result: CounterWorkerResult | null = null;
  worker.on('message', (message: CounterWorkerResult) => (result = message));
  return once(worker, 'exit').then(([code]) => ({ result, code: code as number }));
}

describe('ChannelCounter (real worker threads)', () => {
  it('two workers contending for one trunk never exceed its limit, and end at 0', async () => {
    const buffers = ChannelCounter.create({ capacity: 1024, maxWorkers: 4 });
    const barrier = new SharedArrayBuffer(4);
    const common = { buffers, trunkId: TRUNK, limit: 5, cycles: 10_000, hold: 3, barrier, workers: 2 };
    const runs = await Promise.all([run({ ...common, index: 0 }), run({ ...common, index: 1 })]);
    for (const { result, code } of runs) {
      expect(code).to.equal(0);
      expect(result?.maxSeen).to.be.at.most(5);
      expect(result?.acquired).to.be.at.least(1000);
    }
    // Together they want 6 channels of 5, so the limit had to refuse some.
    expect(runs.reduce((sum, { result }) => sum + (result?.refused ?? 0), 0)).to.be.above(0);
    const main = ChannelCounter.attach(buffers);
    expect(main.active(TRUNK)).to.equal(0);
    expect(main.entries()).to.deep.equal([{ trunkId: TRUNK, active: 0 }]);
  });

  it('the main thread gives back the channels of a worker that died holding them', async () => {
    const buffers = ChannelCounter.create({ capacity: 1024, maxWorkers: 4 });
    const main = ChannelCounter.attach(buffers);
    const survivor = ChannelCounter.attach(buffers, 0);
    expect(survivor.tryAcquire(TRUNK, 10)).to.equal(true);
    const { code } = await run({ buffers, index: 2, trunkId: TRUNK, limit: 10, cycles: 0, hold: 0, barrier: new SharedArrayBuffer(4), workers: 1, exitHolding: 4 });
    expect(code).to.equal(3);
    expect(main.active(TRUNK)).to.equal(5);
    expect(main.returnWorker(2)).to.equal(4);
    expect(main.active(TRUNK)).to.equal(1);
  });
});

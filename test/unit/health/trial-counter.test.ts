import { expect } from 'chai';
import { Worker } from 'node:worker_threads';
import { TRIAL_EVERY, TrialCounter } from '../../../worker/health/trial-counter';

const TRUNK = '00000000-0000-4000-8000-0000000000a1';
const OTHER = '00000000-0000-4000-8000-0000000000a2';

describe('TrialCounter: every 10th call to a DOWN trunk is a trial, counted across workers', () => {
  it('never the first call, then every 10th, per trunk and per DOWN period', () => {
    const counter = TrialCounter.attach(TrialCounter.create(16));
    const calls = (trunkId: string, since: number, n: number) => Array.from({ length: n }, () => counter.isTrial(trunkId, since));
    const first = calls(TRUNK, 1000, 25);
    expect(first.flatMap((trial, i) => (trial ? [i + 1] : []))).to.deep.equal([10, 20]);
    expect(calls(OTHER, 1000, 9).some(Boolean)).to.equal(false);
    // A new DOWN period starts counting again: its first call is no trial.
    const again = calls(TRUNK, 5000, 10);
    expect(again.flatMap((trial, i) => (trial ? [i + 1] : []))).to.deep.equal([TRIAL_EVERY]);
    // OTHER carried on from 9.
    expect(counter.isTrial(OTHER, 1000)).to.equal(true);
  });

  it('a full table gives no trial', () => {
    const counter = TrialCounter.attach(TrialCounter.create(1));
    for (let i = 0; i < 9; i++) counter.isTrial(TRUNK, 0);
    expect(counter.isTrial(TRUNK, 0)).to.equal(true);
    expect(Array.from({ length: 20 }, () => counter.isTrial(OTHER, 0)).some(Boolean)).to.equal(false);
  });

  it('a slot another thread left half-done (its lock held, or its key half-written) gives no trial, after a bounded wait', () => {
    const locked = TrialCounter.create(1);
    const counter = TrialCounter.attach(locked);
    counter.isTrial(TRUNK, 0);
    new Int32Array(locked.buffer)[5] = 1;
    const started = Date.now();
    expect(Array.from({ length: 10 }, () => counter.isTrial(TRUNK, 0)).some(Boolean)).to.equal(false);
    const writing = TrialCounter.create(1);
    new Int32Array(writing.buffer)[0] = 1;
    expect(TrialCounter.attach(writing).isTrial(TRUNK, 0)).to.equal(false);
    expect(Date.now() - started).to.be.below(5_000, 'eleven waits of about 50 ms each, not a hang');
  });

  it('holds with several threads counting one trunk: exactly one trial per 10 calls', async () => {
    const buffers = TrialCounter.create(16);
    const perThread = 1000;
    const source = `
      const { workerData, parentPort } = require('node:worker_threads');
      const { TrialCounter } = require(${JSON.stringify(require.resolve('../../../worker/health/trial-counter'))});
      const counter = TrialCounter.attach(workerData.buffers);
      let trials = 0;
      for (let i = 0; i < workerData.calls; i++) if (counter.isTrial(workerData.trunk, 7)) trials++;
      parentPort.postMessage(trials);`;
    const counts = await Promise.all(
      [0, 1, 2, 3].map(
        () =>
          new Promise<number>((resolve, reject) => {
            const worker = new Worker(source, { eval: true, workerData: { buffers, calls: perThread, trunk: TRUNK } });
            worker.once('message', resolve);
            worker.once('error', reject);
          }),
      ),
    );
    expect(counts.reduce((a, b) => a + b, 0)).to.equal((4 * perThread) / TRIAL_EVERY);
  });
});

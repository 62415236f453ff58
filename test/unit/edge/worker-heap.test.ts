import { Worker, type ResourceLimits } from 'node:worker_threads';
import { expect } from 'chai';
import { THREAD_RESOURCE_LIMITS, THREAD_SEMI_SPACE_MB } from '../../../worker/edge/worker-heap';

/** Allocates with many survivors (so V8 grows its new space if allowed) and answers the largest new space seen, in MB. */
const ALLOCATE = `
  const v8 = require('node:v8');
  let keep = [];
  let max = 0;
  for (let i = 0; i < 3e6; i++) {
    keep.push({ a: i, b: 'x' + i });
    if (keep.length > 300000) keep = [];
    if (i % 100000 === 0) max = Math.max(max, v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size);
  }
  require('node:worker_threads').parentPort.postMessage(max / 1048576);`;

function largestNewSpaceMb(resourceLimits?: ResourceLimits): Promise<number> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(ALLOCATE, { eval: true, resourceLimits });
    worker.once('message', (mb: number) => resolve(mb));
    worker.once('error', reject);
  });
}

describe('thread heaps (worker/edge/worker-heap)', function () {
  this.timeout(30_000);

  it(`keeps a thread's new space at two semi-spaces of ${THREAD_SEMI_SPACE_MB} MB, where V8's default lets it grow further`, async () => {
    expect(await largestNewSpaceMb(THREAD_RESOURCE_LIMITS)).to.be.at.most(2 * THREAD_SEMI_SPACE_MB);
    expect(await largestNewSpaceMb()).to.be.above(2 * THREAD_SEMI_SPACE_MB);
  });
});

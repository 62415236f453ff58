import { expect } from 'chai';
import { ChannelCounter, DEFAULT_CAPACITY, DEFAULT_MAX_WORKERS } from '../../../worker/calls/channel-counter';

const TRUNK_A = '6f1c2b9e-8a47-4d2e-9b1f-0c3d5e7a9b11';
const TRUNK_B = '00000000-0000-0000-0000-000000000000';
const TRUNK_C = 'FFFFFFFF-FFFF-4FFF-BFFF-FFFFFFFFFFFF';

function trunk(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

describe('ChannelCounter (one thread)', () => {
  it('takes channels up to the limit across workers, and gives them back', () => {
    const buffers = ChannelCounter.create({ capacity: 64, maxWorkers: 4 });
    const w0 = ChannelCounter.attach(buffers, 0);
    const w1 = ChannelCounter.attach(buffers, 1);
    expect(w0.tryAcquire(TRUNK_A, 3)).to.equal(true);
    expect(w1.tryAcquire(TRUNK_A, 3)).to.equal(true);
    expect(w0.tryAcquire(TRUNK_A, 3)).to.equal(true);
    expect(w1.tryAcquire(TRUNK_A, 3)).to.equal(false);
    expect(w0.active(TRUNK_A)).to.equal(3);
    expect(w1.release(TRUNK_A)).to.equal(true);
    expect(w1.tryAcquire(TRUNK_A, 3)).to.equal(true);
    expect(w1.active(TRUNK_A)).to.equal(3);
  });

  it('counts each trunk apart; a lower limit applies at once', () => {
    const buffers = ChannelCounter.create({ capacity: 64, maxWorkers: 2 });
    const w0 = ChannelCounter.attach(buffers, 0);
    expect(w0.tryAcquire(TRUNK_A, 2)).to.equal(true);
    expect(w0.tryAcquire(TRUNK_B, 1)).to.equal(true);
    expect(w0.tryAcquire(TRUNK_B, 1)).to.equal(false);
    expect(w0.tryAcquire(TRUNK_C, 1)).to.equal(true);
    expect(w0.tryAcquire(TRUNK_A, 1)).to.equal(false);
    expect(w0.tryAcquire(TRUNK_A, 0)).to.equal(false);
    expect([w0.active(TRUNK_A), w0.active(TRUNK_B), w0.active(TRUNK_C)]).to.deep.equal([1, 1, 1]);
  });

  it('a release without a matching acquire by that worker changes nothing', () => {
    const buffers = ChannelCounter.create({ capacity: 16, maxWorkers: 2 });
    const w0 = ChannelCounter.attach(buffers, 0);
    const w1 = ChannelCounter.attach(buffers, 1);
    expect(w0.release(TRUNK_A)).to.equal(false);
    expect(w0.tryAcquire(TRUNK_A, 5)).to.equal(true);
    expect(w1.release(TRUNK_A)).to.equal(false);
    expect(w0.active(TRUNK_A)).to.equal(1);
    expect(w0.release(TRUNK_A)).to.equal(true);
    expect(w0.release(TRUNK_A)).to.equal(false);
    expect(w0.active(TRUNK_A)).to.equal(0);
  });

  it('uuids match in any case', () => {
    const buffers = ChannelCounter.create({ capacity: 16, maxWorkers: 1 });
    const w0 = ChannelCounter.attach(buffers, 0);
    expect(w0.tryAcquire(TRUNK_A.toUpperCase(), 2)).to.equal(true);
    expect(w0.active(TRUNK_A)).to.equal(1);
  });

  it('a full table refuses new trunks (fail safe) and keeps counting the ones it holds', () => {
    const buffers = ChannelCounter.create({ capacity: 4, maxWorkers: 1 });
    const w0 = ChannelCounter.attach(buffers, 0);
    for (let n = 1; n <= 4; n++) expect(w0.tryAcquire(trunk(n), 10), `trunk ${n}`).to.equal(true);
    expect(w0.isFull(trunk(5))).to.equal(true);
    expect(w0.tryAcquire(trunk(5), 10)).to.equal(false);
    expect(w0.active(trunk(5))).to.equal(0);
    expect(w0.release(trunk(5))).to.equal(false);
    expect(w0.isFull(trunk(2))).to.equal(false);
    expect(w0.tryAcquire(trunk(2), 10)).to.equal(true);
    expect(ChannelCounter.attach(buffers).entries().map((entry) => entry.active).sort()).to.deep.equal([1, 1, 1, 2]);
  });

  it('returnWorker gives back a dead worker\'s channels and leaves the others', () => {
    const buffers = ChannelCounter.create({ capacity: 64, maxWorkers: 3 });
    const main = ChannelCounter.attach(buffers);
    const w0 = ChannelCounter.attach(buffers, 0);
    const w2 = ChannelCounter.attach(buffers, 2);
    for (let k = 0; k < 3; k++) w2.tryAcquire(TRUNK_A, 10);
    w2.tryAcquire(TRUNK_B, 10);
    w0.tryAcquire(TRUNK_A, 10);
    expect(main.returnWorker(2)).to.equal(4);
    expect(main.active(TRUNK_A)).to.equal(1);
    expect(main.active(TRUNK_B)).to.equal(0);
    expect(main.returnWorker(2)).to.equal(0);
    // The restarted worker 2 starts from a zero tally.
    expect(w2.release(TRUNK_A)).to.equal(false);
    expect(w0.release(TRUNK_A)).to.equal(true);
    expect(main.active(TRUNK_A)).to.equal(0);
  });

  it('entries lists every trunk seen with its uuid and active count', () => {
    const buffers = ChannelCounter.create({ capacity: 64, maxWorkers: 2 });
    const w1 = ChannelCounter.attach(buffers, 1);
    w1.tryAcquire(TRUNK_A, 10);
    w1.tryAcquire(TRUNK_A, 10);
    w1.tryAcquire(TRUNK_C, 10);
    w1.release(TRUNK_C);
    const entries = ChannelCounter.attach(buffers).entries().sort((x, y) => x.trunkId.localeCompare(y.trunkId));
    expect(entries).to.deep.equal([
      { trunkId: TRUNK_A, active: 2 },
      { trunkId: TRUNK_C.toLowerCase(), active: 0 },
    ]);
  });

  it('the main thread view cannot take channels; bad ids and sizes are refused', () => {
    const buffers = ChannelCounter.create({ capacity: 16, maxWorkers: 2 });
    expect(() => ChannelCounter.attach(buffers).tryAcquire(TRUNK_A, 1)).to.throw(/main thread/);
    expect(() => ChannelCounter.attach(buffers, 2)).to.throw(RangeError);
    expect(() => ChannelCounter.attach(buffers, 0).tryAcquire('not-a-uuid', 1)).to.throw(TypeError);
    expect(() => ChannelCounter.attach(buffers, 0).tryAcquire(`${TRUNK_A.slice(0, 35)}g`, 1)).to.throw(TypeError);
    expect(() => ChannelCounter.create({ capacity: 100 })).to.throw(/power of two/);
    expect(() => ChannelCounter.attach({ ...buffers, capacity: 32 })).to.throw(/does not match/);
  });

  it('the defaults take 4.5 MiB', () => {
    expect([DEFAULT_CAPACITY, DEFAULT_MAX_WORKERS]).to.deep.equal([16_384, 64]);
    expect(ChannelCounter.byteLength()).to.equal(4_718_592);
  });
});

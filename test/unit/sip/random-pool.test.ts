import { expect } from 'chai';
import { RANDOM_POOL_BYTES, RandomPool, threadRandomPool } from '../../../worker/sip/random-pool';
import { newTag } from '../../../worker/sip/stack';

/** A refill that writes a running counter, so the test can see which bytes were handed out. */
function countingRefill(): { refill: (buffer: Buffer) => void; calls: () => number } {
  let next = 0;
  let calls = 0;
  return {
    refill: (buffer) => {
      calls++;
      for (let i = 0; i < buffer.length; i++) buffer[i] = next++ & 0xff;
    },
    calls: () => calls,
  };
}

describe('RandomPool', () => {
  it('hands out every byte once, in order, refilling only when a request would read past the end', () => {
    const source = countingRefill();
    const pool = new RandomPool(16, source.refill);

    const taken = [pool.hex(6), pool.hex(6), pool.hex(6)];

    // 6 + 6 fit in the first 16 bytes; the third request does not fit in the 4 left, so the pool is refilled
    // and those 4 are never handed out
    expect(taken).to.deep.equal(['000102030405', '060708090a0b', '101112131415']);
    expect(source.calls()).to.equal(2);
  });

  it('copies bytes into a buffer at an offset', () => {
    const pool = new RandomPool(8, countingRefill().refill);
    const target = Buffer.alloc(6, 0xee);

    pool.copyTo(target, 2, 3);

    expect([...target]).to.deep.equal([0xee, 0xee, 0, 1, 2, 0xee]);
  });

  it('refuses a request for no bytes, a fraction, or more than the pool holds', () => {
    const pool = new RandomPool(8, countingRefill().refill);
    for (const bytes of [0, -1, 1.5, 9, Number.NaN]) expect(() => pool.hex(bytes), String(bytes)).to.throw(RangeError);
    expect(() => new RandomPool(0)).to.throw(RangeError);
  });

  it('draws from crypto.randomFillSync by default: 100,000 tags of 48 bits, all distinct', () => {
    const tags = new Set<string>();
    for (let i = 0; i < 100_000; i++) tags.add(threadRandomPool.hex(6));
    expect(tags.size).to.equal(100_000);
    expect(RANDOM_POOL_BYTES).to.be.at.least(4096);
  });

  it('gives newTag() 48 random bits as 12 hex digits (RFC 3261 section 19.3 asks for at least 32)', () => {
    const tags = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const tag = newTag();
      expect(tag).to.match(/^[0-9a-f]{12}$/);
      tags.add(tag);
    }
    expect(tags.size).to.equal(10_000);
  });
});

import { expect } from 'chai';
import { heapUsedAfterCollection } from '../../support/collected';
import { ownNameAddr, ownString } from '../../../worker/sip/own-string';

/** Heap used after a full collection, in bytes, with `kept` still reachable. */
async function heapKeeping(kept: unknown): Promise<number> {
  const used = await heapUsedAfterCollection();
  expect(kept).to.not.equal(undefined);
  return used;
}

/** 200 distinct texts of 100 KB each, as a received datagram's text is (flat, one string each). */
function texts(): string[] {
  return Array.from({ length: 200 }, (_, i) => `${Buffer.alloc(100_000, 97 + (i % 26)).toString('latin1')}${i}`.slice(0));
}

describe('ownString', () => {
  it('is the same text, for short, long, empty and non-Latin-1 strings', () => {
    for (const value of ['', 'a', 'a84b4c76e66710@pc33.atlanta.com', 'ü'.repeat(40), '☎ call-id ☎ 0123456789']) {
      expect(ownString(value)).to.equal(value);
    }
  });

  it('keeps only its own characters, where a plain slice keeps the whole text it came from', async () => {
    const base = await heapKeeping([]);
    const slices = texts().map((text) => text.slice(10, 40));
    const bySlice = (await heapKeeping(slices)) - base;
    slices.length = 0;
    const copies = texts().map((text) => ownString(text.slice(10, 40)));
    const byCopy = (await heapKeeping(copies)) - base;
    expect(bySlice).to.be.above(15_000_000, 'the control: 200 slices keep their 20 MB of texts');
    expect(byCopy).to.be.below(2_000_000);
  });

  it('copies a name-addr whole: display name, URI, and parameters with and without values', () => {
    const value = { name: '"Alice"', uri: 'sip:alice@atlanta.example.com', params: { tag: '1928301774', lr: undefined, ob: null } };
    const copy = ownNameAddr(value);
    expect(copy).to.deep.equal(value);
    expect(copy.params).to.not.equal(value.params);
    expect(ownNameAddr({ uri: 'sip:b@c', params: {} })).to.deep.equal({ uri: 'sip:b@c', params: {} });
  });
});

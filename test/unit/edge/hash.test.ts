import { expect } from 'chai';
import { fnv1a } from '../../../worker/edge/hash';

describe('fnv1a', () => {
  // Published 32-bit FNV-1a test vectors (offset basis 0x811c9dc5, prime 0x01000193).
  const rows: { text: string; seed?: number; hash: number }[] = [
    { text: '', hash: 0x811c9dc5 },
    { text: 'a', hash: 0xe40c292c },
    { text: 'foobar', hash: 0xbf9cf968 },
    // A seed changes the basis only: seed 0 is the plain hash, another seed another hash.
    { text: 'foobar', seed: 0, hash: 0xbf9cf968 },
    { text: '', seed: 0x811c9dc5, hash: 0 },
  ];
  for (const row of rows) {
    it(`${JSON.stringify(row.text)}${row.seed === undefined ? '' : ` seeded ${row.seed}`}: 0x${row.hash.toString(16)}`, () => {
      expect(fnv1a(row.text, row.seed)).to.equal(row.hash);
    });
  }

  it('is unsigned 32-bit, and a seed moves every hash', () => {
    for (const text of ['call-1@x', 'ÿÿÿ', 'a'.repeat(1024)]) {
      expect(fnv1a(text)).to.be.within(0, 2 ** 32 - 1);
      expect(fnv1a(text, 12345)).not.to.equal(fnv1a(text));
    }
  });
});

import crypto from 'node:crypto';
import { expect } from 'chai';
import * as sip from 'sip';
import { Fixture, HOST, request, waitFor } from './harness';

/**
 * Branch ids (RFC 3261 section 8.1.1.7: unique across space and time). Unpatched they were 'z9hG4bK' plus
 * Math.random()*1e6, about 20 bits: 100,000 of them held about 5,000 duplicates. Patched: 96 bits from a pool of
 * crypto randomness refilled 4 KB at a time (a randomBytes call per branch cost several µs).
 */
describe('sip patch: branch ids', () => {
  let fixture: Fixture;
  beforeEach(async () => {
    fixture = await Fixture.create();
  });
  afterEach(() => fixture.close());

  it('generateBranch() gives the magic cookie and 96 random bits: 100,000 of them are distinct', () => {
    const branches = new Set<string>();
    for (let i = 0; i < 100_000; i += 1) {
      const branch = sip.generateBranch();
      if (i < 100) expect(branch).to.match(/^z9hG4bK[0-9a-f]{24}$/);
      branches.add(branch);
    }
    expect(branches.size).to.equal(100_000);
  });

  it('takes the random bytes from a pool: one randomFillSync call per 4 KB, not one call per branch', () => {
    const real = crypto.randomFillSync;
    let fills = 0;
    crypto.randomFillSync = ((buffer: Buffer) => {
      fills++;
      return real(buffer);
    }) as typeof crypto.randomFillSync;
    try {
      for (let i = 0; i < 3_000; i += 1) sip.generateBranch();
    } finally {
      crypto.randomFillSync = real;
    }
    // 3,000 branches of 12 bytes are 36,000 bytes: 9 fills of 4,096, or 10 with the pool's part left over
    expect(fills).to.be.within(8, 10);
  });

  it('randomHex(n) gives 2n hex digits, for 1 to 4096 bytes', () => {
    expect(sip.randomHex(1)).to.match(/^[0-9a-f]{2}$/);
    expect(sip.randomHex(4096)).to.match(/^[0-9a-f]{8192}$/);
    for (const bytes of [0, -1, 4097, Number.NaN]) expect(() => sip.randomHex(bytes), String(bytes)).to.throw(RangeError);
  });

  it('puts such a branch in the Via of the requests it sends', async () => {
    const peer = await fixture.peer();
    const { stack } = await fixture.stack();

    stack.send(request('OPTIONS', `sip:peer@${HOST}:${peer.port}`));

    const options = await waitFor(() => peer.requests('OPTIONS')[0], 'the OPTIONS');
    expect(options.message.headers.via[0].params.branch).to.match(/^z9hG4bK[0-9a-f]{24}$/);
  });
});

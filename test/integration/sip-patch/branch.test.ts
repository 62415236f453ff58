import { expect } from 'chai';
import * as sip from 'sip';
import { Fixture, HOST, request, waitFor } from './harness';

/**
 * Branch ids (RFC 3261 section 8.1.1.7: unique across space and time). Unpatched they were 'z9hG4bK' plus
 * Math.random()*1e6, about 20 bits: 100,000 of them held about 5,000 duplicates.
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

  it('puts such a branch in the Via of the requests it sends', async () => {
    const peer = await fixture.peer();
    const { stack } = await fixture.stack();

    stack.send(request('OPTIONS', `sip:peer@${HOST}:${peer.port}`));

    const options = await waitFor(() => peer.requests('OPTIONS')[0], 'the OPTIONS');
    expect(options.message.headers.via[0].params.branch).to.match(/^z9hG4bK[0-9a-f]{24}$/);
  });
});

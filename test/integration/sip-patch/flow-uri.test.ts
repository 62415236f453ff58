import { expect } from 'chai';
import type * as sip from 'sip';
import { Fixture, HOST } from './harness';

/**
 * Flow URIs (a URI on our host whose user part is an HMAC-protected token for a connection). Unpatched,
 * isFlowUri threw a ReferenceError on every call (and inverted its answer), and decodeFlowUri threw on a URI
 * with no user part or one that does not parse.
 */
describe('sip patch: flow URIs', () => {
  let fixture: Fixture;
  let stack: sip.SipStack;
  let flow: sip.Remote;
  beforeEach(async () => {
    fixture = await Fixture.create();
    const created = await fixture.stack();
    stack = created.stack;
    flow = { protocol: 'UDP', address: '203.0.113.9', port: 40000, local: { address: HOST, port: created.port } };
  });
  afterEach(() => fixture.close());

  it('isFlowUri is true for a URI made by encodeFlowUri and false for others', () => {
    expect(stack.isFlowUri(stack.encodeFlowUri(flow))).to.equal(true);
    expect(stack.isFlowUri(`sip:${HOST}`)).to.equal(false);
    expect(stack.isFlowUri(`sip:someone@${HOST}`)).to.equal(false);
    expect(stack.isFlowUri('sip:someone@elsewhere.test')).to.equal(false);
  });

  it('decodeFlowUri gives the flow back, and undefined for a URI with no user part or one that does not parse', () => {
    expect(stack.decodeFlowUri(stack.encodeFlowUri(flow))).to.deep.equal(flow);
    expect(stack.decodeFlowUri(`sip:${HOST}`)).to.equal(undefined);
    expect(stack.decodeFlowUri('not a uri')).to.equal(undefined);
  });
});

import { expect } from 'chai';
import { passUpstream } from '../../../worker/calls/upstream';
import type { SipRequest } from '../../../worker/sip/message';
import { FakePort, responseTo } from '../../support/fakes';

const BYE: SipRequest = {
  method: 'BYE',
  uri: 'sip:pbx@10.0.0.5',
  headers: {
    via: [{ host: '198.51.100.7', params: { branch: 'z9hG4bKbye' } }],
    to: { uri: 'sip:+442079460001@192.0.2.1', params: { tag: 'callee' } },
    from: { uri: 'sip:+4930901820@carrier', params: { tag: 'a' } },
    'call-id': 'c1',
    cseq: { seq: 2, method: 'BYE' },
  },
};

describe('responses to a forwarded in-dialog request, passed upstream', () => {
  it('relays a response off the wire, our Via removed', () => {
    const port = new FakePort();
    const forwarded = { ...BYE, headers: { ...BYE.headers, via: [{ host: '192.0.2.1', params: { branch: 'z9hG4bKours' } }, ...BYE.headers.via] } };
    passUpstream(port, BYE)(responseTo(forwarded, 200), 'wire');
    expect(port.responded.map((response) => response.headers.via.map((via) => via.params.branch))).to.deep.equal([['z9hG4bKbye']]);
    expect(port.replies).to.have.length(0);
  });

  it("answers our own stack's 408 or 503 with a response of ours, never relaying it", () => {
    const port = new FakePort();
    passUpstream(port, BYE)(responseTo(BYE, 408), 'local');
    passUpstream(port, BYE)(responseTo(BYE, 503), 'local');
    expect(port.responded).to.have.length(0);
    expect(port.replies.map((reply) => [reply.request, reply.status])).to.deep.equal([
      [BYE, 408],
      [BYE, 503],
    ]);
  });
});

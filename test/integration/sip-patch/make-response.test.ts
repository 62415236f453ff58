import { expect } from 'chai';
import * as sip from 'sip';
import { HOST } from './harness';

/**
 * `makeResponse` copies the request's Via, To, From and CSeq. Unpatched it shared them: tagging the response's
 * To tagged the request, and shifting the response's Via (a proxy does) removed the request's top Via.
 */
describe('sip patch: makeResponse', () => {
  function received(): sip.SipRequest {
    const text = [
      `INVITE sip:callee@${HOST} SIP/2.0`,
      `Via: SIP/2.0/UDP ${HOST}:5070;branch=z9hG4bKproxy;received=${HOST}`,
      'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKuac',
      `To: <sip:callee@${HOST}>`,
      'From: "Caller" <sip:caller@example.test>;tag=abc',
      'Call-ID: make-response-1',
      'CSeq: 7 INVITE',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    return sip.parse(text) as sip.SipRequest;
  }

  it('shares no header object with the request', () => {
    const rq = received();
    const before = JSON.stringify(rq);

    const rs = sip.makeResponse(rq, 180, 'Ringing');
    rs.headers.to.params.tag = 'uas';
    rs.headers.from.params.tag = 'changed';
    rs.headers.cseq.seq = 8;
    rs.headers.via[0].params.received = '203.0.113.1';
    rs.headers.via.shift();

    expect(JSON.stringify(rq)).to.equal(before);
    expect(rq.headers.to.params.tag).to.equal(undefined);
    expect(rq.headers.via).to.have.length(2);
  });
});

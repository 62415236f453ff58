import { expect } from 'chai';
import * as sip from 'sip';

/**
 * `Contact: *` (RFC 3261 10.2.2, remove every binding). Unpatched, the parser compared its cursor object with
 * '*', so the check never held: the header became one entry with the URI `*`, serialised as `<*>`.
 */
describe('sip patch: Contact: *', () => {
  function register(contact: string): sip.SipRequest {
    return sip.parse(
      ['REGISTER sip:example.test SIP/2.0', 'Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKstar', 'To: <sip:a@example.test>', 'From: <sip:a@example.test>;tag=1', 'Call-ID: star-1', 'CSeq: 1 REGISTER', `Contact: ${contact}`, 'Expires: 0', '', ''].join('\r\n'),
    ) as sip.SipRequest;
  }

  it('parses to the string * and serialises back to Contact: *', () => {
    for (const contact of ['*', ' * ']) {
      const m = register(contact);
      expect(m.headers.contact).to.equal('*');
      expect(sip.stringify(m)).to.include('\r\nContact: *\r\n');
    }
  });

  it('still parses a list of contacts', () => {
    expect(register('<sip:a@192.0.2.1>, <sip:b@192.0.2.2>').headers.contact).to.deep.equal([
      { name: undefined, uri: 'sip:a@192.0.2.1', params: {} },
      { name: undefined, uri: 'sip:b@192.0.2.2', params: {} },
    ]);
  });
});

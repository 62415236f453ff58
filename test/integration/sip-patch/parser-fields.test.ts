import { expect } from 'chai';
import * as sip from 'sip';

/**
 * Fields the parser took in part, so that what it produced serialised as something else (found by the fuzz
 * test beside this one). Unpatched: a 40-digit CSeq was read as 1e+39 with its last digit as the method; a
 * status of 000 made a response that serialised as the request line `undefined undefined SIP/2.0`; a port of
 * 40 digits serialised as `1e+40`; an addr-spec without brackets took a '>' into its URI; and the method was
 * %-decoded, so `RE%47IST%45R` became REGISTER (RFC 4475 3.1.1.5 says it is not).
 */
describe('sip patch: parsed fields', () => {
  function parse(firstLine: string, headers: Record<string, string>): sip.SipMessage | undefined {
    const all = { Via: 'SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKfields', To: '<sip:b@example.test>', From: '<sip:a@example.test>;tag=1', 'Call-ID': 'fields-1', CSeq: '1 OPTIONS', ...headers };
    return sip.parse([firstLine, ...Object.entries(all).map(([name, value]) => `${name}: ${value}`), '', ''].join('\r\n'));
  }
  const OPTIONS = 'OPTIONS sip:b@example.test SIP/2.0';

  it('takes a CSeq only as a whole: a number below 2**31 and a method token', () => {
    expect(parse(OPTIONS, { CSeq: '2147483647 OPTIONS' })?.headers.cseq).to.deep.equal({ seq: 2147483647, method: 'OPTIONS' });
    expect(parse(OPTIONS, { CSeq: '0009\r\n  OPTIONS' })?.headers.cseq).to.deep.equal({ seq: 9, method: 'OPTIONS' });
    for (const bad of ['2147483648 OPTIONS', '9'.repeat(40), '1 OPTIONS extra', 'OPTIONS', '-1 OPTIONS']) {
      expect(parse(OPTIONS, { CSeq: bad })?.headers.cseq, bad).to.equal(undefined);
    }
  });

  it('takes a status code of three digits from 100 to 699 only', () => {
    expect(parse('SIP/2.0 100 ', {})).to.include({ status: 100, reason: '' });
    expect(parse('SIP/2.0 699 Whatever it is', {})).to.include({ status: 699, reason: 'Whatever it is' });
    for (const bad of ['SIP/2.0 000 Zero', 'SIP/2.0 4294967301 better not break the receiver', 'SIP/2.0 99 Low', 'SIP/2.0 700 High']) {
      expect(parse(bad, {}), bad).to.equal(undefined);
    }
  });

  it('refuses a port above 65535 in a Via (the header is dropped) and in a URI (left as text)', () => {
    expect(parse(OPTIONS, { Via: 'SIP/2.0/UDP 192.0.2.1:65535;branch=z9hG4bKa' })?.headers.via[0].port).to.equal(65535);
    expect(parse(OPTIONS, { Via: `SIP/2.0/UDP 192.0.2.1:${'9'.repeat(40)};branch=z9hG4bKa` })?.headers.via).to.equal(undefined);
    expect(sip.parseUri('sip:192.0.2.1:65536')).to.equal(undefined);
    expect(sip.parseUri('sip:192.0.2.1:65535')).to.include({ port: 65535 });
  });

  it('ends an addr-spec without brackets at <, > or a comma', () => {
    expect(parse(OPTIONS, { To: 'sip:b@example.test>;tag=x' })?.headers.to).to.deep.include({ uri: 'sip:b@example.test' });
    expect(parse(OPTIONS, { Contact: 'sip:a@192.0.2.1, sip:b@192.0.2.2' })?.headers.contact).to.deep.equal([
      { name: undefined, uri: 'sip:a@192.0.2.1', params: {} },
      { name: undefined, uri: 'sip:b@192.0.2.2', params: {} },
    ]);
  });

  it('takes the method as the token it is, without %-decoding it', () => {
    const m = parse('RE%47IST%45R sip:b@example.test SIP/2.0', { CSeq: '1 RE%47IST%45R' }) as sip.SipRequest;
    expect(m.method).to.equal('RE%47IST%45R');
    expect(m.headers.cseq.method).to.equal('RE%47IST%45R');
  });
});

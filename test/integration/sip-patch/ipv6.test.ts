import { expect } from 'chai';
import * as sip from 'sip';
import { Fixture, HOST, rawRequest, waitFor } from './harness';

/**
 * IPv6 references (RFC 5118). Unpatched, `parseUri` knew no `[...]` host: a Route or Record-Route such as
 * `<sip:[2001:db8::10]:5060;lr>` parsed to an entry with no URI, and serialising it (forwarding the request,
 * on process.nextTick) threw `Cannot read properties of undefined (reading 'schema')` out of every try/catch.
 * A Via with an IPv6 sent-by lost its port and every parameter (branch included), and a parameter value that
 * is an IPv6 address (`received=2001:db8::1`) was cut at its first colon.
 */
describe('sip patch: IPv6 references (RFC 5118)', () => {
  it('parseUri takes an IPv6 reference apart, host without brackets; stringifyUri puts them back', () => {
    const cases: [string, Partial<sip.SipUri>][] = [
      ['sip:[2001:db8::10]:5060;lr', { host: '2001:db8::10', port: 5060, params: { lr: null } }],
      ['sip:alice@[2001:db8::10]', { user: 'alice', host: '2001:db8::10' }],
      ['sips:[::1]:5061;transport=tcp', { schema: 'sips', host: '::1', port: 5061, params: { transport: 'tcp' } }],
      // RFC 5118 4.4: an IPv4-mapped address, and 4.3: a port that is not part of the address.
      ['sip:[::ffff:192.0.2.1]', { host: '::ffff:192.0.2.1' }],
      ['sip:user@[2001:db8::9:1]:5060', { host: '2001:db8::9:1', port: 5060 }],
      ['sip:user@[2001:db8::9:1];maddr=[2001:db8::1]', { host: '2001:db8::9:1', params: { maddr: '[2001:db8::1]' } }],
    ];
    for (const [text, expected] of cases) {
      const parsed = sip.parseUri(text);
      expect(parsed, text).to.deep.include(expected);
      expect(sip.stringifyUri(parsed as sip.SipUri), text).to.equal(text);
    }
    expect(sip.stringifyUri({ host: '2001:db8::1', port: 5060, params: {} })).to.equal('sip:[2001:db8::1]:5060');
  });

  it('refuses what only looks like an IPv6 reference', () => {
    for (const text of ['sip:[2001:db8::10', 'sip:[example.com]', 'sip:2001:db8::10', 'sip:[]']) {
      expect(sip.parseUri(text), text).to.equal(undefined);
    }
  });

  it('parses and serialises a Record-Route, Route and Via with IPv6 references', () => {
    const text = [
      'INVITE sip:+4930123@[2001:db8::1] SIP/2.0',
      'Via: SIP/2.0/UDP [2001:db8::9:1]:5060;branch=z9hG4bKv6;received=2001:db8::9:255',
      'Via: SIP/2.0/UDP [2001:db8::9:2];branch=z9hG4bKv6b;received=[2001:db8::9:3]',
      'Record-Route: <sip:[2001:db8::10]:5060;lr>',
      'Route: <sip:[2001:db8::20];lr>',
      'To: <sip:+4930123@[2001:db8::1]>',
      'From: <sip:caller@[2001:db8::9:1]>;tag=1',
      'Call-ID: v6-1',
      'CSeq: 1 INVITE',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');

    const m = sip.parse(text) as sip.SipRequest;

    expect(m.headers.via[0]).to.deep.equal({ version: '2.0', protocol: 'UDP', host: '2001:db8::9:1', port: 5060, params: { branch: 'z9hG4bKv6', received: '2001:db8::9:255' } });
    expect(m.headers.via[1]).to.include({ host: '2001:db8::9:2' }).and.to.have.deep.property('params', { branch: 'z9hG4bKv6b', received: '[2001:db8::9:3]' });
    expect(m.headers['record-route']?.[0].uri).to.include({ host: '2001:db8::10', port: 5060 });
    const again = sip.stringify(m);
    expect(again).to.include('\r\nVia: SIP/2.0/UDP [2001:db8::9:1]:5060;branch=z9hG4bKv6;received=2001:db8::9:255\r\n');
    expect(again).to.include('\r\nVia: SIP/2.0/UDP [2001:db8::9:2];branch=z9hG4bKv6b;received=[2001:db8::9:3]\r\n');
    expect(again).to.include('\r\nRecord-Route:  <sip:[2001:db8::10]:5060;lr>\r\n');
    expect(again).to.include('\r\nRoute:  <sip:[2001:db8::20];lr>\r\n');
    expect(sip.stringify(sip.parse(again) as sip.SipRequest)).to.equal(again);
  });

  describe('on a live stack', () => {
    let fixture: Fixture;
    beforeEach(async () => {
      fixture = await Fixture.create();
    });
    afterEach(() => fixture.close());

    it('forwards an INVITE with an IPv6 Record-Route (as a proxy does) with the entry intact', async () => {
      const callee = await fixture.peer();
      const holder: { stack?: sip.SipStack } = {};
      const proxy = await fixture.stack((rq) => {
        if (rq.method !== 'INVITE') return;
        const forwarded = sip.copyMessage(rq);
        forwarded.uri = `sip:callee@${HOST}:${callee.port}`;
        holder.stack?.send(forwarded, () => undefined);
      });
      holder.stack = proxy.stack;
      const { port } = proxy;
      const caller = await fixture.peer();

      caller.send(rawRequest('INVITE', `sip:callee@${HOST}:${port}`, caller.port, 'z9hG4bKv6rr', 'Record-Route: <sip:[2001:db8::10]:5060;lr>'), port);

      const invite = await waitFor(() => callee.requests('INVITE')[0], 'the forwarded INVITE');
      expect(invite.text).to.include('\r\nRecord-Route:  <sip:[2001:db8::10]:5060;lr>\r\n');
    });
  });
});

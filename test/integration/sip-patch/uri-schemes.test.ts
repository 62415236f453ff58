import { expect } from 'chai';
import * as sip from 'sip';
import { Fixture, HOST, rawRequest, request, waitFor } from './harness';

/**
 * URI schemes. RFC 3261 19.1.4: schemes compare case-insensitively, so `SIP:` is a SIP URI; unpatched,
 * `parseUri` knew only lower case. Any other scheme (`tel:` in a Record-Route, RFC 3966) made the Route or
 * Record-Route entry's URI undefined, and serialising it threw. A Request-URI or Route that is no SIP URI made
 * `send` throw on `hop.params`.
 */
describe('sip patch: URI schemes', () => {
  it('parses SIP and SIPS URIs whatever the case of the scheme, and keeps the scheme in lower case', () => {
    expect(sip.parseUri('SIP:proxy.example.test;lr')).to.include({ schema: 'sip', host: 'proxy.example.test' });
    expect(sip.parseUri('Sips:alice@example.test:5061')).to.include({ schema: 'sips', user: 'alice', port: 5061 });
    expect(sip.stringifyUri(sip.parseUri('SIP:proxy.example.test;lr') as sip.SipUri)).to.equal('sip:proxy.example.test;lr');
  });

  it('keeps a tel: or other absolute URI in Route, Record-Route and Path as the text it was', () => {
    const text = [
      'INVITE sip:+4930123@example.test SIP/2.0',
      'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKtel',
      'Record-Route: <tel:+4930123;phone-context=example.test>, <SIP:rr.example.test;lr>',
      'Route: <urn:service:sos>',
      'Path: <not a uri>',
      'To: <tel:+4930123>',
      'From: <sip:caller@example.test>;tag=1',
      'Call-ID: tel-1',
      'CSeq: 1 INVITE',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');

    const m = sip.parse(text) as sip.SipRequest;

    expect(m.headers['record-route']?.map((entry) => entry.uri)).to.deep.equal([
      'tel:+4930123;phone-context=example.test',
      { schema: 'sip', user: undefined, password: undefined, host: 'rr.example.test', port: NaN, params: { lr: null }, headers: {} },
    ]);
    expect(m.headers.route?.[0].uri).to.equal('urn:service:sos');
    const again = sip.stringify(m);
    expect(again).to.include('\r\nRecord-Route:  <tel:+4930123;phone-context=example.test>,  <sip:rr.example.test;lr>\r\n');
    expect(again).to.include('\r\nRoute:  <urn:service:sos>\r\n');
    expect(again).to.include('\r\nPath:  <not a uri>\r\n');
  });

  it('serialises an entry whose URI is missing without throwing', () => {
    const m = request('OPTIONS', 'sip:x@example.test', { route: [{ uri: undefined, params: {} }] });
    m.headers.via = [{ version: '2.0', protocol: 'UDP', host: 'example.test', params: {} }];
    expect(sip.stringify(m)).to.include('\r\nRoute:  <>\r\n');
  });

  describe('on a live stack', () => {
    let fixture: Fixture;
    beforeEach(async () => {
      fixture = await Fixture.create();
    });
    afterEach(() => fixture.close());

    it('answers a request to a tel: Request-URI or with a tel: Route with 404 (no address), not an exception', async () => {
      const { stack } = await fixture.stack();
      const statuses: number[] = [];

      stack.send(request('OPTIONS', 'tel:+4930123'), (response) => statuses.push(response.status));
      stack.send(request('OPTIONS', `sip:x@${HOST}`, { route: [{ uri: 'tel:+4930123', params: {} }] }), (response) => statuses.push(response.status));

      await waitFor(() => statuses.length === 2, 'two answers');
      expect(statuses).to.deep.equal([404, 404]);
    });

    it('routes on an upper-case SIP: Route', async () => {
      const callee = await fixture.answering(200, 'OK');
      const { stack } = await fixture.stack();
      const statuses: number[] = [];

      stack.send(request('OPTIONS', 'sip:x@nowhere.invalid', { route: [{ uri: `SIP:${HOST}:${callee.port};lr`, params: {} }] }), (response) => statuses.push(response.status));

      await waitFor(() => statuses.includes(200), 'the 200');
    });

    it('relays a request carrying a tel: Record-Route and an upper-case Route', async () => {
      const callee = await fixture.peer();
      const holder: { stack?: sip.SipStack } = {};
      const proxy = await fixture.stack((rq) => {
        if (rq.method !== 'OPTIONS') return;
        const forwarded = sip.copyMessage(rq);
        forwarded.uri = `sip:callee@${HOST}:${callee.port}`;
        forwarded.headers.route = undefined;
        holder.stack?.send(forwarded, () => undefined);
      });
      holder.stack = proxy.stack;
      const caller = await fixture.peer();

      caller.send(rawRequest('OPTIONS', `sip:callee@${HOST}:${proxy.port}`, caller.port, 'z9hG4bKtelrr', 'Record-Route: <tel:+4930123>\r\nRoute: <SIP:127.0.0.1;lr>'), proxy.port);

      const options = await waitFor(() => callee.requests('OPTIONS')[0], 'the forwarded OPTIONS');
      expect(options.text).to.include('\r\nRecord-Route:  <tel:+4930123>\r\n');
    });
  });
});

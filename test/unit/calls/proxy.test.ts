import { expect } from 'chai';
import { didFromRequestUser } from '../../../worker/calls/did';
import { cancelMatches, copyRequest, forwardedRequest, maxForwards, ownRecordRoute, requestUser, responseForCaller, upstreamResponse } from '../../../worker/calls/proxy';
import type { SipRequest, SipResponse } from '../../../worker/sip/message';

const invite = (): SipRequest => ({
  method: 'INVITE',
  uri: 'sip:+442079460001@192.0.2.1:5060',
  headers: {
    via: [{ version: '2.0', protocol: 'UDP', host: '198.51.100.7', port: 5060, params: { branch: 'z9hG4bKcarrier' } }],
    to: { uri: 'sip:+442079460001@192.0.2.1', params: {} },
    from: { uri: 'sip:+4930901820@carrier.example', params: { tag: 'a' } },
    'call-id': 'c1',
    cseq: { seq: 1, method: 'INVITE' },
    'max-forwards': 70,
    route: [{ uri: 'sip:192.0.2.1:5060;lr', params: {} }, { uri: 'sip:next.example;lr', params: {} }],
    'record-route': [{ uri: 'sip:carrier-sbc.example;lr', params: {} }],
  },
});

describe('proxy message handling (RFC 3261 section 16)', () => {
  it('forwards a copy: new Request-URI, Max-Forwards - 1, our Route removed, our Record-Route on top', () => {
    const original = invite();
    const forwarded = forwardedRequest(original, {
      uri: 'sip:pbx@10.0.0.5:5060',
      recordRoute: { uri: 'sip:192.0.2.1:5060;lr', params: {} },
      isOwnRoute: (uri) => uri === 'sip:192.0.2.1:5060;lr',
    });
    expect(forwarded.uri).to.equal('sip:pbx@10.0.0.5:5060');
    expect(forwarded.headers['max-forwards']).to.equal(69);
    expect(forwarded.headers.route?.map((route) => route.uri)).to.deep.equal(['sip:next.example;lr']);
    expect(forwarded.headers['record-route']?.map((route) => route.uri)).to.deep.equal(['sip:192.0.2.1:5060;lr', 'sip:carrier-sbc.example;lr']);
    expect(original).to.deep.equal(invite(), 'the received request is untouched');
  });

  it('drops an empty Route set rather than sending an empty header', () => {
    const forwarded = forwardedRequest({ ...invite(), headers: { ...invite().headers, route: [{ uri: 'sip:me;lr', params: {} }] } }, { uri: 'sip:x@h', isOwnRoute: () => true });
    expect(forwarded.headers.route).to.equal(undefined);
  });

  it('copies deeply enough that tags and Vias of the copy are its own', () => {
    const original = invite();
    const copy = copyRequest(original);
    copy.headers.to.params.tag = 'changed';
    copy.headers.via[0].params.branch = 'changed';
    expect(original.headers.to.params.tag).to.equal(undefined);
    expect(original.headers.via[0].params.branch).to.equal('z9hG4bKcarrier');
  });

  const forwardsRows: { value: unknown; expected: number }[] = [
    { value: 70, expected: 70 },
    { value: '5', expected: 5 },
    { value: 0, expected: 0 },
    { value: undefined, expected: 70 },
    { value: 'abc', expected: 70 },
    { value: -1, expected: 70 },
  ];
  for (const row of forwardsRows) {
    it(`reads Max-Forwards ${JSON.stringify(row.value)} as ${row.expected}`, () => {
      expect(maxForwards({ ...invite(), headers: { ...invite().headers, 'max-forwards': row.value as number } })).to.equal(row.expected);
    });
  }

  it('sends a response upstream without our Via, and re-addresses a branch response to the caller', () => {
    const ours = { version: '2.0', protocol: 'UDP', host: '192.0.2.1', port: 5060, params: { branch: 'z9hG4bKus' } };
    const response: SipResponse = { status: 180, reason: 'Ringing', headers: { ...invite().headers, via: [ours, ...invite().headers.via] } };
    expect(upstreamResponse(response).headers.via).to.deep.equal(invite().headers.via);
    expect(responseForCaller(response, invite()).headers.via).to.deep.equal(invite().headers.via);
    expect(response.headers.via).to.have.length(2, 'the received response is untouched');
  });

  const users: { uri: string; expected: string | null }[] = [
    { uri: 'sip:+442079460001@192.0.2.1', expected: '+442079460001' },
    { uri: 'sips:alice@example.com;transport=tls', expected: 'alice' },
    { uri: 'sip:%2B442079460001@h', expected: '+442079460001' },
    { uri: 'sip:+442079460001;npdi@192.0.2.1:5060', expected: '+442079460001;npdi' },
    { uri: 'sip:+4930901820;npdi;rn=+4930000@carrier.example;user=phone', expected: '+4930901820;npdi;rn=+4930000' },
    { uri: 'sip:alice:secret@example.com', expected: 'alice' },
    { uri: 'sip:%ZZ@h', expected: null },
    { uri: 'sip:example.com', expected: null },
    { uri: 'tel:+442079460001', expected: null },
  ];
  for (const row of users) {
    it(`reads the user of ${row.uri}`, () => expect(requestUser(row.uri)).to.equal(row.expected));
  }
});

describe('CANCEL matched to its INVITE transaction (RFC 3261 sections 9.1, 9.2, 17.2.3)', () => {
  const CALLER = { address: '198.51.100.7', port: 5060 };
  const cancelOf = (original: SipRequest): SipRequest => ({
    method: 'CANCEL',
    uri: original.uri,
    headers: {
      via: [{ ...original.headers.via[0], params: { ...original.headers.via[0].params } }],
      to: { ...original.headers.to, params: { ...original.headers.to.params } },
      from: { ...original.headers.from, params: { ...original.headers.from.params } },
      'call-id': original.headers['call-id'],
      cseq: { seq: original.headers.cseq.seq, method: 'CANCEL' },
    },
  });
  const rows: { name: string; change: (cancel: SipRequest) => void; source?: { address: string; port: number }; expected: boolean }[] = [
    { name: 'the same transaction from the caller', change: () => undefined, expected: true },
    { name: 'sent-by host in another case', change: (cancel) => (cancel.headers.via[0].host = '198.51.100.7'.toUpperCase()), expected: true },
    { name: 'another branch', change: (cancel) => (cancel.headers.via[0].params.branch = 'z9hG4bKother'), expected: false },
    { name: 'no branch', change: (cancel) => (cancel.headers.via[0].params = {}), expected: false },
    { name: 'no Via at all', change: (cancel) => (cancel.headers.via = []), expected: false },
    { name: 'another sent-by host', change: (cancel) => (cancel.headers.via[0].host = '203.0.113.9'), expected: false },
    { name: 'another sent-by port', change: (cancel) => (cancel.headers.via[0].port = 5070), expected: false },
    { name: 'another Call-ID', change: (cancel) => (cancel.headers['call-id'] = 'c2'), expected: false },
    { name: 'another From tag', change: (cancel) => (cancel.headers.from.params.tag = 'b'), expected: false },
    { name: 'a To tag the INVITE did not have', change: (cancel) => (cancel.headers.to.params.tag = 'x'), expected: false },
    { name: 'another To URI', change: (cancel) => (cancel.headers.to.uri = 'sip:+442079460002@192.0.2.1'), expected: false },
    { name: 'another CSeq number', change: (cancel) => (cancel.headers.cseq.seq = 2), expected: false },
    { name: 'the same transaction from an address of no carrier', change: () => undefined, source: { address: '203.0.113.66', port: 5060 }, expected: false },
    { name: 'the same transaction from another port (another socket of the SBC)', change: () => undefined, source: { address: '198.51.100.7', port: 5061 }, expected: true },
    { name: 'the same transaction from another address of the same carrier', change: () => undefined, source: { address: '198.51.100.8', port: 5070 }, expected: true },
    { name: 'the same transaction from an address of another carrier', change: () => undefined, source: { address: '192.0.2.77', port: 5060 }, expected: false },
    { name: 'another branch from another address of the same carrier', change: (cancel) => (cancel.headers.via[0].params.branch = 'z9hG4bKother'), source: { address: '198.51.100.8', port: 5060 }, expected: false },
  ];
  /** 198.51.100.0/24 is one carrier's SBC cluster, 192.0.2.77 another carrier. */
  const carrierOf = (address: string) => (address.startsWith('198.51.100.') ? { id: 'carrier-a' } : address === '192.0.2.77' ? { id: 'carrier-b' } : null);
  for (const row of rows) {
    it(`${row.expected ? 'matches' : 'does not match'}: ${row.name}`, () => {
      const cancel = cancelOf(invite());
      row.change(cancel);
      expect(cancelMatches(invite(), CALLER, cancel, row.source ?? CALLER, carrierOf)).to.equal(row.expected);
    });
  }
});

describe('the dialled number (DID) from the Request-URI user', () => {
  const rows: { user: string | null; expected: string | null }[] = [
    { user: '+442079460001', expected: '+442079460001' },
    { user: '442079460001', expected: '+442079460001' },
    { user: '00442079460001', expected: '+442079460001' },
    { user: '+44-20-7946-0001', expected: '+442079460001' },
    { user: '+442079460001;npdi', expected: '+442079460001' },
    { user: '02079460001', expected: null },
    { user: '+4420', expected: null },
    { user: '+999123456789', expected: '+999123456789' },
    { user: 'alice', expected: null },
    { user: '', expected: null },
    { user: null, expected: null },
  ];
  for (const row of rows) {
    it(`${JSON.stringify(row.user)} -> ${String(row.expected)}`, () => expect(didFromRequestUser(row.user)).to.equal(row.expected));
  }
});

describe('our Record-Route entry', () => {
  it('a host or IPv4 address as it is, an IPv6 address in brackets', () => {
    expect(ownRecordRoute('192.0.2.1', 5060).uri).to.equal('sip:192.0.2.1:5060;lr');
    expect(ownRecordRoute('sip.example.net', 5080).uri).to.equal('sip:sip.example.net:5080;lr');
    expect(ownRecordRoute('2001:db8::1', 5060).uri).to.equal('sip:[2001:db8::1]:5060;lr');
  });
});

import { expect } from 'chai';
import { parseCidr, type CidrResult } from '../../domain/cidr';
import { computeHa1, DigestAlgorithm } from '../../domain/digest';
import { toE164 } from '../../domain/phone-number';
import { parseSipUri, type SipUri } from '../../domain/sip-uri';
import { isIanaTimeZone } from '../../domain/time-zone';

describe('toE164', () => {
  const rows: { input: string; expected: string | null }[] = [
    { input: '+442079460000', expected: '+442079460000' },
    { input: '+44 20 7946 0000', expected: '+442079460000' },
    { input: '+44-20-7946-0000', expected: '+442079460000' },
    { input: '  +49 30 901820  ', expected: '+4930901820' },
    { input: '+1 212 555 0100', expected: '+12125550100' },
    // National forms are refused: the platform cannot guess the country.
    { input: '020 7946 0000', expected: null },
    { input: '442079460000', expected: null },
    { input: '+44 20', expected: null },
    { input: '+999 123', expected: null },
    { input: '+', expected: null },
    { input: '', expected: null },
    { input: '+4420794600001234', expected: null },
    { input: `+44 ${'0'.repeat(40)}`, expected: null },
    { input: 'tel:+442079460000', expected: null },
    // Nothing typed may be silently dropped: an extension or trailing text makes the input invalid.
    { input: '+44 20 7946 0000 ext. 123', expected: null },
    { input: '+1 212 555 0100 x12', expected: null },
    { input: '+44 20 7946 0000;ext=1', expected: null },
    { input: '+442079460000abc', expected: null },
  ];
  for (const row of rows) {
    it(`${JSON.stringify(row.input)} -> ${String(row.expected)}`, () => {
      expect(toE164(row.input)).to.equal(row.expected);
    });
  }
});

describe('parseCidr', () => {
  const notAnAddress = (text: string): CidrResult => ({ ok: false, reason: `"${text}" is not an IP address or CIDR network` });
  const rows: { input: string; expected: CidrResult }[] = [
    { input: '10.0.0.0/8', expected: { ok: true, cidr: '10.0.0.0/8' } },
    { input: ' 192.168.1.0/24 ', expected: { ok: true, cidr: '192.168.1.0/24' } },
    { input: '0.0.0.0/0', expected: { ok: true, cidr: '0.0.0.0/0' } },
    { input: '203.0.113.7/32', expected: { ok: true, cidr: '203.0.113.7/32' } },
    { input: '203.0.113.7', expected: { ok: true, cidr: '203.0.113.7/32' } },
    { input: '2001:db8::/32', expected: { ok: true, cidr: '2001:db8::/32' } },
    { input: '2001:DB8:0:0::/48', expected: { ok: true, cidr: '2001:db8::/48' } },
    { input: '2001:db8::1', expected: { ok: true, cidr: '2001:db8::1/128' } },
    { input: '::1', expected: { ok: true, cidr: '::1/128' } },
    { input: '10.0.0.1/8', expected: { ok: false, reason: '"10.0.0.1/8" has host bits set; the network is 10.0.0.0/8' } },
    { input: '192.168.1.5/24', expected: { ok: false, reason: '"192.168.1.5/24" has host bits set; the network is 192.168.1.0/24' } },
    { input: '2001:db8::1/32', expected: { ok: false, reason: '"2001:db8::1/32" has host bits set; the network is 2001:db8::/32' } },
    { input: 'garbage', expected: notAnAddress('garbage') },
    { input: '', expected: notAnAddress('') },
    { input: '10.0.0.0/33', expected: notAnAddress('10.0.0.0/33') },
    { input: '2001:db8::/129', expected: notAnAddress('2001:db8::/129') },
    { input: '10.0.0.0/', expected: notAnAddress('10.0.0.0/') },
    { input: '10.0.0.0/-1', expected: notAnAddress('10.0.0.0/-1') },
    { input: '10.0.0.0/8/8', expected: notAnAddress('10.0.0.0/8/8') },
    { input: '256.0.0.1', expected: notAnAddress('256.0.0.1') },
    // inet_aton shorthands are ambiguous in an allow-list ("010" is octal 8): only dotted quads.
    { input: '010.0.0.1', expected: notAnAddress('010.0.0.1') },
    { input: '0xa.0.0.1', expected: notAnAddress('0xa.0.0.1') },
    { input: '10.1', expected: notAnAddress('10.1') },
    { input: '10', expected: notAnAddress('10') },
    { input: '10/8', expected: notAnAddress('10/8') },
    { input: 'fe80::1%eth0', expected: notAnAddress('fe80::1%eth0') },
  ];
  for (const row of rows) {
    it(`${JSON.stringify(row.input)} -> ${row.expected.ok ? row.expected.cidr : 'refused'}`, () => {
      expect(parseCidr(row.input)).to.deep.equal(row.expected);
    });
  }
});

describe('parseSipUri', () => {
  const uri = (fields: Partial<SipUri> & Pick<SipUri, 'host'>): SipUri => ({ scheme: 'sip', user: undefined, port: undefined, params: '', ...fields });
  const rows: { input: string; expected: SipUri | null }[] = [
    { input: 'sip:example.com', expected: uri({ host: 'example.com' }) },
    { input: 'sip:alice@example.com', expected: uri({ user: 'alice', host: 'example.com' }) },
    { input: ' sip:alice@example.com ', expected: uri({ user: 'alice', host: 'example.com' }) },
    { input: 'sips:bob@example.com', expected: uri({ scheme: 'sips', user: 'bob', host: 'example.com' }) },
    { input: 'sip:example.com:5060;transport=tcp', expected: uri({ host: 'example.com', port: 5060, params: ';transport=tcp' }) },
    { input: 'sip:+442079460000@gw.example.com;user=phone', expected: uri({ user: '+442079460000', host: 'gw.example.com', params: ';user=phone' }) },
    { input: 'sip:10.0.0.1', expected: uri({ host: '10.0.0.1' }) },
    { input: 'sip:[2001:db8::1]:5080', expected: uri({ host: '2001:db8::1', port: 5080 }) },
    { input: 'sip:example.com:65535', expected: uri({ host: 'example.com', port: 65535 }) },
    { input: 'sip:example.com;lr', expected: uri({ host: 'example.com', params: ';lr' }) },
    { input: 'SIP:alice@example.com', expected: uri({ user: 'alice', host: 'example.com' }) },
    { input: 'sip:999.1.1.1', expected: null },
    { input: 'sip:pbx.123', expected: null },
    { input: 'sip:', expected: null },
    { input: 'sip:@example.com', expected: null },
    { input: 'sip:alice:secret@example.com', expected: null },
    { input: 'sip:alice@example.com?subject=hello', expected: null },
    { input: 'sip:example.com:0', expected: null },
    { input: 'sip:example.com:65536', expected: null },
    { input: 'sip:example.com:123456', expected: null },
    { input: 'sip:-bad.example.com', expected: null },
    { input: 'sip:under_score.example.com', expected: null },
    { input: 'sip:[10.0.0.1]', expected: null },
    { input: 'sip:[2001:db8::1', expected: null },
    { input: 'sip:a@b@example.com', expected: null },
    { input: 'sip:example.com;bad param', expected: null },
    { input: 'tel:+442079460000', expected: null },
    { input: 'alice@example.com', expected: null },
    { input: '', expected: null },
  ];
  for (const row of rows) {
    it(`${JSON.stringify(row.input)} -> ${row.expected === null ? 'null' : 'parsed'}`, () => {
      expect(parseSipUri(row.input)).to.deep.equal(row.expected);
    });
  }
});

describe('isIanaTimeZone', () => {
  // Names need a "/" (Area/Location), except UTC: bare legacy names such as CET are refused.
  const rows: { name: string; expected: boolean }[] = [
    { name: 'Europe/Berlin', expected: true },
    { name: 'UTC', expected: true },
    { name: 'America/Argentina/Buenos_Aires', expected: true },
    { name: 'Etc/UTC', expected: true },
    { name: 'Mars/Base', expected: false },
    { name: 'CET', expected: false },
    { name: 'GMT', expected: false },
    { name: 'EST5EDT', expected: false },
    { name: 'utc', expected: false },
    { name: '', expected: false },
    { name: 'Europe/Berlin ', expected: false },
    { name: `Europe/${'x'.repeat(60)}`, expected: false },
  ];
  for (const row of rows) {
    it(`${JSON.stringify(row.name)} -> ${row.expected}`, () => {
      expect(isIanaTimeZone(row.name)).to.equal(row.expected);
    });
  }
});

describe('computeHa1', () => {
  const rows: { algorithm: DigestAlgorithm; expected: string; source: string }[] = [
    { algorithm: DigestAlgorithm.MD5, expected: '939e7578ed9e3c518a452acee763bce9', source: 'RFC 2617 section 3.5' },
    {
      algorithm: DigestAlgorithm.SHA256,
      expected: '3ba6cd94661c5ef34598040c868f13b8775df29109986be50ad35ae537dd3aa4',
      source: "printf '%s' 'Mufasa:testrealm@host.com:Circle Of Life' | sha256sum",
    },
  ];
  for (const row of rows) {
    it(`${row.algorithm} of Mufasa:testrealm@host.com:Circle Of Life (${row.source})`, () => {
      expect(computeHa1(row.algorithm, 'Mufasa', 'testrealm@host.com', 'Circle Of Life')).to.equal(row.expected);
    });
  }
});

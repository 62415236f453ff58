import { expect } from 'chai';
import { isAllowedDestination, judgeDestination, parseDestinationAddress } from '../../domain/network-policy';

/** Each refused range at its first and last address, and the public neighbours just outside. */
const REFUSED_EDGES: { range: string; inside: string[]; outside: string[] }[] = [
  { range: '0.0.0.0/8', inside: ['0.0.0.0', '0.255.255.255'], outside: ['1.0.0.0'] },
  { range: '10.0.0.0/8', inside: ['10.0.0.0', '10.255.255.255'], outside: ['9.255.255.255', '11.0.0.0'] },
  { range: '100.64.0.0/10', inside: ['100.64.0.0', '100.127.255.255'], outside: ['100.63.255.255', '100.128.0.0'] },
  { range: '127.0.0.0/8', inside: ['127.0.0.0', '127.0.0.1', '127.255.255.255'], outside: ['126.255.255.255', '128.0.0.0'] },
  { range: '169.254.0.0/16', inside: ['169.254.0.0', '169.254.169.254', '169.254.255.255'], outside: ['169.253.255.255', '169.255.0.0'] },
  { range: '172.16.0.0/12', inside: ['172.16.0.0', '172.31.255.255'], outside: ['172.15.255.255', '172.32.0.0'] },
  { range: '192.0.0.0/24', inside: ['192.0.0.0', '192.0.0.255'], outside: ['191.255.255.255', '192.0.1.0'] },
  { range: '192.0.2.0/24', inside: ['192.0.2.0', '192.0.2.255'], outside: ['192.0.1.255', '192.0.3.0'] },
  { range: '192.88.99.0/24', inside: ['192.88.99.0', '192.88.99.255'], outside: ['192.88.98.255', '192.88.100.0'] },
  { range: '192.168.0.0/16', inside: ['192.168.0.0', '192.168.255.255'], outside: ['192.167.255.255', '192.169.0.0'] },
  { range: '198.18.0.0/15', inside: ['198.18.0.0', '198.19.255.255'], outside: ['198.17.255.255', '198.20.0.0'] },
  { range: '198.51.100.0/24', inside: ['198.51.100.0', '198.51.100.255'], outside: ['198.51.99.255', '198.51.101.0'] },
  { range: '203.0.113.0/24', inside: ['203.0.113.0', '203.0.113.255'], outside: ['203.0.112.255', '203.0.114.0'] },
  { range: '224.0.0.0/4', inside: ['224.0.0.0', '239.255.255.255'], outside: ['223.255.255.255'] },
  { range: '240.0.0.0/4', inside: ['240.0.0.0', '255.255.255.254', '255.255.255.255'], outside: [] },
  { range: '::/128', inside: ['::'], outside: [] },
  { range: '::1/128', inside: ['::1'], outside: [] },
  { range: 'NAT64 64:ff9b::/96', inside: ['64:ff9b::a9fe:a9fe', '64:ff9b::8.8.8.8', '64:ff9b:1::1'], outside: [] },
  { range: 'fc00::/7', inside: ['fc00::', 'fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'], outside: [] },
  { range: 'fe80::/10', inside: ['fe80::', 'febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff'], outside: [] },
  { range: 'ff00::/8', inside: ['ff00::', 'ff02::1', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'], outside: [] },
  { range: 'below 2000::/3', inside: ['1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'], outside: ['2000::'] },
  { range: 'above 2000::/3', inside: ['4000::'], outside: ['3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff'] },
  { range: '2001::/23 (Teredo, benchmarking)', inside: ['2001::', '2001:2::1', '2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff'], outside: ['2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '2001:200::'] },
  { range: '2001:db8::/32', inside: ['2001:db8::', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff'], outside: ['2001:db7:ffff:ffff:ffff:ffff:ffff:ffff', '2001:db9::'] },
  { range: '2002::/16 (6to4)', inside: ['2002::', '2002:c0a8:101::1', '2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff'], outside: ['2003::'] },
  { range: '3fff::/20', inside: ['3fff::', '3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff'], outside: ['3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '3fff:1000::'] },
];

describe('isAllowedDestination with no operator networks', () => {
  for (const row of REFUSED_EDGES) {
    for (const address of row.inside) {
      it(`refuses ${address} (${row.range})`, () => expect(isAllowedDestination(address, [])).to.equal(false));
    }
    for (const address of row.outside) {
      it(`allows ${address} just outside ${row.range}`, () => expect(isAllowedDestination(address, [])).to.equal(true));
    }
  }

  const publicAddresses = ['8.8.8.8', '1.1.1.1', '93.184.216.34', '2606:4700:4700::1111', '2a00:1450:4001:80b::200e'];
  for (const address of publicAddresses) {
    it(`allows the public address ${address}`, () => expect(isAllowedDestination(address, [])).to.equal(true));
  }

  const mapped: { address: string; allowed: boolean }[] = [
    { address: '::ffff:127.0.0.1', allowed: false },
    { address: '::ffff:7f00:1', allowed: false },
    { address: '::ffff:169.254.169.254', allowed: false },
    { address: '::ffff:10.1.2.3', allowed: false },
    { address: '::ffff:192.168.0.1', allowed: false },
    { address: '::ffff:100.64.0.1', allowed: false },
    { address: '::ffff:0.0.0.0', allowed: false },
    { address: '::FFFF:8.8.8.8', allowed: true },
    { address: '::ffff:808:808', allowed: true },
  ];
  for (const row of mapped) {
    it(`judges the IPv4-mapped ${row.address} as its IPv4 address`, () => expect(isAllowedDestination(row.address, [])).to.equal(row.allowed));
  }

  const unreadable = ['', 'localhost', 'example.com', '127.1', '2130706433', '0x7f.0.0.1', '0177.0.0.1', 'fe80::1%eth0', '2606:4700::1%1', '8.8.8.8 ', '1.2.3.4.5', '::ffff:127.1'];
  for (const text of unreadable) {
    it(`refuses ${JSON.stringify(text)}, not a plain address`, () => {
      expect(judgeDestination(text, ['0.0.0.0/0', '::/0'])).to.deep.equal({ allowed: false, reason: 'not a plain IP address' });
    });
  }
});

describe('isAllowedDestination with operator networks', () => {
  const rows: { allowed: string[]; address: string; expected: boolean }[] = [
    { allowed: ['127.0.0.0/8'], address: '127.0.0.1', expected: true },
    { allowed: ['127.0.0.0/8'], address: '127.255.255.255', expected: true },
    { allowed: ['127.0.0.0/8'], address: '::ffff:127.0.0.1', expected: true },
    { allowed: ['127.0.0.0/8'], address: '::1', expected: false },
    { allowed: ['127.0.0.0/8'], address: '10.0.0.1', expected: false },
    { allowed: ['10.1.0.0/16'], address: '10.1.255.255', expected: true },
    { allowed: ['10.1.0.0/16'], address: '10.0.255.255', expected: false },
    { allowed: ['10.1.0.0/16'], address: '10.2.0.0', expected: false },
    { allowed: ['192.168.1.10/32'], address: '192.168.1.10', expected: true },
    { allowed: ['192.168.1.10/32'], address: '192.168.1.11', expected: false },
    { allowed: ['fd00:1::/32'], address: 'fd00:1::5', expected: true },
    { allowed: ['fd00:1::/32'], address: 'fd00:2::5', expected: false },
    { allowed: ['::1/128'], address: '::1', expected: true },
    { allowed: ['169.254.169.254/32'], address: '169.254.169.254', expected: true },
    { allowed: ['10.0.0.0/8'], address: '8.8.8.8', expected: true },
    { allowed: ['not a network', '127.0.0.0/8'], address: '127.0.0.1', expected: true },
    { allowed: ['not a network'], address: '127.0.0.1', expected: false },
    { allowed: ['::/0'], address: '127.0.0.1', expected: false },
  ];
  for (const row of rows) {
    it(`${row.expected ? 'allows' : 'refuses'} ${row.address} with ${row.allowed.join(', ')}`, () => {
      expect(isAllowedDestination(row.address, row.allowed)).to.equal(row.expected);
    });
  }

  it('names the range that refuses an address', () => {
    expect(judgeDestination('169.254.169.254', [])).to.deep.equal({ allowed: false, reason: 'link-local, incl. cloud metadata (RFC 3927), not in the allowed networks' });
    expect(judgeDestination('fd12::1', [])).to.deep.equal({ allowed: false, reason: 'unique local (RFC 4193), not in the allowed networks' });
  });

  it('reads a mapped address as IPv4 and keeps other IPv6 as IPv6', () => {
    expect(parseDestinationAddress('::ffff:10.0.0.1')?.toString()).to.equal('10.0.0.1');
    expect(parseDestinationAddress('2606:4700::1')?.kind()).to.equal('ipv6');
  });
});

import { expect } from 'chai';
import { canonicalHost, ownAddressMatcher } from '../../../worker/sip/own-address';

describe('ownAddressMatcher: is this host and port us?', () => {
  const rows: { own: string; host: string; port?: number; expected: boolean }[] = [
    { own: '192.0.2.1', host: '192.0.2.1', expected: true },
    { own: '192.0.2.1', host: '192.0.2.1', port: 5060, expected: true },
    { own: '192.0.2.1', host: '192.0.2.1', port: 5061, expected: false },
    { own: '192.0.2.1', host: '192.0.2.2', expected: false },
    { own: 'Proxy.Example.Test', host: 'proxy.example.TEST', expected: true },
    { own: 'proxy.example.test', host: 'proxy.example.test.', expected: false },
    { own: '2001:db8::1', host: '2001:DB8::0:1', expected: true },
    { own: '[2001:DB8::1]', host: '2001:db8:0:0:0:0:0:1', expected: true },
    { own: '2001:db8::1', host: '[2001:db8::1]', port: 5060, expected: true },
    { own: '2001:db8::1', host: '2001:db8::2', expected: false },
    { own: '192.0.2.1', host: '3221225985', expected: false },
    { own: '192.0.2.1', host: '192.000.002.001', expected: false },
    { own: '192.0.2.1', host: '192.0.2.1', port: Number.NaN, expected: true },
  ];
  for (const row of rows) {
    it(`${row.host}${row.port === undefined ? '' : `:${row.port}`} ${row.expected ? 'is' : 'is not'} ${row.own}:5060`, () => {
      expect(ownAddressMatcher({ address: row.own, port: 5060 })(row.host, row.port)).to.equal(row.expected);
    });
  }

  it('keeps a host name as text, lower case', () => {
    expect(canonicalHost('[::FFFF:192.0.2.1]')).to.equal('::ffff:c000:201');
    expect(canonicalHost('Not-An-IP')).to.equal('not-an-ip');
    expect(canonicalHost('192.0.2.1')).to.equal('192.0.2.1');
    expect(canonicalHost('[2001:db8::1')).to.equal('[2001:db8::1', 'unbalanced: not a reference, left as it is');
  });
});

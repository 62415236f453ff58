import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { DigestAlgorithm } from '../../../domain/digest';
import type { Clock } from '../../../worker/clock';
import { challengeHeader, expectedResponse, parseCredentials, verifyResponse } from '../../../worker/registrar/digest-auth';
import { NONCE_LIFETIME_MS, NonceService } from '../../../worker/registrar/nonce';
import { SharedFailureThrottle } from '../../../worker/registrar/throttle';

const md5 = (text: string) => createHash('md5').update(text).digest('hex');
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

function fixedClock(start: number): Clock & { set(ms: number): void } {
  let now = start;
  return { now: () => now, after: () => ({ cancel: () => undefined }), set: (ms) => (now = ms) };
}

describe('digest credentials (RFC 7616, RFC 8760)', () => {
  const header = (overrides: Record<string, string | undefined> = {}) => ({
    scheme: 'Digest',
    username: '"pbx1"',
    realm: '"trunks.test"',
    nonce: '"n0nce"',
    uri: '"sip:trunks.test"',
    response: '"ABCDEF"',
    qop: 'auth',
    nc: '00000001',
    cnonce: '"c"',
    ...overrides,
  });

  const rows: { name: string; header: Record<string, string | undefined>; expected: Record<string, unknown> | null }[] = [
    { name: 'MD5 by default, quotes removed, response lower-cased', header: header(), expected: { username: 'pbx1', realm: 'trunks.test', algorithm: 'MD5', response: 'abcdef', qop: 'auth' } },
    { name: 'SHA-256 named as PBXs write it', header: header({ algorithm: 'SHA-256' }), expected: { algorithm: 'SHA256' } },
    { name: 'algorithm in lower case', header: header({ algorithm: 'sha-256' }), expected: { algorithm: 'SHA256' } },
    { name: 'no qop (RFC 2069 style)', header: header({ qop: undefined, nc: undefined, cnonce: undefined }), expected: { qop: null, nc: null, cnonce: null } },
    { name: 'MD5-sess is not offered', header: header({ algorithm: 'MD5-sess' }), expected: null },
    { name: 'an unknown algorithm', header: header({ algorithm: 'SHA-1' }), expected: null },
    { name: 'qop auth-int is not offered', header: header({ qop: 'auth-int' }), expected: null },
    { name: 'qop without nc', header: header({ nc: undefined }), expected: null },
    { name: 'no response', header: header({ response: undefined }), expected: null },
    { name: 'no username', header: header({ username: undefined }), expected: null },
    { name: 'Basic scheme', header: header({ scheme: 'Basic' }), expected: null },
  ];
  for (const row of rows) {
    it(`parses ${row.name}`, () => {
      const parsed = parseCredentials(row.header);
      if (row.expected === null) expect(parsed).to.equal(null);
      else expect(parsed).to.deep.include(row.expected);
    });
  }

  it('computes the RFC 2617 section 3.5 example response', () => {
    const ha1 = md5('Mufasa:testrealm@host.com:Circle Of Life');
    const credentials = parseCredentials({
      scheme: 'Digest',
      username: '"Mufasa"',
      realm: '"testrealm@host.com"',
      nonce: '"dcd98b7102dd2f0e8b11d0f600bfb0c093"',
      uri: '"/dir/index.html"',
      qop: 'auth',
      nc: '00000001',
      cnonce: '"0a4f113b"',
      response: '"6629fae49393a05397450978507c4ef1"',
    });
    expect(credentials).not.to.equal(null);
    expect(expectedResponse(ha1, 'GET', credentials!)).to.equal('6629fae49393a05397450978507c4ef1');
    expect(verifyResponse(ha1, 'GET', credentials!)).to.equal(true);
    expect(verifyResponse(md5('Mufasa:testrealm@host.com:wrong'), 'GET', credentials!)).to.equal(false);
  });

  it('verifies a SHA-256 response computed independently', () => {
    const ha1 = sha256('pbx1:trunks.test:secret');
    const response = sha256(`${ha1}:n0nce:00000001:c:auth:${sha256('REGISTER:sip:trunks.test')}`);
    const credentials = parseCredentials(header({ algorithm: 'SHA-256', response: `"${response}"` }))!;
    expect(verifyResponse(ha1, 'REGISTER', credentials)).to.equal(true);
    expect(verifyResponse(ha1, 'INVITE', credentials)).to.equal(false, 'the method is part of HA2');
  });

  it('writes challenges with quoted realm, nonce and qop, and stale only when asked', () => {
    expect(challengeHeader('trunks.test', 'abc', DigestAlgorithm.SHA256, false)).to.deep.equal({
      scheme: 'Digest',
      realm: '"trunks.test"',
      nonce: '"abc"',
      algorithm: 'SHA-256',
      qop: '"auth"',
    });
    expect(challengeHeader('r', 'n', DigestAlgorithm.MD5, true)).to.include({ stale: 'true', algorithm: 'MD5' });
  });
});

describe('nonces', () => {
  const secret = Buffer.alloc(32, 7);
  const pbx = '192.0.2.10';

  it('accepts its own fresh nonce, calls an old one stale, and a forged one invalid', () => {
    const clock = fixedClock(1_000_000);
    const nonces = new NonceService(secret, clock);
    const nonce = nonces.issue(pbx);
    expect(nonces.check(nonce, pbx)).to.equal('valid');
    clock.set(1_000_000 + NONCE_LIFETIME_MS);
    expect(nonces.check(nonce, pbx)).to.equal('valid');
    clock.set(1_000_000 + NONCE_LIFETIME_MS + 1);
    expect(nonces.check(nonce, pbx)).to.equal('stale');
    const raw = Buffer.from(nonce, 'base64url');
    raw[3] ^= 1;
    expect(nonces.check(raw.toString('base64url'), pbx)).to.equal('invalid', 'a changed timestamp breaks the MAC');
    expect(new NonceService(Buffer.alloc(32, 8), clock).check(nonce, pbx)).to.equal('invalid', 'another secret');
    for (const garbage of ['', 'abc', 'x'.repeat(43), `${nonce}x`]) expect(nonces.check(garbage, pbx)).to.equal('invalid');
  });

  it('is valid only for the address it was issued to, whatever the port, in either IPv4 notation', () => {
    const clock = fixedClock(1_000_000);
    const nonces = new NonceService(secret, clock);
    const nonce = nonces.issue(pbx);
    expect(nonce).to.have.length(43, 'the address is in the MAC, not carried in the nonce');
    expect(nonces.check(nonce, '192.0.2.11')).to.equal('invalid', 'another address');
    expect(nonces.check(nonce, '2001:db8::10')).to.equal('invalid', 'an IPv6 address');
    expect(nonces.check(nonce, `::ffff:${pbx}`)).to.equal('valid', 'the IPv4-mapped form is the same source, as in the throttle');
    expect(nonces.check(nonces.issue('2001:db8::1'), '2001:0db8:0:0::1')).to.equal('valid', 'IPv6 text forms are one address');
    expect(nonces.check(nonces.issue('fe80::1%eth0'), 'fe80::1%eth1')).to.equal('valid', 'a zone is not part of the address');
    clock.set(1_000_000 + NONCE_LIFETIME_MS + 1);
    expect(nonces.check(nonce, pbx)).to.equal('stale');
    expect(nonces.check(nonce, '192.0.2.11')).to.equal('invalid', 'an expired nonce of another address is not ours either');
  });

  it('is checkable by another worker holding the same secret', () => {
    const clock = fixedClock(5_000);
    expect(new NonceService(secret, clock).check(new NonceService(secret, clock).issue(pbx), pbx)).to.equal('valid');
  });

  it('issues a different nonce every time', () => {
    const nonces = new NonceService(secret, fixedClock(1));
    expect(new Set(Array.from({ length: 1000 }, () => nonces.issue(pbx))).size).to.equal(1000);
  });
});

describe('REGISTER failure throttle (shared by the workers of a node)', () => {
  const options = { maxFailures: 3, windowMs: 1000, blockMs: 5000 };
  const table = (capacity = 64) => SharedFailureThrottle.create(options, capacity);

  it('blocks a source at maxFailures within the window (not before), for blockMs', () => {
    const throttle = SharedFailureThrottle.attach(table(), 0);
    expect([throttle.fail('192.0.2.1', 0), throttle.fail('192.0.2.1', 10)]).to.deep.equal(['counted', 'counted']);
    expect(throttle.isBlocked('192.0.2.1', 11)).to.equal(false, 'one below the limit');
    expect(throttle.fail('192.0.2.1', 20)).to.equal('blocked', 'at the limit');
    expect(throttle.isBlocked('192.0.2.1', 5019)).to.equal(true);
    expect(throttle.isBlocked('192.0.2.1', 5020)).to.equal(false);
    expect(throttle.isBlocked('192.0.2.2', 30)).to.equal(false, 'other sources are not affected');
    expect(throttle.isBlocked('::ffff:192.0.2.1', 30)).to.equal(true, 'an IPv4-mapped IPv6 source is the same address');
  });

  it('forgets failures older than the window, and resets on success', () => {
    const throttle = SharedFailureThrottle.attach(table(), 0);
    throttle.fail('2001:db8::1', 0);
    throttle.fail('2001:db8::1', 0);
    expect(throttle.fail('2001:db8::1', 1001)).to.equal('counted', 'a new window');
    throttle.fail('2001:db8::1', 1002);
    throttle.succeed('2001:db8::1');
    expect(throttle.fail('2001:db8::1', 1003)).to.equal('counted');
    expect(throttle.fail('2001:db8::1', 1004)).to.equal('counted');
  });

  it('counts one source across every worker view, and a worker restarted on the same table remembers', () => {
    const buffers = table();
    const main = SharedFailureThrottle.attach(buffers);
    SharedFailureThrottle.attach(buffers, 0).fail('198.51.100.7', 0);
    SharedFailureThrottle.attach(buffers, 1).fail('198.51.100.7', 1);
    // Worker 0 again, as a restarted thread would attach it.
    expect(SharedFailureThrottle.attach(buffers, 0).fail('198.51.100.7', 2)).to.equal('blocked');
    expect(SharedFailureThrottle.attach(buffers, 1).isBlocked('198.51.100.7', 3)).to.equal(true);
    expect(main.stats(3)).to.deep.equal({ tracked: 1, blocked: 1 });
  });

  it('fails safe when full: a failure it cannot count is answered as blocked; sources without failures pass', () => {
    // One bucket of 8 entries.
    const throttle = SharedFailureThrottle.attach(table(8), 0);
    for (let i = 1; i <= 8; i++) expect(throttle.fail(`203.0.113.${i}`, 0)).to.equal('counted');
    expect(throttle.fail('203.0.113.9', 0)).to.equal('untracked', 'one past capacity');
    expect(throttle.isBlocked('203.0.113.9', 0)).to.equal(false);
    expect(throttle.fail('203.0.113.9', 1001)).to.equal('counted', 'entries whose window and block are over are reused');
  });

  it('refuses (as blocked) while a dead worker holds a lock, until the main thread frees it', () => {
    const buffers = table(8);
    // Worker 3 died holding the only bucket's lock (index + 1 in the lock word after the entries).
    new Int32Array(buffers.buffer, 8 * 40, 1)[0] = 4;
    const throttle = SharedFailureThrottle.attach(buffers, 0);
    expect(throttle.isBlocked('203.0.113.1', 0)).to.equal(true);
    expect(throttle.fail('203.0.113.1', 0)).to.equal('untracked');
    expect(SharedFailureThrottle.attach(buffers).releaseWorker(3)).to.equal(1);
    expect(throttle.isBlocked('203.0.113.1', 0)).to.equal(false);
  });

  it('takes the memory its layout says: 2.5 MiB for the default 65,536 entries', () => {
    expect(SharedFailureThrottle.byteLength(65_536)).to.equal(2_654_208);
    expect(() => SharedFailureThrottle.byteLength(100)).to.throw(RangeError);
  });
});

import { createHash } from 'node:crypto';
import { expect } from 'chai';
import * as sip from 'sip';
import * as digest from 'sip/digest';

/**
 * The package's digest helpers (the product has its own in domain/digest.ts; these keep the patched package
 * honest for the tests and tools that use it). Unpatched: the challenge never named its algorithm (`algoritm`
 * typo), every algorithm was signed with MD5, signRequest returned null for a challenge without qop, a
 * re-challenge reused the client's cnonce as the nonce, and an auth-int Authentication-Info was checked over an
 * empty body (`enity` typo).
 */
describe('sip patch: digest', () => {
  const credentials = { user: 'alice', password: 'secret' };

  function invite(content?: string): sip.SipRequest {
    return {
      method: 'INVITE',
      uri: 'sip:+15550100@pbx.example.test',
      headers: {
        via: [{ version: '2.0', protocol: 'UDP', host: '192.0.2.1', port: 5060, params: { branch: 'z9hG4bKdigest' } }],
        to: { uri: 'sip:+15550100@pbx.example.test', params: {} },
        from: { uri: 'sip:alice@pbx.example.test', params: { tag: 'a' } },
        'call-id': 'digest-1',
        cseq: { seq: 1, method: 'INVITE' },
      },
      content,
    };
  }

  const unq = (value: unknown) => String(value).replace(/^"|"$/g, '');

  it('names the algorithm in the challenge', () => {
    for (const algorithm of [undefined, 'SHA-256']) {
      const rs = digest.challenge({ realm: 'pbx', algorithm }, sip.makeResponse(invite(), 401, 'Unauthorized'));
      const [challenge] = rs.headers['www-authenticate'] as Record<string, string>[];
      expect(challenge.algorithm).to.equal(algorithm ?? 'MD5');
    }
  });

  it('answers and verifies SHA-256, SHA-512-256 and the -sess variants with those hashes', () => {
    for (const algorithm of ['SHA-256', 'SHA-256-sess', 'SHA-512-256', 'SHA-512-256-sess', 'MD5-sess']) {
      const server: digest.DigestContext = { realm: 'pbx', algorithm, qop: 'auth' };
      const rq = invite();
      const client = digest.signRequest(null, rq, digest.challenge(server, sip.makeResponse(rq, 401, 'Unauthorized')), credentials);
      const [authorization] = rq.headers.authorization as Record<string, string>[];

      expect(unq(authorization.response), algorithm).to.have.length(algorithm.startsWith('MD5') ? 32 : 64);
      expect(client.algorithm?.toLowerCase()).to.equal(algorithm.toLowerCase());
      expect(digest.authenticateRequest(server, rq, credentials), algorithm).to.equal(true);
      expect(digest.authenticateRequest({ ...server, ha1: undefined, nc: 0 }, rq, { user: 'alice', password: 'wrong' }), `${algorithm}, wrong password`).to.equal(false);
    }
  });

  it('computes the SHA-256 response of RFC 8760 (checked with node:crypto)', () => {
    const server: digest.DigestContext = { realm: 'pbx', algorithm: 'SHA-256', qop: 'auth' };
    const rq = invite();
    digest.signRequest(null, rq, digest.challenge(server, sip.makeResponse(rq, 401, 'Unauthorized')), credentials);
    const [a] = rq.headers.authorization as Record<string, string>[];

    const h = (text: string) => createHash('sha256').update(text).digest('hex');
    const ha1 = h(`alice:pbx:secret`);
    const ha2 = h(`INVITE:${unq(a.uri)}`);
    expect(unq(a.response)).to.equal(h(`${ha1}:${unq(a.nonce)}:${a.nc}:${unq(a.cnonce)}:auth:${ha2}`));
  });

  it('refuses an algorithm it does not know rather than signing it with MD5', () => {
    for (const algorithm of ['SHA-1', 'constructor']) {
      const rs = sip.makeResponse(invite(), 401, 'Unauthorized', {
        headers: { 'www-authenticate': [{ scheme: 'Digest', realm: '"pbx"', nonce: '"n1"', algorithm }] },
      });
      expect(() => digest.signRequest(null, invite(), rs, credentials), algorithm).to.throw(/unsupported digest algorithm/);
    }
  });

  it('signRequest returns the client context also for a challenge without qop', () => {
    const rs = sip.makeResponse(invite(), 401, 'Unauthorized', {
      headers: { 'www-authenticate': [{ scheme: 'Digest', realm: '"pbx"', nonce: '"n1"' }] },
    });
    const rq = invite();

    const ctx = digest.signRequest(null, rq, rs, credentials);

    expect(ctx).to.be.an('object');
    expect(ctx.nonce).to.equal('n1');
    const [a] = rq.headers.authorization as Record<string, string>[];
    const md5 = (text: string) => createHash('md5').update(text).digest('hex');
    expect(unq(a.response)).to.equal(md5(`${md5('alice:pbx:secret')}:n1:${md5(`INVITE:${unq(a.uri)}`)}`));
  });

  it('gives every challenge a fresh random nonce, never the client cnonce', () => {
    const server: digest.DigestContext = { realm: 'pbx', qop: 'auth' };
    const rq = invite();
    digest.signRequest(null, rq, digest.challenge(server, sip.makeResponse(rq, 401, 'Unauthorized')), credentials);
    expect(digest.authenticateRequest(server, rq, credentials)).to.equal(true);
    const cnonce = server.cnonce;

    digest.challenge(server, sip.makeResponse(rq, 401, 'Unauthorized'));

    expect(cnonce).to.be.a('string');
    expect(server.nonce).to.not.equal(cnonce);
    expect(server.nonce).to.match(/^[0-9a-f]{32}$/);
  });

  it('verifies an auth-int Authentication-Info over the response body', () => {
    const server: digest.DigestContext = { realm: 'pbx', qop: 'auth-int' };
    const rq = invite('v=0\r\n');
    const client = digest.signRequest(null, rq, digest.challenge(server, sip.makeResponse(rq, 401, 'Unauthorized')), credentials);
    expect(digest.authenticateRequest(server, rq, credentials)).to.equal(true);

    const ok = digest.signResponse(server, sip.makeResponse(rq, 200, 'OK', { content: 'v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n' }));

    expect(client.qop).to.equal('auth-int');
    expect(digest.authenticateResponse(client, ok)).to.equal(true);
    expect(digest.authenticateResponse(client, { ...ok, content: 'tampered' })).to.equal(false);
  });
});

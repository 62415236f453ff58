import { createHash, randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import type { Pool } from 'pg';
import pino from 'pino';
import { DigestAlgorithm } from '../../../domain/digest';
import { WorkerCounters } from '../../../worker/calls/counters';
import { NONCE_LIFETIME_MS, NonceService } from '../../../worker/registrar/nonce';
import { Registrar } from '../../../worker/registrar/registrar';
import { SharedFailureThrottle } from '../../../worker/registrar/throttle';
import type { Endpoint, SipRequest } from '../../../worker/sip/message';
import { FakeClock, FakePort } from '../../support/fakes';
import { snapshotOf, trunkConfig } from '../../support/snapshot';

/**
 * Issue 6 defect 6: UDP source addresses are spoofed at no cost, so the REGISTER throttle may only
 * count failures against an address when the REGISTER carries a nonce we issued to that address
 * (it received our 401 there). Everything else is challenged again, uncounted, and costs no digest.
 */
const REALM = 'trunks.test';
const PASSWORD = 'correct horse';
const PBX: Endpoint = { address: '192.0.2.10', port: 5060 };
const OTHER: Endpoint = { address: '198.51.100.20', port: 5060 };
const hash = (algorithm: string, text: string) => createHash(algorithm === 'SHA-256' ? 'sha256' : 'md5').update(text).digest('hex');

interface Answer {
  readonly nonce?: string;
  readonly password?: string;
  readonly username?: string;
  readonly realm?: string;
  readonly algorithm?: string;
  readonly scheme?: string;
  readonly withoutResponse?: boolean;
}

class Fixture {
  readonly clock = new FakeClock();
  readonly port = new FakePort();
  readonly counters = new WorkerCounters();
  readonly lines: { level: number; msg: string; text: string }[] = [];
  /** HA1 reads: the registrar reads a trunk's HA1 only to compute a digest response with it. */
  private readonly reads = { ha1: 0 };
  readonly throttle = SharedFailureThrottle.attach(SharedFailureThrottle.create(undefined, 64), 0);
  readonly registrar: Registrar;
  private seq = 0;

  /** `pool`: where bindings are stored; by default one that stores nothing and never fails. */
  constructor(pool?: Pool) {
    const ha1 = { md5: hash('MD5', `pbx1:${REALM}:${PASSWORD}`), sha: hash('SHA-256', `pbx1:${REALM}:${PASSWORD}`) };
    const reads = this.reads;
    const trunk = trunkConfig({
      digestRealm: REALM,
      digestAlgorithms: [DigestAlgorithm.MD5],
      ha1: {
        get [DigestAlgorithm.MD5]() {
          reads.ha1++;
          return ha1.md5;
        },
        get [DigestAlgorithm.SHA256]() {
          reads.ha1++;
          return ha1.sha;
        },
      },
    });
    const snapshot = snapshotOf({ trunks: [trunk, trunkConfig({ id: 'trunk-2', sipUsername: 'pbx2', digestRealm: REALM })] });
    const sink = new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        const text = chunk.toString();
        const line = JSON.parse(text) as { level: number; msg: string };
        this.lines.push({ level: line.level, msg: line.msg, text });
        done();
      },
    });
    this.registrar = new Registrar({
      port: this.port,
      // Stores nothing: the binding's SQL is tested against PostgreSQL in the integration tests.
      pool: pool ?? ({ connect: async () => ({ query: async () => ({ rows: [] }), release: () => undefined }) } as unknown as Pool),
      clock: this.clock,
      logger: pino({ level: 'debug' }, sink),
      realm: REALM,
      nonces: new NonceService(Buffer.alloc(32, 3), this.clock),
      throttle: this.throttle,
      counters: this.counters,
      snapshot: () => snapshot,
    });
  }

  get digests(): number {
    return this.reads.ha1;
  }

  /** Sends one REGISTER (To pbx1 unless `toUser`); resolves with the status and the nonce of a 401. */
  async send(from: Endpoint, answer: Answer | null, toUser = 'pbx1'): Promise<{ status: number; nonce: string | null; stale: boolean }> {
    const uri = `sip:${REALM}`;
    const authorization = answer === null ? undefined : [this.authorization(uri, answer)];
    const request: SipRequest = {
      method: 'REGISTER',
      uri,
      headers: {
        via: [{ host: from.address, port: from.port, params: { branch: `z9hG4bK${++this.seq}` } }],
        to: { uri: `sip:${toUser}@${REALM}`, params: {} },
        from: { uri: `sip:${toUser}@${REALM}`, params: { tag: 'a' } },
        'call-id': `${this.seq}@pbx`,
        cseq: { seq: 1, method: 'REGISTER' },
        contact: [{ uri: `sip:pbx1@${from.address}:${from.port}`, params: {} }],
        ...(authorization === undefined ? {} : { authorization }),
      },
    };
    await this.registrar.handle(request, from);
    const reply = this.port.replies.at(-1)!;
    const challenge = (reply.extension?.headers?.['www-authenticate'] as Record<string, string>[] | undefined)?.[0];
    return { status: reply.status, nonce: challenge === undefined ? null : challenge.nonce.replace(/"/g, ''), stale: challenge?.stale === 'true' };
  }

  /** A nonce the registrar issued to `to`, by asking it for a challenge from there. */
  async nonceFor(to: Endpoint): Promise<string> {
    const { nonce } = await this.send(to, null);
    return nonce!;
  }

  /** Challenge, then answer it from the same source: what a real client does. */
  async register(from: Endpoint, answer: Answer = {}, toUser = 'pbx1'): Promise<number> {
    const nonce = await this.nonceFor(from);
    return (await this.send(from, { nonce, ...answer }, toUser)).status;
  }

  private authorization(uri: string, answer: Answer): Record<string, string> {
    const username = answer.username ?? 'pbx1';
    const realm = answer.realm ?? REALM;
    const algorithm = answer.algorithm ?? 'MD5';
    const ha1 = hash(algorithm, `${username}:${realm}:${answer.password ?? PASSWORD}`);
    const response = hash(algorithm, `${ha1}:${answer.nonce ?? ''}:00000001:c0ffee:auth:${hash(algorithm, `REGISTER:${uri}`)}`);
    return {
      scheme: answer.scheme ?? 'Digest',
      username: `"${username}"`,
      realm: `"${realm}"`,
      ...(answer.nonce === undefined ? {} : { nonce: `"${answer.nonce}"` }),
      uri: `"${uri}"`,
      ...(answer.withoutResponse === true ? {} : { response: `"${response}"` }),
      algorithm,
      qop: 'auth',
      nc: '00000001',
      cnonce: '"c0ffee"',
    };
  }
}

describe('registrar: only a source that received our challenge can be blamed (issue 6 defect 6)', () => {
  it('never blocks an address for wrong credentials whose nonce was not issued to it, and its PBX then registers', async () => {
    const f = new Fixture();
    const othersNonce = await f.nonceFor(OTHER);
    const forged = randomBytes(32).toString('base64url');
    const tampered = Buffer.from(await f.nonceFor(PBX), 'base64url');
    tampered[20] ^= 1;
    const spoofed: [Answer, string?][] = [
      [{ nonce: forged, password: 'guess' }],
      [{ nonce: othersNonce, password: 'guess' }],
      [{ nonce: tampered.toString('base64url'), password: 'guess' }],
      [{ password: 'guess' }],
      [{ nonce: forged, scheme: 'Basic' }],
      [{ nonce: othersNonce, withoutResponse: true }],
      [{ nonce: othersNonce, username: 'nobody' }],
      [{ nonce: forged, realm: 'elsewhere' }],
      [{ nonce: othersNonce, algorithm: 'SHA-256' }],
      [{ nonce: othersNonce, username: 'pbx2' }, 'pbx1'],
    ];
    const statuses: number[] = [];
    const before = f.lines.length;
    for (let attempt = 0; attempt < 20; attempt++) {
      const [answer, toUser] = spoofed[attempt % spoofed.length];
      // From the PBX's address; the port is whatever the attacker wrote, so vary it.
      const { status, nonce } = await f.send({ address: PBX.address, port: 40_000 + attempt }, answer, toUser);
      statuses.push(status);
      expect(nonce, 'a fresh challenge').to.be.a('string');
    }
    expect(statuses).to.deep.equal(Array(20).fill(401));
    expect(f.throttle.isBlocked(PBX.address, f.clock.now())).to.equal(false);
    expect(f.counters.foreignNonces).to.equal(20);
    const lines = f.lines.slice(before);
    expect(lines.filter((line) => line.level >= 40), 'no warn line per spoofed datagram').to.deep.equal([]);
    expect(lines.filter((line) => line.level === 20)).to.have.length(20);
    for (const nonce of [forged, othersNonce]) expect(lines.map((line) => line.text).join('')).not.to.include(nonce);
    expect(await f.register(PBX)).to.equal(200, 'the real PBX registers');
  });

  it('blocks a real brute force at its fifth own failure, however many spoofed REGISTERs come from its address between', async () => {
    const f = new Fixture();
    const attacker: Endpoint = { address: '203.0.113.7', port: 5060 };
    const guesses: Answer[] = [{ password: 'guess 1' }, { username: 'nobody' }, { realm: 'elsewhere' }, { algorithm: 'SHA-256' }, { username: 'pbx2', password: 'x' }];
    const statuses: number[] = [];
    for (const guess of guesses) {
      // Each of its own failures answers a challenge it received; the forged ones in between count nothing.
      for (let spoofed = 0; spoofed < 3; spoofed++) {
        expect((await f.send(attacker, { nonce: randomBytes(32).toString('base64url'), password: 'guess' })).status).to.equal(401);
      }
      statuses.push(await f.register(attacker, guess));
    }
    expect(statuses).to.deep.equal([401, 401, 401, 401, 403], 'the To-user mismatch is 403 whatever the count');
    expect(f.throttle.isBlocked(attacker.address, f.clock.now())).to.equal(true);
    expect(f.counters.foreignNonces).to.equal(15);
    // Blocked by failures that could not be spoofed: no challenge any more, and no digest looked at.
    const digests = f.digests;
    expect((await f.send(attacker, null)).status).to.equal(403);
    expect((await f.send(attacker, { nonce: 'forged' })).status).to.equal(403);
    expect(f.digests).to.equal(digests);
    expect(f.throttle.isBlocked(PBX.address, f.clock.now())).to.equal(false, 'another address is not affected');
  });

  it('does not let a nonce issued to one address count failures against another, or register from it', async () => {
    const f = new Fixture();
    for (let attempt = 0; attempt < 10; attempt++) {
      // The attacker answers challenges it received at its own address, but "from" the PBX's.
      const nonce = await f.nonceFor(OTHER);
      expect((await f.send(PBX, { nonce, password: `guess ${attempt}` })).status).to.equal(401);
    }
    expect(f.throttle.isBlocked(PBX.address, f.clock.now())).to.equal(false);
    expect(f.throttle.isBlocked(OTHER.address, f.clock.now())).to.equal(false, 'what came "from" the PBX is not blamed on the other address either');
    expect((await f.send(PBX, { nonce: await f.nonceFor(OTHER) })).status).to.equal(401, 'the right password with another address\'s nonce is challenged again');
    expect(await f.register(PBX)).to.equal(200);
  });

  it('computes no digest before the nonce is known to be ours for this source', async () => {
    const f = new Fixture();
    const othersNonce = await f.nonceFor(OTHER);
    for (const nonce of [othersNonce, randomBytes(32).toString('base64url'), 'short']) {
      expect((await f.send(PBX, { nonce, password: 'guess' })).status).to.equal(401);
    }
    f.clock.advance(NONCE_LIFETIME_MS + 1);
    expect((await f.send(PBX, { nonce: othersNonce })).status).to.equal(401);
    expect(f.digests).to.equal(0, 'no HA1 read, no digest computed');
    expect(await f.register(PBX, { password: 'guess' })).to.equal(401);
    expect(f.digests).to.equal(1, 'one digest for an answer to our own challenge');
  });

  it('keeps stale=true for the right password on an expired nonce of this source, and only of this source', async () => {
    const f = new Fixture();
    const own = await f.nonceFor(PBX);
    const others = await f.nonceFor(OTHER);
    f.clock.advance(NONCE_LIFETIME_MS + 1);
    const ownStale = await f.send(PBX, { nonce: own });
    expect(ownStale).to.include({ status: 401, stale: true });
    const othersStale = await f.send(PBX, { nonce: others });
    expect(othersStale).to.include({ status: 401, stale: false }, 'another address\'s expired nonce is no nonce of this source');
    expect(f.counters.foreignNonces).to.equal(1);
    expect((await f.send(PBX, { nonce: ownStale.nonce! })).status).to.equal(200, 'the PBX answers the stale challenge and registers');
    const wrong = await f.send(PBX, { nonce: own, password: 'guess' });
    expect(wrong).to.include({ status: 401, stale: false }, 'a wrong password on an expired nonce of ours is a failure');
  });
});

describe('a REGISTER the database cannot store', () => {
  /** A pool whose INSERT fails with `error`; records whether the connection was given back as broken. */
  function failingPool(error: Error): { pool: Pool; released: boolean[] } {
    const released: boolean[] = [];
    const client = {
      query: async (text: string) => {
        if (text.startsWith('INSERT')) throw error;
        return { rows: [] };
      },
      release: (broken?: boolean) => void released.push(broken === true),
    };
    return { pool: { connect: async () => client } as unknown as Pool, released };
  }
  const cases: { name: string; error: Error; status: number; retryAfter: string | undefined; broken: boolean }[] = [
    { name: 'a lost connection', error: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), status: 503, retryAfter: '5', broken: true },
    { name: 'a deadlock', error: Object.assign(new Error('deadlock detected'), { code: '40P01' }), status: 503, retryAfter: '5', broken: false },
    { name: 'a full disk', error: Object.assign(new Error('could not extend file'), { code: '53100' }), status: 503, retryAfter: '5', broken: false },
    { name: 'a refused row', error: Object.assign(new Error('value too long'), { code: '22001' }), status: 500, retryAfter: undefined, broken: false },
    { name: 'a fault of ours (no such table)', error: Object.assign(new Error('relation does not exist'), { code: '42P01' }), status: 500, retryAfter: undefined, broken: false },
  ];
  for (const { name, error, status, retryAfter, broken } of cases) {
    it(`${name}: ${status}${retryAfter === undefined ? '' : ` with Retry-After ${retryAfter}`}, the connection ${broken ? 'closed' : 'kept'}`, async () => {
      const { pool, released } = failingPool(error);
      const f = new Fixture(pool);
      await f.register(PBX, {});
      const reply = f.port.replies.at(-1)!;
      expect([reply.status, reply.extension?.headers?.['retry-after']]).to.deep.equal([status, retryAfter]);
      expect(released).to.deep.equal([broken]);
    });
  }
});

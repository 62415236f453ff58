import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { SipHarness, TRUNK_PASSWORD } from '../../support/sip-harness';
import { digestAuthorization, register, sendRegister, SipPeer, type RegisterOptions } from '../../support/sip-peer';
import { TEST_REALM } from '../../support/api';

describe('registrar (REGISTER with digest, real SIP on loopback)', function () {
  this.timeout(20_000);
  let h: SipHarness;
  let pbx: SipPeer;
  let trunk: { trunkId: string; key: string };

  before(async () => {
    h = await SipHarness.start();
    trunk = await h.trunk({ username: 'reg-pbx', number: '+442079461001' });
    pbx = await SipPeer.start('reg-pbx');
  });
  after(async () => {
    pbx.stop();
    await h.stop();
  });

  const options = (overrides: Partial<RegisterOptions> = {}): RegisterOptions => ({
    proxy: h.proxy,
    username: 'reg-pbx',
    password: TRUNK_PASSWORD,
    realm: TEST_REALM,
    contact: pbx.uri,
    ...overrides,
  });

  it('challenges with one WWW-Authenticate per algorithm, in the trunk order (MD5 first by default)', async () => {
    const { challenge } = await register(pbx, options());
    const offered = (challenge?.headers['www-authenticate'] as Record<string, string>[]).map((entry) => entry.algorithm);
    expect(challenge?.status).to.equal(401);
    expect(offered).to.deep.equal(['MD5', 'SHA-256']);
  });

  it('registers with MD5, stores the binding with the source address, and shows it over GraphQL', async () => {
    const { response } = await register(pbx, options({ algorithm: 'MD5', expires: 120 }));
    expect(response.status).to.equal(200);
    const contacts = response.headers.contact as { uri: string; params: Record<string, string> }[];
    expect(contacts.map((contact) => contact.uri)).to.deep.equal([pbx.uri]);
    expect(Number(contacts[0].params.expires)).to.be.within(118, 120);
    const [row] = await h.api.dataSource.query('SELECT * FROM registration WHERE trunk_id = $1', [trunk.trunkId]);
    expect(row).to.include({ contact: pbx.uri, source_address: '127.0.0.1', source_port: pbx.port, user_agent: 'TestPBX/1.0' });
    const { trunk: read } = await h.api.ok<{ trunk: { registration: { contact: string; sourceAddress: string } } }>(
      trunk.key,
      `query ($id: ID!) { trunk(id: $id) { registration { contact sourceAddress } } }`,
      { id: trunk.trunkId },
    );
    expect(read.registration).to.deep.equal({ contact: pbx.uri, sourceAddress: `127.0.0.1:${pbx.port}` });
  });

  it('registers with SHA-256 (RFC 8760)', async () => {
    const { response } = await register(pbx, options({ algorithm: 'SHA-256' }));
    expect(response.status).to.equal(200);
  });

  it('offers only the trunk algorithms, in its order, and refuses an answer with another', async () => {
    await h.applying(() => h.api.ok(trunk.key, `mutation ($id: ID!) { updateTrunk(id: $id, input: { digestAlgorithms: [SHA256] }) { id } }`, { id: trunk.trunkId }), 'trunk', trunk.trunkId);
    const { challenge, response } = await register(pbx, options());
    expect((challenge?.headers['www-authenticate'] as Record<string, string>[]).map((entry) => entry.algorithm)).to.deep.equal(['SHA-256']);
    expect(response.status).to.equal(200);
    const md5 = await register(pbx, options({ algorithm: 'MD5' }));
    expect(md5.response.status).to.equal(401, 'an MD5 answer to a SHA-256-only trunk is refused');
    await h.applying(() => h.api.ok(trunk.key, `mutation ($id: ID!) { updateTrunk(id: $id, input: { digestAlgorithms: [MD5, SHA256] }) { id } }`, { id: trunk.trunkId }), 'trunk', trunk.trunkId);
  });

  it('answers 423 with Min-Expires to a too-brief registration', async () => {
    const { response } = await register(pbx, options({ expires: 30 }));
    expect(response.status).to.equal(423);
    expect(response.headers['min-expires']).to.equal('60');
  });

  it('removes the binding on Expires: 0', async () => {
    expect((await register(pbx, options())).response.status).to.equal(200);
    expect(await h.api.dataSource.query('SELECT * FROM registration WHERE trunk_id = $1', [trunk.trunkId])).to.have.length(1);
    const { response } = await register(pbx, options({ expires: 0 }));
    expect(response.status).to.equal(200);
    expect(await h.api.dataSource.query('SELECT * FROM registration WHERE trunk_id = $1', [trunk.trunkId])).to.deep.equal([]);
  });

  it('refuses a To user other than the authenticated username with 403', async () => {
    await h.trunk({ username: 'other-pbx', number: '+442079461002' });
    const peer = await SipPeer.start('mixed');
    try {
      // Authenticates as other-pbx but asks to register reg-pbx's address of record.
      const { response } = await register(peer, { ...options({ username: 'other-pbx' }), contact: peer.uri });
      expect(response.status).to.equal(200, 'its own AOR is fine');
      const forged = await registerAs(peer, 'other-pbx', 'reg-pbx');
      expect(forged).to.equal(403);
    } finally {
      peer.stop();
    }
  });

  it('answers a wrong password with a fresh 401, then throttles the source with 403', async () => {
    // From an address of its own: the throttle is per source address.
    const attacker = await SipPeer.start('guesser', '127.0.0.3');
    try {
      const statuses: number[] = [];
      for (let attempt = 0; attempt < 6; attempt++) {
        statuses.push((await register(attacker, options({ password: `wrong password ${attempt}`, contact: attacker.uri }))).response.status);
      }
      expect(statuses.slice(0, 4)).to.deep.equal([401, 401, 401, 401]);
      expect(statuses.slice(4)).to.deep.equal([403, 403]);
      const right = await register(attacker, options({ contact: attacker.uri }));
      expect(right.challenge === null ? right.response.status : right.challenge.status).to.equal(403, 'blocked even with the right password');
    } finally {
      attacker.stop();
    }
  });

  it('never blocks a PBX address for spoofed REGISTERs without a nonce issued to it; the PBX then registers', async () => {
    // UDP sources are spoofed at no cost. On loopback the spoofer binds the PBX's address with a port of
    // its own, which is what a spoofed datagram looks like to us; like a blind attacker, it never reads
    // the 401s sent there.
    const spoofer = await SipPeer.start('spoofer', '127.0.0.8');
    const elsewhere = await SipPeer.start('elsewhere', '127.0.0.9');
    const real = await SipPeer.start('reg-pbx', '127.0.0.8');
    try {
      const wrong = options({ password: 'guess', contact: spoofer.uri });
      const challenge = await sendRegister(elsewhere, options({ contact: elsewhere.uri }));
      const othersNonce = (challenge.headers['www-authenticate'] as Record<string, string>[])[0].nonce;
      const forged = randomBytes(32).toString('base64url');
      const { nonce: _nonce, ...withoutNonce } = digestAuthorization(wrong, forged);
      const { response: _response, ...withoutResponse } = digestAuthorization(wrong, othersNonce);
      const spoofed: Record<string, string>[] = [
        digestAuthorization(wrong, forged),
        digestAuthorization(wrong, othersNonce),
        withoutNonce,
        withoutResponse,
        digestAuthorization({ ...wrong, username: 'nobody' }, othersNonce),
        digestAuthorization(wrong, forged, 'MD5', '"elsewhere"'),
        digestAuthorization(options({ contact: spoofer.uri }), othersNonce, 'SHA-256'),
      ];
      const statuses: number[] = [];
      for (let attempt = 0; attempt < 20; attempt++) statuses.push((await sendRegister(spoofer, wrong, spoofed[attempt % spoofed.length])).status);
      expect(statuses).to.deep.equal(Array(20).fill(401), 'each is challenged again, none counted');
      const { response } = await register(real, options({ contact: real.uri }));
      expect(response.status).to.equal(200, 'the PBX at that address registers');
    } finally {
      spoofer.stop();
      elsewhere.stop();
      real.stop();
    }
  });

  it('keeps the password, its hashes and the digest answers out of the stored bindings and the 200', async () => {
    const { response, authorization } = await register(pbx, options());
    expect(response.status).to.equal(200);
    const [hashes] = await h.api.dataSource.query('SELECT ha1_md5, ha1_sha256 FROM trunk WHERE id = $1', [trunk.trunkId]);
    const stored = JSON.stringify(await h.api.dataSource.query('SELECT * FROM registration'));
    const answered = JSON.stringify(response);
    for (const secret of [TRUNK_PASSWORD, hashes.ha1_md5, hashes.ha1_sha256, authorization?.response.replace(/"/g, '')]) {
      expect(secret).to.be.a('string');
      expect(stored).not.to.include(secret as string);
      expect(answered).not.to.include(secret as string);
    }
  });

  /** REGISTER for `aor` authenticating as `username`: the status the registrar answers. */
  async function registerAs(peer: SipPeer, username: string, aor: string): Promise<number> {
    const { response } = await register(peer, options({ username, contact: peer.uri, aorUser: aor }));
    return response.status;
  }
});

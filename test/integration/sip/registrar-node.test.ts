import { expect } from 'chai';
import { Client } from 'pg';
import { TEST_REALM } from '../../support/api';
import { SipHarness, TRUNK_PASSWORD } from '../../support/sip-harness';
import { register, SipPeer, waitUntil, type RegisterOptions } from '../../support/sip-peer';

/**
 * The registrar as a node with two workers: the brute-force throttle counts per node (shared by
 * the workers, kept across a worker restart), and a database outage is answered with 503.
 */
describe('registrar on a node with two workers (real SIP on loopback)', function () {
  this.timeout(30_000);
  let h: SipHarness;

  before(async () => {
    h = await SipHarness.start({ workers: 2 });
    await h.trunk({ username: 'node-pbx', number: '+442079462001' });
  });
  after(async () => {
    await h.stop();
  });

  const options = (peer: SipPeer, overrides: Partial<RegisterOptions> = {}): RegisterOptions => ({
    proxy: h.proxy,
    username: 'node-pbx',
    password: TRUNK_PASSWORD,
    realm: TEST_REALM,
    contact: peer.uri,
    ...overrides,
  });
  /** The status a REGISTER with a wrong password ends with: 401 (guess counted), or 403 once blocked. */
  const guess = async (peer: SipPeer, attempt: number) => (await register(peer, options(peer, { password: `guess ${attempt}` }))).response.status;

  it('blocks a source after 5 failures whichever workers they reached', async () => {
    const attacker = await SipPeer.start('guesser', '127.0.0.4');
    const pbx = await SipPeer.start('node-pbx', '127.0.0.5');
    try {
      const statuses: number[] = [];
      // Each REGISTER has a Call-ID of its own, so the edge hands them to both workers in turn.
      for (let attempt = 0; attempt < 6; attempt++) statuses.push(await guess(attacker, attempt));
      expect(statuses).to.deep.equal([401, 401, 401, 401, 403, 403], 'the fifth failure blocks, not the tenth');
      expect((await register(pbx, options(pbx))).response.status).to.equal(200, 'another address is not affected');
    } finally {
      attacker.stop();
      pbx.stop();
    }
  });

  it('remembers the failures of a source across a restart of every worker', async () => {
    const attacker = await SipPeer.start('guesser', '127.0.0.6');
    try {
      const statuses: number[] = [];
      for (let attempt = 0; attempt < 4; attempt++) statuses.push(await guess(attacker, attempt));
      expect(statuses).to.deep.equal([401, 401, 401, 401]);
      const restarts = () => h.sip.supervisor.health().reduce((total, worker) => total + worker.restarts, 0);
      const before = restarts();
      await h.sip.supervisor.kill(0);
      await h.sip.supervisor.kill(1);
      await waitUntil(() => restarts() >= before + 2 && h.sip.supervisor.readyWorkers().length === 2, 10_000, 'both workers restarted');
      expect(await guess(attacker, 4)).to.equal(403, 'the fifth failure blocks after the restart too');
    } finally {
      attacker.stop();
    }
  });

  it('answers 503 with Retry-After: 5 when the database cannot store the binding', async () => {
    const pbx = await SipPeer.start('node-pbx', '127.0.0.7');
    const url = new URL(h.api.database.url);
    url.pathname = '/postgres';
    const admin = new Client({ connectionString: url.toString() });
    await admin.connect();
    let restored = false;
    try {
      // The workers lose their connections and cannot open new ones; their snapshot stays in force.
      await admin.query(`ALTER DATABASE ${h.api.database.name} ALLOW_CONNECTIONS false`);
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE 'trunk-failover-sip-%'`, [h.api.database.name]);
      const { challenge, response } = await register(pbx, options(pbx));
      expect(challenge?.status).to.equal(401, 'the challenge needs no database');
      expect(response.status).to.equal(503);
      expect(response.headers['retry-after']).to.equal('5');
      await admin.query(`ALTER DATABASE ${h.api.database.name} ALLOW_CONNECTIONS true`);
      restored = true;
      // Once the database is back, the same PBX registers.
      await waitUntil(async () => (await register(pbx, options(pbx))).response.status === 200, 10_000, 'a REGISTER stored again');
    } finally {
      if (!restored) await admin.query(`ALTER DATABASE ${h.api.database.name} ALLOW_CONNECTIONS true`);
      await admin.end();
      pbx.stop();
    }
  });
});

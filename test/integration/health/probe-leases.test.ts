import { expect } from 'chai';
import { Pool, type Client } from 'pg';
import { ProbeLeases, type ClaimResult } from '../../../worker/health/probe-leases';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { connect, insertCompany, insertRegistration, insertTrunk } from '../config/fixtures';

const COMPANY = '00000000-0000-4000-8000-000000000001';
const PROBED = '00000000-0000-4000-8000-0000000000a1';
const UNPROBED = '00000000-0000-4000-8000-0000000000a2';
const registration = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
const ids = (result: ClaimResult) => result.held.map((binding) => binding.registrationId);

describe('ProbeLeases: one node per binding, fair shares, lapsed leases move', () => {
  let db: TestDatabase;
  let client: Client;
  let pools: Pool[];

  beforeEach(async () => {
    db = await createTestDatabase();
    client = await connect(db.url);
    await insertCompany(client, COMPANY);
    await insertTrunk(client, { id: PROBED, companyId: COMPANY, username: 'probed' });
    await insertTrunk(client, { id: UNPROBED, companyId: COMPANY, username: 'unprobed' });
    await client.query('UPDATE trunk SET health_check_enabled = true, health_check_interval_seconds = 7 WHERE id = $1', [PROBED]);
    for (let n = 1; n <= 12; n++) await insertRegistration(client, registration(n), PROBED, '2025-01-01T00:00:00Z');
    await insertRegistration(client, registration(100), PROBED, '2025-01-01T00:00:00Z', `now() - interval '1 second'`);
    await insertRegistration(client, registration(101), UNPROBED, '2025-01-01T00:00:00Z');
    pools = [];
  });

  afterEach(async () => {
    await Promise.all(pools.map((pool) => pool.end()));
    await client.end();
    await db.drop();
  });

  function node(nodeId: string, leaseMs = 10_000): ProbeLeases {
    const pool = new Pool({ connectionString: db.url, max: 2 });
    pools.push(pool);
    return new ProbeLeases({ pool, nodeId, leaseMs });
  }

  it('one node holds every unexpired binding of trunks with health checks, with what probing needs', async () => {
    const result = await node('a').claim();
    expect(result).to.include({ nodes: 1, contacts: 12, share: 12 });
    expect(ids(result)).to.deep.equal(Array.from({ length: 12 }, (_, n) => registration(n + 1)));
    expect(result.held[0]).to.deep.equal({ registrationId: registration(1), trunkId: PROBED, contact: `sip:pbx@10.0.0.1;reg=${registration(1)}`, address: '203.0.113.7', port: 5062, intervalSeconds: 7 });
  });

  it('two nodes claiming at once never both hold a binding, and settle on six each', async () => {
    const a = node('a', 600);
    const b = node('b', 600);
    let rounds = 0;
    for (;;) {
      const [fromA, fromB] = await Promise.all([a.claim(), b.claim()]);
      const both = ids(fromA).filter((id) => ids(fromB).includes(id));
      expect(both, `round ${rounds}: held by both`).to.deep.equal([]);
      rounds++;
      if (fromA.held.length === 6 && fromB.held.length === 6) break;
      expect(rounds).to.be.below(30, 'settled on fair shares');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const { rows } = await client.query<{ node_id: string; n: number }>('SELECT node_id, count(*)::int AS n FROM probe_lease WHERE lease_until > now() GROUP BY node_id ORDER BY node_id');
    expect(rows).to.deep.equal([
      { node_id: 'a', n: 6 },
      { node_id: 'b', n: 6 },
    ]);
  });

  it('two nodes racing for one free binding: the one that loses the race does not take the winner\'s fresh lease', async () => {
    await client.query('DELETE FROM registration WHERE id <> $1', [registration(1)]);
    const a = node('a');
    const b = node('b');
    // Both claims insert the lease, then wait in a trigger installed here until this transaction
    // ends: the second insert then meets the first one's committed, live lease.
    await client.query(`CREATE FUNCTION probe_lease_hold() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN PERFORM pg_advisory_xact_lock_shared(4242); RETURN NULL; END $$`);
    await client.query('CREATE TRIGGER probe_lease_hold AFTER INSERT ON probe_lease FOR EACH STATEMENT EXECUTE FUNCTION probe_lease_hold()');
    const blocker = await connect(db.url, 'probe-lease-blocker');
    await blocker.query('BEGIN');
    await blocker.query('SELECT pg_advisory_xact_lock(4242)');
    const claims = Promise.all([a.claim(), b.claim()]);
    const waiting = async () =>
      (await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)).rows[0].n;
    for (let tries = 0; (await waiting()) < 2; tries++) {
      expect(tries).to.be.below(300, 'both claims wait');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await blocker.query('COMMIT');
    await blocker.end();
    const [fromA, fromB] = await claims;
    expect([...ids(fromA), ...ids(fromB)]).to.deep.equal([registration(1)], 'exactly one node holds it');
  });

  it('a node that joins gets nothing until the first node\'s surplus lapses: no binding changes hands while its holder may probe it', async () => {
    const a = node('a', 800);
    const b = node('b', 800);
    const startedAt = Date.now();
    expect(ids(await a.claim())).to.have.length(12);
    expect(ids(await b.claim())).to.have.length(0, 'b counts itself, but every lease is live');
    const fromA = await a.claim();
    expect(fromA).to.include({ nodes: 2, share: 6 });
    expect(ids(fromA)).to.have.length(6, 'a stops probing its surplus at once');
    for (;;) {
      const [roundA, roundB] = await Promise.all([a.claim(), b.claim()]);
      expect(ids(roundA)).to.deep.equal(ids(fromA), 'a keeps its share');
      expect(ids(roundB).filter((id) => ids(roundA).includes(id))).to.deep.equal([]);
      if (ids(roundB).length > 0) {
        expect(Date.now() - startedAt).to.be.at.least(800, 'the surplus moved only once it lapsed');
        expect(ids(roundB)).to.have.length(6);
        break;
      }
      expect(Date.now() - startedAt).to.be.below(3000);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });

  it('an expired lease moves to the other node; a node that stops gives its leases back at once', async () => {
    const a = node('a', 300);
    const b = node('b');
    expect(ids(await a.claim())).to.have.length(12);
    expect(ids(await b.claim())).to.have.length(0);
    await new Promise((resolve) => setTimeout(resolve, 400));
    const taken = await b.claim();
    expect(taken).to.include({ nodes: 1, share: 12 });
    expect(ids(taken)).to.have.length(12);
    expect(ids(await a.claim())).to.have.length(0, 'a comes back: every lease is b\'s and live');
    await b.release();
    expect(ids(await a.claim())).to.have.length(12);
  });

  it('drops the lease of a binding no longer probed (health checks off, binding gone or expired) and leases lapsed for a minute', async () => {
    const a = node('a');
    expect(ids(await a.claim())).to.have.length(12);
    await client.query('DELETE FROM registration WHERE id = $1', [registration(1)]);
    await client.query(`UPDATE registration SET expires_at = now() - interval '1 second' WHERE id = $1`, [registration(2)]);
    const after = await a.claim();
    expect(after).to.include({ contacts: 10 });
    expect(ids(after)).to.not.include.members([registration(1), registration(2)]);
    expect(ids(after)).to.have.length(10);
    await client.query('UPDATE trunk SET health_check_enabled = false WHERE id = $1', [PROBED]);
    expect(ids(await a.claim())).to.deep.equal([]);
    expect((await client.query('SELECT count(*)::int AS n FROM probe_lease')).rows[0]).to.deep.equal({ n: 0 });
    await client.query(`INSERT INTO probe_lease (registration_id, node_id, lease_until) VALUES ($1, 'gone', now() - interval '61 seconds')`, [registration(3)]);
    await client.query(`TRUNCATE registration`);
    await a.claim();
    expect((await client.query('SELECT count(*)::int AS n FROM probe_lease')).rows[0]).to.deep.equal({ n: 0 });
  });
});

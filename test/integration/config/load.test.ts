import { expect } from 'chai';
import type { Client } from 'pg';
import { DigestAlgorithm } from '../../../domain/digest';
import type { ConfigChange } from '../../../schema/config-change';
import { applyChanges, loadSnapshot } from '../../../worker/config/load';
import type { Snapshot } from '../../../worker/config/snapshot';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { ChangeCollector, connect, FLOW, insertCompany, insertDialPlan, insertRegistration, insertTrunk, plain } from './fixtures';

const ID = {
  companyA: 'a0000000-0000-4000-8000-000000000001',
  companyB: 'a0000000-0000-4000-8000-000000000002',
  planA: 'b0000000-0000-4000-8000-000000000001',
  planB: 'b0000000-0000-4000-8000-000000000002',
  trunk1: 'c0000000-0000-4000-8000-000000000001',
  trunk2: 'c0000000-0000-4000-8000-000000000002',
  trunk3: 'c0000000-0000-4000-8000-000000000003',
  trunk9: 'c0000000-0000-4000-8000-000000000009',
  reg1: 'd0000000-0000-4000-8000-000000000001',
  reg2: 'd0000000-0000-4000-8000-000000000002',
  reg3: 'd0000000-0000-4000-8000-000000000003',
  reg4: 'd0000000-0000-4000-8000-000000000004',
  reg5: 'd0000000-0000-4000-8000-000000000005',
};
const ALL_5XX = Array.from({ length: 100 }, (_, index) => 500 + index);

async function seed(db: Client): Promise<void> {
  await insertCompany(db, ID.companyA, 'Europe/London');
  await insertCompany(db, ID.companyB, 'America/New_York');
  await insertDialPlan(db, ID.planA, ID.companyA, '100');
  await insertDialPlan(db, ID.planB, ID.companyA, '200');
  await insertTrunk(db, { id: ID.trunk1, companyId: ID.companyA, username: 'Main.PBX', failoverDialPlanId: ID.planA, timeoutSeconds: 7, triggerStatusCodes: [502, 503], algorithms: ['SHA256', 'MD5'] });
  await insertTrunk(db, { id: ID.trunk2, companyId: ID.companyB, username: 'branch' });
  await insertTrunk(db, { id: ID.trunk3, companyId: ID.companyB, username: 'spare' });
  await db.query(`INSERT INTO did (number, trunk_id, dial_plan_id) VALUES ('+442079460001', $1, NULL), ('+442079460002', $2, NULL), ('+442079460099', NULL, $3)`, [
    ID.trunk1,
    ID.trunk2,
    ID.planB,
  ]);
  await insertRegistration(db, ID.reg1, ID.trunk1, '2025-01-01T10:00:00Z');
  await insertRegistration(db, ID.reg2, ID.trunk1, '2025-01-01T12:00:00Z');
  await insertRegistration(db, ID.reg3, ID.trunk1, '2025-01-01T11:00:00Z', `'2025-01-01T11:05:00Z'`);
  await insertRegistration(db, ID.reg4, ID.trunk2, '2025-01-01T09:00:00Z');
  // One statement each: created_at (clock_timestamp) orders the carriers.
  await db.query(`INSERT INTO carrier (name, source_cidrs) VALUES ('Alpha', '{192.0.2.0/24,2001:db8::/32}')`);
  await db.query(`INSERT INTO carrier (name, source_cidrs) VALUES ('Beta', '{192.0.2.0/25,198.51.100.7/32}')`);
  await db.query(`INSERT INTO carrier (name, source_cidrs) VALUES ('Gamma', '{::ffff:cb00:7100/120}')`);
  await db.query(`INSERT INTO outbound_gateway (uri) VALUES ('sip:gw.example:5070')`);
}

describe('config snapshot: full load', () => {
  let database: TestDatabase;
  let db: Client;
  let snapshot: Snapshot;

  before(async () => {
    database = await createTestDatabase();
    db = await connect(database.url);
    await seed(db);
    snapshot = await loadSnapshot(db, 7);
  });
  after(async () => {
    await db?.end();
    await database?.drop();
  });

  it('reads a trunk with its failover settings and digest credentials', () => {
    const trunk = snapshot.trunks.get(ID.trunk1);
    expect(trunk).to.deep.equal({
      id: ID.trunk1,
      companyId: ID.companyA,
      name: 'Trunk Main.PBX',
      sipUsername: 'Main.PBX',
      digestRealm: 'trunks.test',
      ha1: { [DigestAlgorithm.MD5]: 'md5-Main.PBX', [DigestAlgorithm.SHA256]: 'sha-Main.PBX' },
      digestAlgorithms: [DigestAlgorithm.SHA256, DigestAlgorithm.MD5],
      maxConcurrentCalls: 4,
      failover: { enabled: true, dialPlanId: ID.planA, noProvisionalTimeoutMs: 7000, triggerStatusCodes: new Set([502, 503]) },
      healthCheck: { enabled: false, intervalMs: 30_000, failuresToDown: 3, successesToUp: 2 },
    });
    expect(snapshot.version).to.equal(7);
  });

  it('applies the defaults: 15 s, every 5xx, MD5 first; equal settings share one instance', () => {
    const branch = snapshot.trunks.get(ID.trunk2)?.failover;
    const spare = snapshot.trunks.get(ID.trunk3)?.failover;
    expect(branch).to.deep.equal({ enabled: false, dialPlanId: null, noProvisionalTimeoutMs: 15_000, triggerStatusCodes: new Set(ALL_5XX) });
    expect(branch?.triggerStatusCodes).to.equal(spare?.triggerStatusCodes);
    expect(snapshot.trunks.get(ID.trunk2)?.digestAlgorithms).to.deep.equal([DigestAlgorithm.MD5, DigestAlgorithm.SHA256]);
  });

  it('keys trunksByUsername by the lower-cased username, to the same objects', () => {
    expect([...snapshot.trunksByUsername.keys()].sort()).to.deep.equal(['branch', 'main.pbx', 'spare']);
    expect(snapshot.trunksByUsername.get('main.pbx')).to.equal(snapshot.trunks.get(ID.trunk1));
  });

  it('maps each number to its trunk or its dial plan', () => {
    expect(Object.fromEntries(snapshot.dids)).to.deep.equal({
      '+442079460001': { kind: 'trunk', trunkId: ID.trunk1 },
      '+442079460002': { kind: 'trunk', trunkId: ID.trunk2 },
      '+442079460099': { kind: 'dialPlan', dialPlanId: ID.planB },
    });
  });

  it('keeps each dial plan with its flow as stored', () => {
    expect(snapshot.dialPlans.get(ID.planB)).to.deep.equal({ id: ID.planB, companyId: ID.companyA, name: 'Plan 200', flow: FLOW });
    expect(snapshot.dialPlans.size).to.equal(2);
  });

  it('groups registrations per trunk, newest refresh first, expired bindings included', () => {
    expect(snapshot.registrations.get(ID.trunk1)?.map((binding) => binding.id)).to.deep.equal([ID.reg2, ID.reg3, ID.reg1]);
    expect(snapshot.registrations.get(ID.trunk2)?.map((binding) => binding.id)).to.deep.equal([ID.reg4]);
    expect(snapshot.registrations.has(ID.trunk3)).to.equal(false);
    expect(snapshot.registrations.get(ID.trunk1)?.[1]).to.deep.equal({
      id: ID.reg3,
      trunkId: ID.trunk1,
      contact: `sip:pbx@10.0.0.1;reg=${ID.reg3}`,
      sourceAddress: '203.0.113.7',
      sourcePort: 5062,
      expiresAt: Date.parse('2025-01-01T11:05:00Z'),
      userAgent: 'PBX/1.0',
      updatedAt: Date.parse('2025-01-01T11:00:00Z'),
    });
  });

  it('lists carriers in creation order', () => {
    expect(snapshot.carriers.map((carrier) => [carrier.name, carrier.sourceCidrs])).to.deep.equal([
      ['Alpha', ['192.0.2.0/24', '2001:db8::/32']],
      ['Beta', ['192.0.2.0/25', '198.51.100.7/32']],
      ['Gamma', ['::ffff:cb00:7100/120']],
    ]);
  });

  const sources: [string, string | null][] = [
    ['192.0.2.1', 'Alpha'],
    ['192.0.2.255', 'Alpha'],
    ['198.51.100.7', 'Beta'],
    ['198.51.100.8', null],
    ['2001:db8::1', 'Alpha'],
    ['2001:DB8:ffff::1', 'Alpha'],
    ['2001:db9::1', null],
    ['::ffff:192.0.2.1', 'Alpha'],
    ['::FFFF:198.51.100.7', 'Beta'],
    ['::ffff:c633:6407', 'Beta'],
    ['203.0.113.9', 'Gamma'],
    ['::ffff:203.0.113.200', 'Gamma'],
    ['203.0.114.1', null],
    ['10.0.0.1', null],
    ['::1', null],
    ['192.0.2', null],
    ['192.0.02.1', null],
    ['not an address', null],
    ['', null],
  ];
  for (const [source, carrier] of sources) {
    it(`carrierOf(${JSON.stringify(source)}) is ${carrier ?? 'no carrier'}`, () => {
      expect(snapshot.carrierOf(source)?.name ?? null).to.equal(carrier);
    });
  }

  it('reads the outbound gateway and the companies', () => {
    expect(snapshot.outboundGateway).to.equal('sip:gw.example:5070');
    expect(Object.fromEntries(snapshot.companies)).to.deep.equal({
      [ID.companyA]: { id: ID.companyA, timeZone: 'Europe/London' },
      [ID.companyB]: { id: ID.companyB, timeZone: 'America/New_York' },
    });
  });

  it('freezes what it builds', () => {
    const trunk = snapshot.trunks.get(ID.trunk1);
    const plan = snapshot.dialPlans.get(ID.planA);
    for (const value of [snapshot, trunk, trunk?.ha1, trunk?.failover, trunk?.digestAlgorithms, snapshot.carriers, snapshot.carriers[0], snapshot.registrations.get(ID.trunk1), plan, plan?.flow, plan?.flow.steps[0]]) {
      expect(Object.isFrozen(value)).to.equal(true);
    }
  });

  it('reads an empty database', async () => {
    const empty = await createTestDatabase();
    const client = await connect(empty.url);
    try {
      const blank = await loadSnapshot(client, 1);
      expect(plain(blank)).to.deep.equal({ trunks: [], trunksByUsername: [], dids: [], dialPlans: [], registrations: [], carriers: [], outboundGateway: null, webhookAllowedNetworks: [], maxCallLengthSeconds: 14_400, companies: [] });
      expect(blank.carrierOf('192.0.2.1')).to.equal(null);
    } finally {
      await client.end();
      await empty.drop();
    }
  });
});

describe('config snapshot: applyChanges', () => {
  let database: TestDatabase;
  let db: Client;
  let collector: ChangeCollector;

  before(async () => {
    database = await createTestDatabase();
    db = await connect(database.url);
    await seed(db);
    collector = await ChangeCollector.start(database.url);
  });
  after(async () => {
    await collector?.close();
    await db?.end();
    await database?.drop();
  });

  /** Applies what `sql` notifies to a fresh full load, and checks the result against a new full load. */
  async function change(sql: string | (() => Promise<unknown>), keep: (change: ConfigChange) => boolean = () => true): Promise<{ before: Snapshot; after: Snapshot; changes: ConfigChange[] }> {
    const before = await loadSnapshot(db, 1);
    const frozenBefore = plain(before);
    const changes = (await collector.during(typeof sql === 'string' ? () => db.query(sql) : sql)).filter(keep);
    const after = await applyChanges(before, changes, db, 2);
    expect(after.version).to.equal(2);
    expect(plain(before)).to.deep.equal(frozenBefore, 'the previous snapshot is untouched');
    return { before, after, changes };
  }

  async function expectSameAsFullLoad(snapshot: Snapshot): Promise<void> {
    expect(plain(snapshot)).to.deep.equal(plain(await loadSnapshot(db, 3)));
  }

  it('a carrier change rebuilds carriers and carrierOf and shares every other map', async () => {
    const { before, after } = await change(`UPDATE carrier SET source_cidrs = '{198.51.100.0/24}' WHERE name = 'Beta'`);
    await expectSameAsFullLoad(after);
    expect(after.carrierOf('198.51.100.8')?.name).to.equal('Beta');
    expect(before.carrierOf('198.51.100.8')).to.equal(null);
    expect(after.carriers).to.not.equal(before.carriers);
    for (const key of ['trunks', 'trunksByUsername', 'dids', 'dialPlans', 'registrations', 'companies'] as const) expect(after[key], key).to.equal(before[key]);
  });

  it('a trunk update refreshes trunks and trunksByUsername; a new username replaces the old key', async () => {
    const { before, after } = await change(`UPDATE trunk SET sip_username = 'Spare-2', no_provisional_timeout_seconds = 3 WHERE id = '${ID.trunk3}'`);
    await expectSameAsFullLoad(after);
    expect(after.trunksByUsername.has('spare')).to.equal(false);
    expect(after.trunksByUsername.get('spare-2')?.failover.noProvisionalTimeoutMs).to.equal(3000);
    expect(after.trunks.get(ID.trunk1)).to.equal(before.trunks.get(ID.trunk1), 'an untouched trunk is the same object');
    for (const key of ['dids', 'dialPlans', 'registrations', 'carriers', 'carrierOf', 'companies'] as const) expect(after[key], key).to.equal(before[key]);
  });

  it('two trunks trading usernames, applied in one batch or one change at a time', async () => {
    const swap = async (): Promise<void> => {
      await db.query('BEGIN');
      await db.query(`UPDATE trunk SET sip_username = 'swapping' WHERE id = '${ID.trunk2}'`);
      await db.query(`UPDATE trunk SET sip_username = 'branch' WHERE id = '${ID.trunk3}'`);
      await db.query(`UPDATE trunk SET sip_username = 'spare-2' WHERE id = '${ID.trunk2}'`);
      await db.query('COMMIT');
    };
    const { before, after, changes } = await change(swap);
    await expectSameAsFullLoad(after);
    expect(after.trunksByUsername.get('branch')?.id).to.equal(ID.trunk3);
    let oneByOne = before;
    for (const single of [...changes].reverse()) oneByOne = await applyChanges(oneByOne, [single], db, oneByOne.version + 1);
    await expectSameAsFullLoad(oneByOne);
  });

  it('deleting a trunk drops its bindings and numbers at once, before the cascade notifies them', async () => {
    const doomed = ID.trunk9;
    await insertTrunk(db, { id: doomed, companyId: ID.companyB, username: 'doomed' });
    await insertRegistration(db, ID.reg5, doomed, '2025-01-01T08:00:00Z');
    await db.query(`INSERT INTO did (number, trunk_id) VALUES ('+442079460009', $1)`, [doomed]);
    const { before, after } = await change(`DELETE FROM trunk WHERE id = '${doomed}'`, (c) => c.table === 'trunk');
    expect(before.registrations.has(doomed)).to.equal(true);
    expect(before.dids.has('+442079460009')).to.equal(true);
    expect(before.health.has(doomed)).to.equal(true);
    expect(after.registrations.has(doomed)).to.equal(false);
    expect(after.health.has(doomed)).to.equal(false);
    expect(after.dids.has('+442079460009')).to.equal(false);
    expect(after.trunks.has(doomed)).to.equal(false);
    expect(after.trunksByUsername.has('doomed')).to.equal(false);
    await expectSameAsFullLoad(after);
  });

  it('deleting a dial plan drops its number at once', async () => {
    const plan = 'b0000000-0000-4000-8000-000000000009';
    await insertDialPlan(db, plan, ID.companyA, '900');
    await db.query(`INSERT INTO did (number, dial_plan_id) VALUES ('+442079460900', $1)`, [plan]);
    const { before, after } = await change(`DELETE FROM dial_plan WHERE id = '${plan}'`, (c) => c.table === 'dial_plan');
    expect(before.dids.get('+442079460900')).to.deep.equal({ kind: 'dialPlan', dialPlanId: plan });
    expect(after.dids.has('+442079460900')).to.equal(false);
    expect(after.dialPlans.has(plan)).to.equal(false);
    await expectSameAsFullLoad(after);
  });

  it('registration insert, refresh and delete keep each list newest first', async () => {
    const { after: inserted } = await change(() => insertRegistration(db, ID.reg5, ID.trunk1, '2025-01-01T11:30:00Z'));
    expect(inserted.registrations.get(ID.trunk1)?.map((b) => b.id)).to.deep.equal([ID.reg2, ID.reg5, ID.reg3, ID.reg1]);
    await expectSameAsFullLoad(inserted);
    const { before, after: refreshed } = await change(`UPDATE registration SET updated_at = '2025-01-02T00:00:00Z', expires_at = '2025-01-02T01:00:00Z' WHERE id = '${ID.reg1}'`);
    expect(refreshed.registrations.get(ID.trunk1)?.map((b) => b.id)).to.deep.equal([ID.reg1, ID.reg2, ID.reg5, ID.reg3]);
    expect(refreshed.registrations.get(ID.trunk1)?.[0].expiresAt).to.equal(Date.parse('2025-01-02T01:00:00Z'));
    expect(refreshed.registrations.get(ID.trunk2)).to.equal(before.registrations.get(ID.trunk2), "another trunk's list is the same array");
    expect(refreshed.trunks).to.equal(before.trunks);
    await expectSameAsFullLoad(refreshed);
    const { after: deleted } = await change(`DELETE FROM registration WHERE id = '${ID.reg5}'`);
    expect(deleted.registrations.get(ID.trunk1)?.map((b) => b.id)).to.deep.equal([ID.reg1, ID.reg2, ID.reg3]);
    await expectSameAsFullLoad(deleted);
  });

  it('a binding moved to another trunk leaves the first list; the last one gone removes the entry', async () => {
    const { after: moved } = await change(`UPDATE registration SET trunk_id = '${ID.trunk3}' WHERE id = '${ID.reg4}'`);
    expect(moved.registrations.has(ID.trunk2)).to.equal(false);
    expect(moved.registrations.get(ID.trunk3)?.map((b) => b.id)).to.deep.equal([ID.reg4]);
    await expectSameAsFullLoad(moved);
    const { after: gone } = await change(`DELETE FROM registration WHERE id = '${ID.reg4}'`);
    expect(gone.registrations.has(ID.trunk3)).to.equal(false);
    await expectSameAsFullLoad(gone);
  });

  it('a number moving from a trunk to a dial plan, and a number deleted', async () => {
    const { before, after } = await change(`UPDATE did SET trunk_id = NULL, dial_plan_id = '${ID.planA}' WHERE number = '+442079460002'`);
    expect(after.dids.get('+442079460002')).to.deep.equal({ kind: 'dialPlan', dialPlanId: ID.planA });
    expect(after.trunks).to.equal(before.trunks);
    await expectSameAsFullLoad(after);
    const { after: deleted } = await change(`DELETE FROM did WHERE number = '+442079460002'`);
    expect(deleted.dids.has('+442079460002')).to.equal(false);
    await expectSameAsFullLoad(deleted);
  });

  it("reads each trunk's health (UNKNOWN from its creation); a change to it is applied alone", async () => {
    const { before, after } = await change(`UPDATE trunk_health SET state = 'DOWN', reason = 'PROBES_FAILING', since = now() WHERE trunk_id = '${ID.trunk1}'`);
    await expectSameAsFullLoad(after);
    expect(before.health.get(ID.trunk1)).to.include({ state: 'UNKNOWN', reason: null });
    expect(after.health.get(ID.trunk1)).to.include({ state: 'DOWN', reason: 'PROBES_FAILING' });
    for (const key of ['trunks', 'dids', 'dialPlans', 'registrations', 'companies'] as const) expect(after[key], key).to.equal(before[key]);
    const { changes } = await change(`UPDATE trunk_health SET failures = 2, successes = 0 WHERE trunk_id = '${ID.trunk1}'`);
    expect(changes, 'a count alone changes nothing routing reads: no notification').to.deep.equal([]);
    await db.query(`UPDATE trunk_health SET state = 'UNKNOWN', reason = NULL WHERE trunk_id = '${ID.trunk1}'`);
  });

  it('dial plan, company and outbound gateway changes', async () => {
    const flow = { ...FLOW, entryStepId: 'busy' };
    const { after: plan } = await change(`UPDATE dial_plan SET name = 'Renamed', flow = '${JSON.stringify(flow)}' WHERE id = '${ID.planB}'`);
    expect(plan.dialPlans.get(ID.planB)).to.include({ name: 'Renamed' });
    expect(plan.dialPlans.get(ID.planB)?.flow).to.deep.equal(flow);
    await expectSameAsFullLoad(plan);
    const { after: company } = await change(`UPDATE company SET time_zone = 'Asia/Tokyo' WHERE id = '${ID.companyB}'`);
    expect(company.companies.get(ID.companyB)?.timeZone).to.equal('Asia/Tokyo');
    await expectSameAsFullLoad(company);
    const { after: gateway } = await change(`UPDATE outbound_gateway SET uri = 'sip:gw2.example'`);
    expect(gateway.outboundGateway).to.equal('sip:gw2.example');
    const { after: noGateway } = await change(`DELETE FROM outbound_gateway`);
    expect(noGateway.outboundGateway).to.equal(null);
    await expectSameAsFullLoad(noGateway);
  });

  it('trigger status codes: an empty set, a single code', async () => {
    const { after: none } = await change(`UPDATE trunk SET trigger_status_codes = '{}' WHERE id = '${ID.trunk1}'`);
    expect(none.trunks.get(ID.trunk1)?.failover.triggerStatusCodes).to.deep.equal(new Set());
    const { after: one } = await change(`UPDATE trunk SET trigger_status_codes = '{503}' WHERE id = '${ID.trunk1}'`);
    expect(one.trunks.get(ID.trunk1)?.failover.triggerStatusCodes).to.deep.equal(new Set([503]));
    await expectSameAsFullLoad(one);
  });

  it('a batch across tables is read in one transaction and matches a full load', async () => {
    const batch = async (): Promise<void> => {
      await db.query(`INSERT INTO dial_plan (id, company_id, name, internal_number, flow) VALUES ('b0000000-0000-4000-8000-000000000003', '${ID.companyB}', 'New', '300', '${JSON.stringify(FLOW)}')`);
      await db.query(`UPDATE trunk SET failover_enabled = true, failover_dial_plan_id = 'b0000000-0000-4000-8000-000000000003' WHERE id = '${ID.trunk2}'`);
      await db.query(`INSERT INTO did (number, trunk_id) VALUES ('+442079460003', '${ID.trunk2}')`);
      await db.query(`INSERT INTO outbound_gateway (uri) VALUES ('sip:gw3.example')`);
    };
    const { after, changes } = await change(batch);
    expect(new Set(changes.map((c) => c.table))).to.have.length(4);
    expect(after.trunks.get(ID.trunk2)?.failover).to.include({ enabled: true, dialPlanId: 'b0000000-0000-4000-8000-000000000003' });
    await expectSameAsFullLoad(after);
  });

  it('TRUNCATE reloads the whole table, cascades included', async () => {
    const { after: noBindings } = await change(`TRUNCATE registration`);
    expect(noBindings.registrations.size).to.equal(0);
    await expectSameAsFullLoad(noBindings);
    const { after: noCarriers } = await change(`TRUNCATE carrier`);
    expect(noCarriers.carriers).to.deep.equal([]);
    expect(noCarriers.carrierOf('192.0.2.1')).to.equal(null);
    await insertRegistration(db, ID.reg1, ID.trunk1, '2025-01-01T10:00:00Z');
    const { after: noTrunks, changes } = await change(`TRUNCATE trunk CASCADE`);
    expect(changes).to.deep.include({ table: 'trunk', id: '*', op: 'TRUNCATE' });
    expect(noTrunks.trunks.size).to.equal(0);
    expect(noTrunks.trunksByUsername.size).to.equal(0);
    expect(noTrunks.registrations.size).to.equal(0);
    expect([...noTrunks.dids.values()].every((target) => target.kind === 'dialPlan')).to.equal(true);
    await expectSameAsFullLoad(noTrunks);
  });

  it('ids that name no row are harmless', async () => {
    const before = await loadSnapshot(db, 1);
    const after = await applyChanges(before, [
      { table: 'trunk', id: 'not-a-uuid', op: 'DELETE' },
      { table: 'registration', id: 'e0000000-0000-4000-8000-000000000001', op: 'DELETE' },
      { table: 'did', id: '+15550000000', op: 'DELETE' },
    ], db, 2);
    expect(plain(after)).to.deep.equal(plain(before));
  });
});

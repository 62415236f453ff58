import { expect } from 'chai';
import { Pool, type Client } from 'pg';
import pino from 'pino';
import { TrunkDownReason, TrunkEventType, TrunkHealthState, type HealthEvidence } from '../../../domain/trunk-health';
import { systemClock } from '../../../worker/clock';
import { HealthStore } from '../../../worker/health/health-store';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { connect, insertCompany, insertTrunk } from '../config/fixtures';

const COMPANY = '00000000-0000-4000-8000-000000000001';
const TRUNK = '00000000-0000-4000-8000-0000000000a1';
const OTHER = '00000000-0000-4000-8000-0000000000a2';
const logger = pino({ level: 'silent' });
const FAIL: HealthEvidence = { kind: 'Call', ok: false };
const OK: HealthEvidence = { kind: 'Call', ok: true };

describe('HealthStore: evidence applied to trunk_health in one transaction', () => {
  let db: TestDatabase;
  let client: Client;
  let pools: Pool[];

  beforeEach(async () => {
    db = await createTestDatabase();
    client = await connect(db.url);
    await insertCompany(client, COMPANY);
    await insertTrunk(client, { id: TRUNK, companyId: COMPANY, username: 'pbx1' });
    await insertTrunk(client, { id: OTHER, companyId: COMPANY, username: 'pbx2' });
    await client.query('UPDATE trunk_health SET registered = true');
    pools = [];
  });

  afterEach(async () => {
    await Promise.all(pools.map((pool) => pool.end()));
    await client.end();
    await db.drop();
  });

  function store(): HealthStore {
    const pool = new Pool({ connectionString: db.url, max: 4 });
    pools.push(pool);
    return new HealthStore({ pool, clock: systemClock, logger });
  }

  async function events(): Promise<{ id: string; type: string; reason: string | null; company_id: string }[]> {
    const { rows } = await client.query<{ id: string; type: string; reason: string | null; company_id: string }>('SELECT id::text, type, reason, company_id FROM trunk_event ORDER BY id');
    return rows;
  }

  async function health(trunkId = TRUNK): Promise<{ state: string; reason: string | null; failures: number; updated_at: Date }> {
    const { rows } = await client.query<{ state: string; reason: string | null; failures: number; updated_at: Date }>('SELECT state, reason, failures, updated_at FROM trunk_health WHERE trunk_id = $1', [trunkId]);
    return rows[0];
  }

  it("goes DOWN at the trunk's failuresToDown and writes one FAILOVER_STARTED with the company", async () => {
    await client.query('UPDATE trunk SET health_check_failures_to_down = 2 WHERE id = $1', [TRUNK]);
    const one = store();
    await one.apply(TRUNK, [OK, FAIL]);
    expect((await health()).state).to.equal(TrunkHealthState.UP);
    const applied = await one.apply(TRUNK, [FAIL, FAIL]);
    expect(applied?.health.state).to.equal(TrunkHealthState.DOWN);
    expect(await health()).to.include({ state: 'DOWN', reason: TrunkDownReason.CALLS_FAILING });
    expect((await events()).map((event) => [event.type, event.reason, event.company_id])).to.deep.equal([[TrunkEventType.FAILOVER_STARTED, 'CALLS_FAILING', COMPANY]]);
    expect((await health(OTHER)).state).to.equal('UNKNOWN');
  });

  it('returns null for a trunk without a health row', async () => {
    expect(await store().apply('00000000-0000-4000-8000-0000000000ff', [FAIL])).to.equal(null);
  });

  it('writes one event per transition, ids in order, under concurrent evidence from two stores', async () => {
    const [a, b] = [store(), store()];
    const work: Promise<unknown>[] = [];
    // Three rounds of: down (3 failures), then up by a trial; each store sends half the batches.
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 6; i++) work.push((i % 2 === 0 ? a : b).apply(TRUNK, [FAIL]));
      await Promise.all(work.splice(0));
      await Promise.all([a.apply(TRUNK, [{ kind: 'Trial', ok: true }]), b.apply(TRUNK, [{ kind: 'Trial', ok: true }])]);
    }
    const written = await events();
    expect(written.map((event) => event.type)).to.deep.equal([
      TrunkEventType.FAILOVER_STARTED, TrunkEventType.FAILOVER_ENDED,
      TrunkEventType.FAILOVER_STARTED, TrunkEventType.FAILOVER_ENDED,
      TrunkEventType.FAILOVER_STARTED, TrunkEventType.FAILOVER_ENDED,
    ]);
    const ids = written.map((event) => BigInt(event.id));
    expect([...ids].sort((x, y) => (x < y ? -1 : 1))).to.deep.equal(ids);
  });

  it('costs no write for a steady success on an UP trunk', async () => {
    const one = store();
    await one.apply(TRUNK, [OK, OK]);
    const before = await health();
    const applied = await one.apply(TRUNK, [OK, OK, OK]);
    expect(applied?.written).to.equal(false);
    expect((await health()).updated_at.getTime()).to.equal(before.updated_at.getTime());
    // A failure is always written, and the success after it too.
    expect((await one.apply(TRUNK, [FAIL]))?.written).to.equal(true);
    expect((await one.apply(TRUNK, [OK]))?.written).to.equal(true);
    expect((await health()).failures).to.equal(0);
  });

  it('applies a registration loss and return with their events', async () => {
    const one = store();
    await one.apply(TRUNK, [OK, OK]);
    await one.apply(TRUNK, [{ kind: 'Registration', registered: false }]);
    await one.apply(TRUNK, [{ kind: 'Registration', registered: false }]);
    await one.apply(TRUNK, [{ kind: 'Registration', registered: true }]);
    expect((await events()).map((event) => [event.type, event.reason])).to.deep.equal([
      [TrunkEventType.REGISTRATION_LOST, null],
      [TrunkEventType.FAILOVER_STARTED, 'NOT_REGISTERED'],
      [TrunkEventType.REGISTRATION_RESTORED, null],
      [TrunkEventType.FAILOVER_ENDED, null],
    ]);
  });

  it('writes the last probe with the batch, also when the batch skips the health write; an unanswered probe keeps the last round trip, an older reading changes nothing', async () => {
    const one = store();
    const PROBE_OK: HealthEvidence = { kind: 'Probe', ok: true };
    const probe = async () =>
      (await client.query<{ at: number | null; rtt: number | null }>('SELECT (extract(epoch FROM last_probe_at) * 1000)::float8 AS at, last_probe_rtt_ms AS rtt FROM trunk_health WHERE trunk_id = $1', [TRUNK])).rows[0];
    await one.apply(TRUNK, [PROBE_OK, PROBE_OK], { at: 1_700_000_000_000, rttMs: 12 });
    expect(await probe()).to.deep.equal({ at: 1_700_000_000_000, rtt: 12 });
    // A steady success: no transaction, the reading still written.
    expect((await one.apply(TRUNK, [PROBE_OK], { at: 1_700_000_005_000, rttMs: 9 }))?.written).to.equal(false);
    expect(await probe()).to.deep.equal({ at: 1_700_000_005_000, rtt: 9 });
    await one.apply(TRUNK, [{ kind: 'Probe', ok: false }], { at: 1_700_000_010_000, rttMs: null });
    expect(await probe()).to.deep.equal({ at: 1_700_000_010_000, rtt: 9 });
    await one.apply(TRUNK, [PROBE_OK], { at: 1_700_000_001_000, rttMs: 500 });
    expect(await probe()).to.deep.equal({ at: 1_700_000_010_000, rtt: 9 });
  });
});

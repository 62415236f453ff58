import { expect } from 'chai';
import { HEALTH_CHECK_DEFAULTS, HEALTH_CHECK_LIMITS } from '../../../domain/trunk-health';
import { OPERATOR_KEY, TestApi } from '../../support/api';

const FIELDS = `id createdAt healthCheck { enabled intervalSeconds failuresToDown successesToUp } health { state reason since lastProbeAt lastProbeRttMs }`;
const CREATE = `mutation ($input: CreateTrunkInput!) { createTrunk(input: $input) { ${FIELDS} } }`;
const UPDATE = `mutation ($id: ID!, $input: UpdateTrunkInput!) { updateTrunk(id: $id, input: $input) { ${FIELDS} } }`;
const GET = `query ($id: ID!) { trunk(id: $id) { ${FIELDS} } }`;
const LIST = `query ($companyId: ID) { trunks(companyId: $companyId, first: 200) { edges { node { ${FIELDS} } } } }`;

interface HealthCheck {
  enabled: boolean;
  intervalSeconds: number;
  failuresToDown: number;
  successesToUp: number;
}

interface Trunk {
  id: string;
  createdAt: string;
  healthCheck: HealthCheck;
  health: { state: string; reason: string | null; since: string; lastProbeAt: string | null; lastProbeRttMs: number | null };
}

type Setting = keyof typeof HEALTH_CHECK_LIMITS;
const SETTINGS = Object.keys(HEALTH_CHECK_LIMITS) as Setting[];

let serial = 0;
function trunkInput(companyId: string, healthCheck?: Record<string, unknown>): Record<string, unknown> {
  serial++;
  return {
    companyId,
    name: `Health PBX ${serial}`,
    sipUsername: `health-${serial}`,
    sipPassword: 'long enough secret',
    inboundNumbers: [`+44207946${String(3000 + serial).padStart(4, '0')}`],
    maxConcurrentCalls: 5,
    ...(healthCheck === undefined ? {} : { healthCheck }),
  };
}

describe('trunk health settings and state', () => {
  let api: TestApi;
  let company: { id: string; key: string };

  before(async () => {
    api = await TestApi.start();
    company = await api.company('Health Co');
  });
  after(async () => {
    await api.stop();
  });

  async function create(healthCheck?: Record<string, unknown>): Promise<Trunk> {
    return (await api.ok<{ createTrunk: Trunk }>(company.key, CREATE, { input: trunkInput(company.id, healthCheck) })).createTrunk;
  }

  async function trunkCount(): Promise<number> {
    const [row] = await api.dataSource.query(`SELECT count(*)::int AS count FROM trunk`);
    return row.count;
  }

  it('gives a new trunk the default settings, and a health UNKNOWN since its creation', async () => {
    const trunk = await create();
    expect(trunk.healthCheck).to.deep.equal({ enabled: false, intervalSeconds: 30, failuresToDown: 3, successesToUp: 2 });
    expect(trunk.healthCheck).to.deep.equal({ ...HEALTH_CHECK_DEFAULTS });
    expect(trunk.health).to.deep.include({ state: 'UNKNOWN', reason: null, lastProbeAt: null, lastProbeRttMs: null });
    expect(Math.abs(Date.parse(trunk.health.since) - Date.parse(trunk.createdAt))).to.be.below(1000);
  });

  it('takes the defaults for the fields a create leaves out', async () => {
    const trunk = await create({ enabled: true, failuresToDown: 5 });
    expect(trunk.healthCheck).to.deep.equal({ enabled: true, intervalSeconds: 30, failuresToDown: 5, successesToUp: 2 });
    const [row] = await api.dataSource.query(
      `SELECT health_check_enabled, health_check_interval_seconds, health_check_failures_to_down, health_check_successes_to_up FROM trunk WHERE id = $1`,
      [trunk.id],
    );
    expect(row).to.deep.equal({ health_check_enabled: true, health_check_interval_seconds: 30, health_check_failures_to_down: 5, health_check_successes_to_up: 2 });
  });

  for (const setting of SETTINGS) {
    const { min, max } = HEALTH_CHECK_LIMITS[setting];

    it(`accepts ${setting} at ${min} and ${max}, on create and update`, async () => {
      const atMin = await create({ [setting]: min });
      expect(atMin.healthCheck[setting]).to.equal(min);
      const { updateTrunk } = await api.ok<{ updateTrunk: Trunk }>(company.key, UPDATE, { id: atMin.id, input: { healthCheck: { [setting]: max } } });
      expect(updateTrunk.healthCheck).to.deep.equal({ ...atMin.healthCheck, [setting]: max });
      expect((await create({ [setting]: max })).healthCheck[setting]).to.equal(max);
    });

    it(`refuses ${setting} at ${min - 1} and ${max + 1} naming the field, and writes nothing`, async () => {
      const trunk = await create();
      const before = await trunkCount();
      for (const value of [min - 1, max + 1]) {
        const created = await api.request(company.key, CREATE, { input: trunkInput(company.id, { [setting]: value }) });
        expect(created.errors?.[0].extensions?.code, created.text).to.equal('BAD_USER_INPUT');
        expect(created.errors?.[0].extensions?.problems?.join(' ')).to.include(`healthCheck.${setting}`);
        const updated = await api.request(company.key, UPDATE, { id: trunk.id, input: { name: 'renamed', healthCheck: { enabled: true, [setting]: value } } });
        expect(updated.errors?.[0].extensions?.code, updated.text).to.equal('BAD_USER_INPUT');
        expect(updated.errors?.[0].extensions?.problems?.join(' ')).to.include(`healthCheck.${setting}`);
      }
      expect(await trunkCount()).to.equal(before);
      const { trunk: read } = await api.ok<{ trunk: Trunk & { name?: string } }>(company.key, GET, { id: trunk.id });
      expect(read.healthCheck).to.deep.equal(trunk.healthCheck);
      const [row] = await api.dataSource.query(`SELECT name FROM trunk WHERE id = $1`, [trunk.id]);
      expect(row.name).not.to.equal('renamed');
    });
  }

  it('keeps the settings an update leaves out', async () => {
    const trunk = await create({ enabled: true, intervalSeconds: 10, failuresToDown: 2, successesToUp: 4 });
    const { updateTrunk } = await api.ok<{ updateTrunk: Trunk }>(company.key, UPDATE, { id: trunk.id, input: { healthCheck: { successesToUp: 1 } } });
    expect(updateTrunk.healthCheck).to.deep.equal({ enabled: true, intervalSeconds: 10, failuresToDown: 2, successesToUp: 1 });
    const untouched = await api.ok<{ updateTrunk: Trunk }>(company.key, UPDATE, { id: trunk.id, input: { maxConcurrentCalls: 7 } });
    expect(untouched.updateTrunk.healthCheck).to.deep.equal(updateTrunk.healthCheck);
    const nulls = await api.ok<{ updateTrunk: Trunk }>(company.key, UPDATE, { id: trunk.id, input: { healthCheck: { enabled: null, intervalSeconds: null } } });
    expect(nulls.updateTrunk.healthCheck).to.deep.equal(updateTrunk.healthCheck);
    const off = await api.ok<{ updateTrunk: Trunk }>(company.key, UPDATE, { id: trunk.id, input: { healthCheck: { enabled: false } } });
    expect(off.updateTrunk.healthCheck).to.deep.equal({ ...updateTrunk.healthCheck, enabled: false });
  });

  it('reads the health the SIP nodes wrote: DOWN with its reason, then UP with the last probe', async () => {
    const trunk = await create();
    await api.dataSource.query(
      `UPDATE trunk_health SET state = 'DOWN', reason = 'PROBES_FAILING', failures = 3, since = '2026-11-01T10:00:00.123Z',
         last_probe_at = '2026-11-01T10:00:00.100Z', last_probe_rtt_ms = NULL WHERE trunk_id = $1`,
      [trunk.id],
    );
    const { trunk: down } = await api.ok<{ trunk: Trunk }>(company.key, GET, { id: trunk.id });
    expect(down.health).to.deep.equal({ state: 'DOWN', reason: 'PROBES_FAILING', since: '2026-11-01T10:00:00.123Z', lastProbeAt: '2026-11-01T10:00:00.100Z', lastProbeRttMs: null });
    await api.dataSource.query(
      `UPDATE trunk_health SET state = 'UP', reason = NULL, since = '2026-11-01T10:01:00.000Z', last_probe_at = '2026-11-01T10:01:00.000Z', last_probe_rtt_ms = 12 WHERE trunk_id = $1`,
      [trunk.id],
    );
    const { trunk: up } = await api.ok<{ trunk: Trunk }>(company.key, GET, { id: trunk.id });
    expect(up.health).to.deep.equal({ state: 'UP', reason: null, since: '2026-11-01T10:01:00.000Z', lastProbeAt: '2026-11-01T10:01:00.000Z', lastProbeRttMs: 12 });
  });

  it('reads each trunk of a page with its own health, in one query for the page', async () => {
    const other = await api.company('Health Other');
    const trunks = [];
    for (let i = 0; i < 3; i++) trunks.push((await api.ok<{ createTrunk: Trunk }>(other.key, CREATE, { input: trunkInput(other.id) })).createTrunk);
    await api.dataSource.query(`UPDATE trunk_health SET state = 'DOWN', reason = 'NOT_REGISTERED' WHERE trunk_id = $1`, [trunks[0].id]);
    await api.dataSource.query(`UPDATE trunk_health SET state = 'DOWN', reason = 'CALLS_FAILING' WHERE trunk_id = $1`, [trunks[2].id]);
    const queries: string[] = [];
    const logger = api.dataSource.logger;
    const original = logger.logQuery.bind(logger);
    logger.logQuery = (query, parameters, runner) => {
      queries.push(query);
      original(query, parameters, runner);
    };
    try {
      const { trunks: page } = await api.ok<{ trunks: { edges: { node: Trunk }[] } }>(OPERATOR_KEY, LIST, { companyId: other.id });
      const byId = new Map(page.edges.map((edge) => [edge.node.id, edge.node.health]));
      expect(trunks.map((trunk) => [byId.get(trunk.id)?.state, byId.get(trunk.id)?.reason])).to.deep.equal([
        ['DOWN', 'NOT_REGISTERED'],
        ['UNKNOWN', null],
        ['DOWN', 'CALLS_FAILING'],
      ]);
    } finally {
      logger.logQuery = original;
    }
    expect(queries.filter((query) => query.includes('"trunk_health"'))).to.have.length(1);
  });
});

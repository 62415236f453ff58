import { expect } from 'chai';
import { computeHa1, DigestAlgorithm } from '../../../domain/digest';
import { DIAL_PLAN_FIELDS, forwardFlow, OPERATOR_KEY, TestApi, TEST_REALM, TRUNK_FIELDS } from '../../support/api';

const CREATE = `mutation ($input: CreateTrunkInput!) { createTrunk(input: $input) { ${TRUNK_FIELDS} } }`;
const UPDATE = `mutation ($id: ID!, $input: UpdateTrunkInput!) { updateTrunk(id: $id, input: $input) { ${TRUNK_FIELDS} } }`;
const GET = `query ($id: ID!) { trunk(id: $id) { ${TRUNK_FIELDS} } }`;
const CREATE_PLAN = `mutation ($input: CreateDialPlanInput!) { createDialPlan(input: $input) { ${DIAL_PLAN_FIELDS} } }`;

interface Trunk {
  id: string;
  companyId: string;
  name: string;
  sipUsername: string;
  inboundNumbers: string[];
  maxConcurrentCalls: number;
  digestAlgorithms: string[];
  failover: { enabled: boolean; dialPlan: { id: string; name: string } | null; noProvisionalTimeoutSeconds: number; triggerStatusCodes: number[] };
  registration: { contact: string; sourceAddress: string; expiresAt: string; userAgent: string | null } | null;
  activeCalls: number;
}

const ALL_5XX = Array.from({ length: 100 }, (_, index) => 500 + index);
const PASSWORD = 'correct horse battery';
let serial = 0;

function trunkInput(companyId: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  serial++;
  return {
    companyId,
    name: `Main PBX ${serial}`,
    sipUsername: `pbx-${serial}`,
    sipPassword: PASSWORD,
    inboundNumbers: [`+44207946${String(1000 + serial).padStart(4, '0')}`],
    maxConcurrentCalls: 10,
    ...overrides,
  };
}

describe('trunks', () => {
  let api: TestApi;
  let company: { id: string; key: string };

  before(async () => {
    api = await TestApi.start();
    company = await api.company('Trunk Co');
  });
  after(async () => {
    await api.stop();
  });

  async function create(overrides: Record<string, unknown> = {}): Promise<Trunk> {
    return (await api.ok<{ createTrunk: Trunk }>(company.key, CREATE, { input: trunkInput(company.id, overrides) })).createTrunk;
  }

  async function dialPlan(companyId = company.id, key = company.key): Promise<{ id: string; name: string }> {
    serial++;
    const { createDialPlan } = await api.ok<{ createDialPlan: { id: string; name: string } }>(key, CREATE_PLAN, {
      input: { companyId, name: `Failover ${serial}`, internalNumber: String(800 + serial), flow: forwardFlow() },
    });
    return createDialPlan;
  }

  it('creates a trunk with defaults, normalised numbers, and only digest hashes stored', async () => {
    const trunk = await create({ sipUsername: 'acme-main', inboundNumbers: ['+44 20 7946 0999', '+4930901820', '+44 (20) 7946-0999'] });
    expect(trunk).to.deep.include({
      sipUsername: 'acme-main',
      inboundNumbers: ['+442079460999', '+4930901820'],
      maxConcurrentCalls: 10,
      digestAlgorithms: ['MD5', 'SHA256'],
      registration: null,
      activeCalls: 0,
    });
    expect(trunk.failover).to.deep.equal({ enabled: false, dialPlan: null, noProvisionalTimeoutSeconds: 15, triggerStatusCodes: ALL_5XX });
    const [row] = await api.dataSource.query('SELECT * FROM trunk WHERE id = $1', [trunk.id]);
    expect(row.ha1_md5).to.equal(computeHa1(DigestAlgorithm.MD5, 'acme-main', TEST_REALM, PASSWORD));
    expect(row.ha1_sha256).to.equal(computeHa1(DigestAlgorithm.SHA256, 'acme-main', TEST_REALM, PASSWORD));
    expect(row.digest_realm).to.equal(TEST_REALM);
    expect(JSON.stringify(row)).not.to.include(PASSWORD);
  });

  it('reads a trunk back and lists the company trunks', async () => {
    const trunk = await create();
    const { trunk: read } = await api.ok<{ trunk: Trunk }>(company.key, GET, { id: trunk.id });
    expect(read).to.deep.equal(trunk);
    const { trunks } = await api.ok<{ trunks: { edges: { node: { id: string } }[] } }>(
      company.key,
      `query ($companyId: ID) { trunks(companyId: $companyId, first: 200) { edges { node { id } } } }`,
      { companyId: company.id },
    );
    expect(trunks.edges.map((edge) => edge.node.id)).to.include(trunk.id);
  });

  it('updates only the fields given', async () => {
    const trunk = await create();
    const { updateTrunk } = await api.ok<{ updateTrunk: Trunk }>(company.key, UPDATE, {
      id: trunk.id,
      input: { maxConcurrentCalls: 3, digestAlgorithms: ['SHA256', 'MD5'], failover: { noProvisionalTimeoutSeconds: 4 } },
    });
    expect(updateTrunk).to.deep.include({ name: trunk.name, sipUsername: trunk.sipUsername, inboundNumbers: trunk.inboundNumbers, maxConcurrentCalls: 3 });
    expect(updateTrunk.digestAlgorithms).to.deep.equal(['SHA256', 'MD5']);
    expect(updateTrunk.failover).to.deep.equal({ ...trunk.failover, noProvisionalTimeoutSeconds: 4 });
  });

  it('replaces inbound numbers and frees the ones removed', async () => {
    const trunk = await create({ inboundNumbers: ['+442079461111', '+442079461112'] });
    await api.ok(company.key, UPDATE, { id: trunk.id, input: { inboundNumbers: ['+442079461112', '+442079461113'] } });
    const other = await create({ inboundNumbers: ['+442079461111'] });
    expect(other.inboundNumbers).to.deep.equal(['+442079461111']);
    await api.ok(company.key, UPDATE, { id: trunk.id, input: { inboundNumbers: [] } });
    const { trunk: read } = await api.ok<{ trunk: Trunk }>(company.key, GET, { id: trunk.id });
    expect(read.inboundNumbers).to.deep.equal([]);
  });

  it('recomputes the hashes on a new password, and needs one for a new username', async () => {
    const trunk = await create();
    expect(await api.errorCode(company.key, UPDATE, { id: trunk.id, input: { sipUsername: 'renamed-pbx' } })).to.equal('BAD_USER_INPUT');
    await api.ok(company.key, UPDATE, { id: trunk.id, input: { sipUsername: 'renamed-pbx', sipPassword: 'another long secret' } });
    const [row] = await api.dataSource.query('SELECT sip_username, ha1_md5, ha1_sha256 FROM trunk WHERE id = $1', [trunk.id]);
    expect(row).to.deep.equal({
      sip_username: 'renamed-pbx',
      ha1_md5: computeHa1(DigestAlgorithm.MD5, 'renamed-pbx', TEST_REALM, 'another long secret'),
      ha1_sha256: computeHa1(DigestAlgorithm.SHA256, 'renamed-pbx', TEST_REALM, 'another long secret'),
    });
  });

  it('enables failover to a dial plan of the same company and shows it', async () => {
    const plan = await dialPlan();
    const trunk = await create({ failover: { enabled: true, dialPlanId: plan.id, triggerStatusCodes: [503, 500, 503] } });
    expect(trunk.failover).to.deep.equal({ enabled: true, dialPlan: { id: plan.id, name: plan.name }, noProvisionalTimeoutSeconds: 15, triggerStatusCodes: [500, 503] });
    const { updateTrunk } = await api.ok<{ updateTrunk: Trunk }>(company.key, UPDATE, { id: trunk.id, input: { failover: { enabled: false } } });
    expect(updateTrunk.failover.dialPlan?.id).to.equal(plan.id, 'disabling keeps the chosen plan');
  });

  it("refuses another company's dial plan as NOT_FOUND", async () => {
    const other = await api.company('Other Co');
    const foreign = await dialPlan(other.id, other.key);
    const trunk = await create();
    expect(await api.errorCode(company.key, UPDATE, { id: trunk.id, input: { failover: { enabled: true, dialPlanId: foreign.id } } })).to.equal('NOT_FOUND');
    expect(await api.errorCode(OPERATOR_KEY, UPDATE, { id: trunk.id, input: { failover: { dialPlanId: foreign.id } } })).to.equal(
      'NOT_FOUND',
      'even an operator cannot point a trunk at another company plan',
    );
  });

  it('refuses to enable failover without a dial plan, or to remove the plan while enabled', async () => {
    expect(await api.errorCode(company.key, CREATE, { input: trunkInput(company.id, { failover: { enabled: true } }) })).to.equal('BAD_USER_INPUT');
    const plan = await dialPlan();
    const trunk = await create({ failover: { enabled: true, dialPlanId: plan.id } });
    expect(await api.errorCode(company.key, UPDATE, { id: trunk.id, input: { failover: { dialPlanId: null } } })).to.equal('BAD_USER_INPUT');
  });

  it('answers CONFLICT for a SIP username in use, case-insensitively', async () => {
    await create({ sipUsername: 'Shared-User' });
    expect(await api.errorCode(company.key, CREATE, { input: trunkInput(company.id, { sipUsername: 'shared-user' }) })).to.equal('CONFLICT');
  });

  it('answers CONFLICT for a number on another trunk or a dial plan, and writes nothing', async () => {
    await create({ inboundNumbers: ['+442079462222'] });
    const before = await api.dataSource.query('SELECT count(*)::int AS n FROM trunk');
    const result = await api.request(company.key, CREATE, { input: trunkInput(company.id, { inboundNumbers: ['+442079462223', '+44 20 7946 2222'] }) });
    expect(result.errors?.[0].extensions?.code).to.equal('CONFLICT');
    expect(result.errors?.[0].message).to.include('+442079462222');
    expect(await api.dataSource.query('SELECT count(*)::int AS n FROM trunk')).to.deep.equal(before, 'the trunk row was rolled back');
    expect(await api.dataSource.query(`SELECT number FROM did WHERE number = '+442079462223'`)).to.deep.equal([]);

    await api.ok(company.key, CREATE_PLAN, {
      input: { companyId: company.id, name: 'Ext', internalNumber: '999', externalNumber: '+442079463333', flow: forwardFlow() },
    });
    expect(await api.errorCode(company.key, CREATE, { input: trunkInput(company.id, { inboundNumbers: ['+442079463333'] }) })).to.equal('CONFLICT');
  });

  const invalid: { name: string; input: Record<string, unknown> }[] = [
    { name: 'a username too short', input: { sipUsername: 'ab' } },
    { name: 'a username with a space', input: { sipUsername: 'my pbx' } },
    { name: 'a username with @', input: { sipUsername: 'pbx@acme' } },
    { name: 'a password too short', input: { sipPassword: 'short' } },
    { name: 'a password with a control character', input: { sipPassword: 'long enough\u0007pass' } },
    { name: 'a password with a C1 control character', input: { sipPassword: 'long enough\u0085pass' } },
    { name: 'a password over 128 characters', input: { sipPassword: 'p'.repeat(129) } },
    { name: 'a national number', input: { inboundNumbers: ['02079460000'] } },
    { name: 'an impossible number', input: { inboundNumbers: ['+1234'] } },
    { name: 'zero channels', input: { maxConcurrentCalls: 0 } },
    { name: 'over 10000 channels', input: { maxConcurrentCalls: 10001 } },
    { name: 'no digest algorithm', input: { digestAlgorithms: [] } },
    { name: 'a repeated digest algorithm', input: { digestAlgorithms: ['MD5', 'MD5'] } },
    { name: 'a no-1xx timeout of 0', input: { failover: { noProvisionalTimeoutSeconds: 0 } } },
    { name: 'a no-1xx timeout of 61', input: { failover: { noProvisionalTimeoutSeconds: 61 } } },
    { name: 'a 4xx trigger code', input: { failover: { triggerStatusCodes: [486] } } },
    { name: 'a 6xx trigger code', input: { failover: { triggerStatusCodes: [603] } } },
    { name: 'an empty name', input: { name: '' } },
  ];
  for (const row of invalid) {
    it(`refuses ${row.name} with BAD_USER_INPUT and writes nothing`, async () => {
      const before = await api.dataSource.query('SELECT (SELECT count(*) FROM trunk) AS t, (SELECT count(*) FROM did) AS d');
      expect(await api.errorCode(company.key, CREATE, { input: trunkInput(company.id, row.input) })).to.equal('BAD_USER_INPUT');
      expect(await api.dataSource.query('SELECT (SELECT count(*) FROM trunk) AS t, (SELECT count(*) FROM did) AS d')).to.deep.equal(before);
    });
  }

  it('refuses an invalid update and leaves the trunk as it was', async () => {
    const trunk = await create();
    expect(await api.errorCode(company.key, UPDATE, { id: trunk.id, input: { name: 'Renamed', inboundNumbers: ['garbage'] } })).to.equal('BAD_USER_INPUT');
    const { trunk: read } = await api.ok<{ trunk: Trunk }>(company.key, GET, { id: trunk.id });
    expect(read).to.deep.equal(trunk);
  });

  it('shows the newest unexpired registration and the live call count of fresh node reports', async () => {
    const trunk = await create();
    await api.dataSource.query(
      `INSERT INTO registration (trunk_id, contact, source_address, source_port, expires_at, user_agent) VALUES
         ($1, 'sip:pbx@10.0.0.5:5060', '203.0.113.7', 40123, now() + interval '300 seconds', 'Asterisk PBX 20.5'),
         ($1, 'sip:old@10.0.0.5:5060', '203.0.113.7', 40000, now() - interval '1 second', 'Asterisk PBX 20.5')`,
      [trunk.id],
    );
    await api.dataSource.query(
      `INSERT INTO trunk_load (trunk_id, node_id, active_calls, reported_at) VALUES
         ($1, 'node-a', 3, now()), ($1, 'node-b', 2, now()), ($1, 'node-gone', 7, now() - interval '1 minute')`,
      [trunk.id],
    );
    const { trunk: read } = await api.ok<{ trunk: Trunk }>(company.key, GET, { id: trunk.id });
    expect(read.registration).to.deep.include({ contact: 'sip:pbx@10.0.0.5:5060', sourceAddress: '203.0.113.7:40123', userAgent: 'Asterisk PBX 20.5' });
    expect(read.activeCalls).to.equal(5);
  });

  it('deletes a trunk with its numbers and registrations, keeping its call records', async () => {
    const trunk = await create({ inboundNumbers: ['+442079464444'] });
    await api.dataSource.query(
      `INSERT INTO registration (trunk_id, contact, source_address, source_port, expires_at) VALUES ($1, 'sip:x@h', '198.51.100.1', 5060, now() + interval '1 hour')`,
      [trunk.id],
    );
    await api.dataSource.query(
      `INSERT INTO call_record (call_id, company_id, trunk_id, did, dialled, started_at, outcome, worker) VALUES ('c1', $2, $1, '+442079464444', '+442079464444', now(), 'DELIVERED', 'w1')`,
      [trunk.id, company.id],
    );
    await api.ok(company.key, `mutation ($id: ID!) { deleteTrunk(id: $id) }`, { id: trunk.id });
    expect(await api.errorCode(company.key, GET, { id: trunk.id })).to.equal('NOT_FOUND');
    const [counts] = await api.dataSource.query(
      `SELECT (SELECT count(*)::int FROM did WHERE number = '+442079464444') AS dids,
              (SELECT count(*)::int FROM registration WHERE trunk_id = $1) AS registrations,
              (SELECT count(*)::int FROM call_record WHERE call_id = 'c1' AND trunk_id IS NULL) AS calls`,
      [trunk.id],
    );
    expect(counts).to.deep.equal({ dids: 0, registrations: 0, calls: 1 });
  });
});

import { expect } from 'chai';
import { buildApiSchema } from '../../../api/schema';
import { forwardFlow, OPERATOR_KEY, TestApi } from '../../support/api';

/**
 * Company B's key tries every query and mutation on company A's objects. Each must answer as
 * an unknown id would (or FORBIDDEN for operator-only operations), list nothing of A's, and
 * change nothing anywhere in the database.
 */
interface Fixture {
  a: { id: string; key: string; keyId: string; trunkId: string; planId: string; endpointId: string };
  b: { id: string; key: string; trunkId: string; eventId: string };
  carrierId: string;
}

interface Attempt {
  readonly operation: string;
  readonly query: string;
  readonly variables: (f: Fixture) => Record<string, unknown>;
  /** FORBIDDEN for operator-only operations, NOT_FOUND for another company's object, or a check of what came back. */
  readonly expect: 'FORBIDDEN' | 'NOT_FOUND' | ((data: Record<string, unknown>, f: Fixture) => void);
  /** The same operation with an id nobody has: must answer the same way. */
  readonly unknown?: (f: Fixture) => Record<string, unknown>;
}

const UNKNOWN = '00000000-0000-4000-8000-0000000000ff';
const trunkInput = (companyId: string) => ({
  companyId,
  name: 'Intruder',
  sipUsername: 'intruder-pbx',
  sipPassword: 'long enough secret',
  inboundNumbers: ['+442079469999'],
  maxConcurrentCalls: 1,
});
const planInput = (companyId: string) => ({ companyId, name: 'Intruder plan', internalNumber: '666', flow: forwardFlow() });
const nodeIds = (data: Record<string, unknown>, field: string): string[] =>
  ((data[field] as { edges: { node: { id: string } }[] }).edges ?? []).map((edge) => edge.node.id);

const ATTEMPTS: Attempt[] = [
  { operation: 'company', query: `query ($id: ID!) { company(id: $id) { id } }`, variables: (f) => ({ id: f.a.id }), expect: 'NOT_FOUND', unknown: () => ({ id: UNKNOWN }) },
  {
    operation: 'companies',
    query: `{ companies(first: 200) { edges { node { id } } } }`,
    variables: () => ({}),
    expect: (data, f) => expect(nodeIds(data, 'companies')).to.deep.equal([f.b.id]),
  },
  {
    operation: 'apiKeys',
    query: `query ($companyId: ID) { apiKeys(companyId: $companyId) { edges { node { id } } } }`,
    variables: (f) => ({ companyId: f.a.id }),
    expect: 'NOT_FOUND',
    unknown: () => ({ companyId: UNKNOWN }),
  },
  { operation: 'trunk', query: `query ($id: ID!) { trunk(id: $id) { id } }`, variables: (f) => ({ id: f.a.trunkId }), expect: 'NOT_FOUND', unknown: () => ({ id: UNKNOWN }) },
  {
    operation: 'trunks',
    query: `query ($companyId: ID) { trunks(companyId: $companyId) { edges { node { id } } } }`,
    variables: (f) => ({ companyId: f.a.id }),
    expect: 'NOT_FOUND',
    unknown: () => ({ companyId: UNKNOWN }),
  },
  {
    operation: 'trunks',
    query: `{ trunks(first: 200) { edges { node { id } } } }`,
    variables: () => ({}),
    expect: (data, f) => expect(nodeIds(data, 'trunks')).to.deep.equal([f.b.trunkId]),
  },
  {
    operation: 'trunkEvents',
    query: `query ($companyId: ID!) { trunkEvents(companyId: $companyId) { edges { node { id } } } }`,
    variables: (f) => ({ companyId: f.a.id }),
    expect: 'NOT_FOUND',
    unknown: () => ({ companyId: UNKNOWN }),
  },
  {
    operation: 'trunkEvents',
    query: `query ($companyId: ID!, $trunkId: ID) { trunkEvents(companyId: $companyId, trunkId: $trunkId) { edges { node { id } } } }`,
    variables: (f) => ({ companyId: f.b.id, trunkId: f.a.trunkId }),
    expect: 'NOT_FOUND',
    unknown: (f) => ({ companyId: f.b.id, trunkId: UNKNOWN }),
  },
  {
    operation: 'trunkEvents',
    query: `query ($companyId: ID!) { trunkEvents(companyId: $companyId, first: 200) { edges { node { id } } } }`,
    variables: (f) => ({ companyId: f.b.id }),
    expect: (data, f) => expect(nodeIds(data, 'trunkEvents')).to.deep.equal([f.b.eventId]),
  },
  { operation: 'dialPlan', query: `query ($id: ID!) { dialPlan(id: $id) { id } }`, variables: (f) => ({ id: f.a.planId }), expect: 'NOT_FOUND', unknown: () => ({ id: UNKNOWN }) },
  {
    operation: 'dialPlans',
    query: `query ($companyId: ID) { dialPlans(companyId: $companyId) { edges { node { id } } } }`,
    variables: (f) => ({ companyId: f.a.id }),
    expect: 'NOT_FOUND',
    unknown: () => ({ companyId: UNKNOWN }),
  },
  {
    operation: 'dialPlans',
    query: `{ dialPlans(first: 200) { edges { node { id } } } }`,
    variables: () => ({}),
    expect: (data) => expect(nodeIds(data, 'dialPlans')).to.deep.equal([]),
  },
  {
    operation: 'calls',
    query: `query ($trunkId: ID) { calls(filter: { trunkId: $trunkId }) { edges { node { id } } } }`,
    variables: (f) => ({ trunkId: f.a.trunkId }),
    expect: 'NOT_FOUND',
    unknown: () => ({ trunkId: UNKNOWN }),
  },
  {
    operation: 'calls',
    query: `{ calls(first: 200) { edges { node { callId } } } }`,
    variables: () => ({}),
    expect: (data) => expect((data.calls as { edges: unknown[] }).edges).to.deep.equal([]),
  },
  {
    operation: 'simulateCall',
    query: `query ($input: SimulateCallInput!) { simulateCall(input: $input) { decision } }`,
    variables: () => ({ input: { did: '+442079460100', assume: { registered: true } } }),
    expect: 'NOT_FOUND',
    unknown: () => ({ input: { did: '+442079469876', assume: { registered: true } } }),
  },
  { operation: 'carriers', query: `{ carriers { edges { node { id } } } }`, variables: () => ({}), expect: 'FORBIDDEN' },
  { operation: 'outboundGateway', query: `{ outboundGateway { uri } }`, variables: () => ({}), expect: 'FORBIDDEN' },
  { operation: 'webhookAllowedNetworks', query: `{ webhookAllowedNetworks }`, variables: () => ({}), expect: 'FORBIDDEN' },
  { operation: 'maxCallLengthSeconds', query: `{ maxCallLengthSeconds }`, variables: () => ({}), expect: 'FORBIDDEN' },

  {
    operation: 'createCompany',
    query: `mutation { createCompany(input: { name: "Mine", timeZone: "UTC" }) { id } }`,
    variables: () => ({}),
    expect: 'FORBIDDEN',
  },
  {
    operation: 'updateCompany',
    query: `mutation ($id: ID!) { updateCompany(id: $id, input: { name: "Pwned" }) { id } }`,
    variables: (f) => ({ id: f.a.id }),
    expect: 'NOT_FOUND',
    unknown: () => ({ id: UNKNOWN }),
  },
  { operation: 'deleteCompany', query: `mutation ($id: ID!) { deleteCompany(id: $id) }`, variables: (f) => ({ id: f.a.id }), expect: 'NOT_FOUND', unknown: () => ({ id: UNKNOWN }) },
  {
    operation: 'createApiKey',
    query: `mutation ($companyId: ID) { createApiKey(input: { companyId: $companyId, name: "backdoor" }) { secret } }`,
    variables: (f) => ({ companyId: f.a.id }),
    expect: 'NOT_FOUND',
    unknown: () => ({ companyId: UNKNOWN }),
  },
  {
    operation: 'createApiKey',
    query: `mutation { createApiKey(input: { name: "operator backdoor" }) { secret } }`,
    variables: () => ({}),
    expect: 'FORBIDDEN',
  },
  { operation: 'revokeApiKey', query: `mutation ($id: ID!) { revokeApiKey(id: $id) { id } }`, variables: (f) => ({ id: f.a.keyId }), expect: 'NOT_FOUND', unknown: () => ({ id: UNKNOWN }) },
  {
    operation: 'createCarrier',
    query: `mutation { createCarrier(input: { name: "Mine", sourceCidrs: ["0.0.0.0/0"] }) { id } }`,
    variables: () => ({}),
    expect: 'FORBIDDEN',
  },
  {
    operation: 'updateCarrier',
    query: `mutation ($id: ID!) { updateCarrier(id: $id, input: { sourceCidrs: ["0.0.0.0/0"] }) { id } }`,
    variables: (f) => ({ id: f.carrierId }),
    expect: 'FORBIDDEN',
  },
  { operation: 'deleteCarrier', query: `mutation ($id: ID!) { deleteCarrier(id: $id) }`, variables: (f) => ({ id: f.carrierId }), expect: 'FORBIDDEN' },
  { operation: 'setOutboundGateway', query: `mutation { setOutboundGateway(uri: "sip:evil.example") { uri } }`, variables: () => ({}), expect: 'FORBIDDEN' },
  {
    operation: 'createWebhookEndpoint',
    query: `mutation ($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { secret } }`,
    variables: (f) => ({ input: { companyId: f.a.id, url: 'https://hooks.example.com/x', events: ['FAILOVER_STARTED'] } }),
    expect: 'NOT_FOUND',
    unknown: () => ({ input: { companyId: UNKNOWN, url: 'https://hooks.example.com/x', events: ['FAILOVER_STARTED'] } }),
  },
  {
    operation: 'deleteWebhookEndpoint',
    query: `mutation ($id: ID!) { deleteWebhookEndpoint(id: $id) }`,
    variables: (f) => ({ id: f.a.endpointId }),
    expect: 'NOT_FOUND',
    unknown: () => ({ id: UNKNOWN }),
  },
  {
    operation: 'webhookEndpoints',
    query: `query ($companyId: ID!) { webhookEndpoints(companyId: $companyId) { id } }`,
    variables: (f) => ({ companyId: f.a.id }),
    expect: 'NOT_FOUND',
    unknown: () => ({ companyId: UNKNOWN }),
  },
  {
    operation: 'webhookDeliveries',
    query: `query ($id: ID!) { webhookDeliveries(endpointId: $id) { edges { node { id } } } }`,
    variables: (f) => ({ id: f.a.endpointId }),
    expect: 'NOT_FOUND',
    unknown: () => ({ id: UNKNOWN }),
  },
  { operation: 'setWebhookAllowedNetworks', query: `mutation { setWebhookAllowedNetworks(cidrs: ["0.0.0.0/0"]) }`, variables: () => ({}), expect: 'FORBIDDEN' },
  { operation: 'setMaxCallLengthSeconds', query: `mutation { setMaxCallLengthSeconds(seconds: 60) }`, variables: () => ({}), expect: 'FORBIDDEN' },
  {
    operation: 'createTrunk',
    query: `mutation ($input: CreateTrunkInput!) { createTrunk(input: $input) { id } }`,
    variables: (f) => ({ input: trunkInput(f.a.id) }),
    expect: 'NOT_FOUND',
    unknown: () => ({ input: trunkInput(UNKNOWN) }),
  },
  {
    operation: 'updateTrunk',
    query: `mutation ($id: ID!) { updateTrunk(id: $id, input: { maxConcurrentCalls: 1, sipPassword: "attacker password" }) { id } }`,
    variables: (f) => ({ id: f.a.trunkId }),
    expect: 'NOT_FOUND',
    unknown: () => ({ id: UNKNOWN }),
  },
  {
    operation: 'updateTrunk',
    query: `mutation ($id: ID!, $planId: ID) { updateTrunk(id: $id, input: { failover: { enabled: true, dialPlanId: $planId } }) { id } }`,
    variables: (f) => ({ id: f.b.trunkId, planId: f.a.planId }),
    expect: 'NOT_FOUND',
    unknown: (f) => ({ id: f.b.trunkId, planId: UNKNOWN }),
  },
  {
    operation: 'updateTrunk',
    query: `mutation ($id: ID!) { updateTrunk(id: $id, input: { healthCheck: { enabled: false, intervalSeconds: 300 } }) { id } }`,
    variables: (f) => ({ id: f.a.trunkId }),
    expect: 'NOT_FOUND',
    unknown: () => ({ id: UNKNOWN }),
  },
  { operation: 'deleteTrunk', query: `mutation ($id: ID!) { deleteTrunk(id: $id) }`, variables: (f) => ({ id: f.a.trunkId }), expect: 'NOT_FOUND', unknown: () => ({ id: UNKNOWN }) },
  {
    operation: 'createDialPlan',
    query: `mutation ($input: CreateDialPlanInput!) { createDialPlan(input: $input) { id } }`,
    variables: (f) => ({ input: planInput(f.a.id) }),
    expect: 'NOT_FOUND',
    unknown: () => ({ input: planInput(UNKNOWN) }),
  },
  {
    operation: 'updateDialPlan',
    query: `mutation ($id: ID!) { updateDialPlan(id: $id, input: { name: "Pwned" }) { id } }`,
    variables: (f) => ({ id: f.a.planId }),
    expect: 'NOT_FOUND',
    unknown: () => ({ id: UNKNOWN }),
  },
  { operation: 'deleteDialPlan', query: `mutation ($id: ID!) { deleteDialPlan(id: $id) }`, variables: (f) => ({ id: f.a.planId }), expect: 'NOT_FOUND', unknown: () => ({ id: UNKNOWN }) },
];

const TABLES = [
  'company',
  'api_key',
  'carrier',
  'outbound_gateway',
  'webhook_allowed_networks',
  'call_limits',
  'trunk',
  'did',
  'dial_plan',
  'registration',
  'trunk_load',
  'call_record',
  'trunk_health',
  'trunk_event',
  'webhook_endpoint',
  'webhook_delivery',
  'webhook_attempt',
];

describe('tenant isolation: company B against company A', () => {
  let api: TestApi;
  let f: Fixture;

  /** Every row of every table, without the key-use timestamp that B's own requests refresh. */
  async function snapshot(): Promise<string> {
    const parts: unknown[] = [];
    for (const table of TABLES) {
      const rows: Record<string, unknown>[] = await api.dataSource.query(`SELECT * FROM ${table} ORDER BY 1`);
      parts.push(rows.map(({ last_used_at: _lastUsed, ...row }) => row));
    }
    return JSON.stringify(parts);
  }

  before(async () => {
    api = await TestApi.start();
    const a = await api.company('Tenant A');
    const b = await api.company('Tenant B');
    const aTrunk = await api.ok<{ createTrunk: { id: string } }>(a.key, `mutation ($input: CreateTrunkInput!) { createTrunk(input: $input) { id } }`, {
      input: { ...trunkInput(a.id), sipUsername: 'tenant-a', inboundNumbers: ['+442079460100'] },
    });
    const bTrunk = await api.ok<{ createTrunk: { id: string } }>(b.key, `mutation ($input: CreateTrunkInput!) { createTrunk(input: $input) { id } }`, {
      input: { ...trunkInput(b.id), sipUsername: 'tenant-b', inboundNumbers: ['+442079460200'] },
    });
    const aPlan = await api.ok<{ createDialPlan: { id: string } }>(a.key, `mutation ($input: CreateDialPlanInput!) { createDialPlan(input: $input) { id } }`, {
      input: { ...planInput(a.id), internalNumber: '100' },
    });
    const keys = await api.dataSource.query(`SELECT id FROM api_key WHERE company_id = $1`, [a.id]);
    const carrier = await api.ok<{ createCarrier: { id: string } }>(OPERATOR_KEY, `mutation { createCarrier(input: { name: "Carrier", sourceCidrs: ["192.0.2.0/24"] }) { id } }`);
    await api.ok(OPERATOR_KEY, `mutation { setOutboundGateway(uri: "sip:gw.example") { uri } }`);
    await api.ok(OPERATOR_KEY, `mutation { setWebhookAllowedNetworks(cidrs: ["127.0.0.0/8"]) }`);
    await api.ok(OPERATOR_KEY, `mutation { setMaxCallLengthSeconds(seconds: 7200) }`);
    await api.dataSource.query(
      `INSERT INTO call_record (call_id, company_id, trunk_id, did, dialled, started_at, outcome, worker) VALUES ('a-call', $1, $2, '+442079460100', '+442079460100', now(), 'DELIVERED', 'w')`,
      [a.id, aTrunk.createTrunk.id],
    );
    const events: { id: string }[] = await api.dataSource.query(
      `INSERT INTO trunk_event (company_id, trunk_id, type, reason) VALUES ($1, $2, 'FAILOVER_STARTED', 'CALLS_FAILING'), ($3, $4, 'REGISTRATION_LOST', NULL) RETURNING id`,
      [a.id, aTrunk.createTrunk.id, b.id, bTrunk.createTrunk.id],
    );
    const aEndpoint = await api.ok<{ createWebhookEndpoint: { endpoint: { id: string } } }>(
      a.key,
      `mutation ($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { endpoint { id } } }`,
      { input: { companyId: a.id, url: 'https://hooks.example.com/a', events: ['FAILOVER_STARTED'] } },
    );
    f = {
      a: { ...a, keyId: keys[0].id, trunkId: aTrunk.createTrunk.id, planId: aPlan.createDialPlan.id, endpointId: aEndpoint.createWebhookEndpoint.endpoint.id },
      b: { ...b, trunkId: bTrunk.createTrunk.id, eventId: events[1].id },
      carrierId: carrier.createCarrier.id,
    };
  });
  after(async () => {
    await api.stop();
  });

  it('covers every query and mutation of the schema', async () => {
    const schema = await buildApiSchema();
    const operations = [...Object.keys(schema.getQueryType()?.getFields() ?? {}), ...Object.keys(schema.getMutationType()?.getFields() ?? {})];
    expect(operations.filter((name) => !ATTEMPTS.some((attempt) => attempt.operation === name))).to.deep.equal([]);
  });

  for (const attempt of ATTEMPTS) {
    const what = typeof attempt.expect === 'string' ? attempt.expect : 'only its own objects';
    it(`${attempt.operation}: ${what}, nothing changed`, async () => {
      const before = await snapshot();
      const result = await api.request(f.b.key, attempt.query, attempt.variables(f));
      if (typeof attempt.expect === 'function') {
        expect(result.errors, result.text).to.equal(undefined);
        attempt.expect(result.data as Record<string, unknown>, f);
      } else {
        expect(result.errors?.[0].extensions?.code, result.text).to.equal(attempt.expect);
        expect(result.data === null || Object.values(result.data).every((value) => value === null)).to.equal(true);
      }
      if (attempt.unknown !== undefined) {
        const unknown = await api.request(f.b.key, attempt.query, attempt.unknown(f));
        const mask = (text: string) => text.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<id>');
        expect(mask(result.text)).to.equal(mask(unknown.text), "another company's object answers exactly like an unknown id");
      }
      expect(await snapshot()).to.equal(before);
    });
  }
});

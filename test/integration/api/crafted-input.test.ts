import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { getNamedType, isNonNullType, isObjectType, type GraphQLField } from 'graphql';
import { buildApiSchema } from '../../../api/schema';
import { OPERATOR_KEY, TestApi } from '../../support/api';

const cursor = (text: string): string => Buffer.from(text, 'utf8').toString('base64url');

/** Cursors a client can craft: each must be BAD_USER_INPUT, never a failed query. */
const CRAFTED_CURSORS: Record<string, string> = {
  'a 20-digit time': cursor(`99999999999999999999:${randomUUID()}`),
  'a time past bigint': cursor(`9223372036854775808:${randomUUID()}`),
  'the largest bigint (past the timestamp range)': cursor(`9223372036854775807:${randomUUID()}`),
  'a time one microsecond past 9999-12-31': cursor(`253402300800000000:${randomUUID()}`),
  'an id of dashes': cursor(`1:${'-'.repeat(36)}`),
  'an id of hex digits without dashes': cursor(`1:${'a'.repeat(36)}`),
  'an id with a newline after it': cursor(`1:${randomUUID()}\n`),
  'not base64 at all': '!!!',
  'empty text': cursor(''),
};

const ONE_MB_ID = 'x'.repeat(1_000_000);

describe('crafted input gets a short client error', () => {
  let api: TestApi;
  let lists: GraphQLField<unknown, unknown>[];
  let byId: GraphQLField<unknown, unknown>[];
  before(async () => {
    api = await TestApi.start();
    const schema = await buildApiSchema();
    const fields = [...Object.values(schema.getQueryType()?.getFields() ?? {}), ...Object.values(schema.getMutationType()?.getFields() ?? {})];
    lists = fields.filter((field) => field.args.some((arg) => arg.name === 'after'));
    byId = fields.filter((field) => field.args.length === 1 && field.args[0].name === 'id');
  });
  after(async () => {
    await api.stop();
  });

  it('finds the lists and the operations by id', () => {
    expect(lists.map((field) => field.name).sort()).to.include.members(['apiKeys', 'calls', 'carriers', 'companies', 'dialPlans', 'trunkEvents', 'trunks']);
    expect(byId.map((field) => field.name).sort()).to.include.members(['company', 'deleteTrunk', 'dialPlan', 'revokeApiKey', 'trunk']);
  });

  describe('cursors', () => {
    /** Values for the arguments a list cannot be asked without: real objects, so only the cursor is wrong. */
    const required: Record<string, string> = {};
    let companyId: string;
    before(async () => {
      companyId = (await api.company('Crafted')).id;
      const { createWebhookEndpoint } = await api.ok<{ createWebhookEndpoint: { endpoint: { id: string } } }>(
        OPERATOR_KEY,
        `mutation ($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { endpoint { id } } }`,
        { input: { companyId, url: 'https://hooks.example.com/x', events: ['FAILOVER_STARTED'] } },
      );
      required.endpointId = createWebhookEndpoint.endpoint.id;
      required.companyId = companyId;
    });
    after(async () => {
      await api.ok(OPERATOR_KEY, `mutation ($id: ID!) { deleteCompany(id: $id) }`, { id: companyId });
    });

    for (const [name, after] of Object.entries(CRAFTED_CURSORS)) {
      it(`answers a cursor with ${name} with BAD_USER_INPUT in every list`, async () => {
        for (const field of lists) {
          const needed = field.args.filter((arg) => isNonNullType(arg.type) && arg.defaultValue === undefined);
          const declared = needed.map((arg) => `, $${arg.name}: ${arg.type.toString()}`).join('');
          const passed = needed.map((arg) => `, ${arg.name}: $${arg.name}`).join('');
          const values = Object.fromEntries(needed.map((arg) => [arg.name, required[arg.name]]));
          const result = await api.request(OPERATOR_KEY, `query ($after: String${declared}) { ${field.name}(after: $after${passed}) { pageInfo { hasNextPage } } }`, { after, ...values });
          expect(result.errors?.[0].extensions?.code, field.name).to.equal('BAD_USER_INPUT');
          expect(result.errors?.[0].message, field.name).to.equal('after: not a cursor from this list');
        }
      });
    }
  });

  it('still reads the next page from a real cursor, up to the newest time a cursor may hold', async () => {
    for (const name of ['One', 'Two', 'Three']) await api.company(`Cursor ${name}`);
    const page = `query ($after: String) { companies(first: 2, after: $after) { edges { cursor node { name } } pageInfo { endCursor hasNextPage } } }`;
    type Page = { companies: { edges: { node: { name: string } }[]; pageInfo: { endCursor: string; hasNextPage: boolean } } };
    const first = await api.ok<Page>(OPERATOR_KEY, page);
    const second = await api.ok<Page>(OPERATOR_KEY, page, { after: first.companies.pageInfo.endCursor });
    expect([...first.companies.edges, ...second.companies.edges].map((edge) => edge.node.name)).to.deep.equal(['Cursor One', 'Cursor Two', 'Cursor Three']);
    const last = await api.ok<Page>(OPERATOR_KEY, page, { after: cursor(`253402300799999999:${randomUUID()}`) });
    expect(last.companies.edges).to.deep.equal([]);
  });

  it('answers a 1 MB id with a short NOT_FOUND, the id cut to 64 characters', async () => {
    for (const field of byId) {
      const kind = field.name.startsWith('delete') || field.name.startsWith('revoke') ? 'mutation' : 'query';
      const selection = isObjectType(getNamedType(field.type)) ? '{ __typename }' : '';
      const result = await api.request(OPERATOR_KEY, `${kind} ($id: ID!) { ${field.name}(id: $id) ${selection} }`, { id: ONE_MB_ID });
      expect(result.errors?.[0].extensions?.code, field.name).to.equal('NOT_FOUND');
      expect(result.errors?.[0].message, field.name).to.match(new RegExp(`^\\w+ "x{64}…" not found$`));
      expect(result.text.length, field.name).to.be.lessThan(300);
    }
  });

  it('cuts every echoed value: numbers, usernames, URIs, CIDRs, ids, enum values', async () => {
    const company = await api.company('Echo Co');
    const long = 'y'.repeat(1_000_000);
    const attempts: [string, string, Record<string, unknown>][] = [
      [
        'inboundNumbers',
        `mutation ($input: CreateTrunkInput!) { createTrunk(input: $input) { id } }`,
        { input: { companyId: company.id, name: 'T', sipUsername: 'echo-pbx', sipPassword: 'a long enough secret', inboundNumbers: [long], maxConcurrentCalls: 1 } },
      ],
      [
        'sipUsername',
        `mutation ($input: CreateTrunkInput!) { createTrunk(input: $input) { id } }`,
        { input: { companyId: company.id, name: 'T', sipUsername: long, sipPassword: 'a long enough secret', inboundNumbers: [], maxConcurrentCalls: 1 } },
      ],
      ['uri', `mutation ($uri: String) { setOutboundGateway(uri: $uri) { uri } }`, { uri: long }],
      ['sourceCidrs', `mutation ($input: CreateCarrierInput!) { createCarrier(input: $input) { id } }`, { input: { name: 'C', sourceCidrs: [long] } }],
      ['cidrs', `mutation ($cidrs: [String!]!) { setWebhookAllowedNetworks(cidrs: $cidrs) }`, { cidrs: [long] }],
      ['companyId', `mutation ($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }`, { input: { companyId: long, name: 'k' } }],
      [
        'enum value',
        `mutation ($input: CreateTrunkInput!) { createTrunk(input: $input) { id } }`,
        { input: { companyId: company.id, name: 'T', sipUsername: 'echo-pbx', sipPassword: 'a long enough secret', inboundNumbers: [], maxConcurrentCalls: 1, digestAlgorithms: [long] } },
      ],
    ];
    for (const [label, query, variables] of attempts) {
      const result = await api.request(OPERATOR_KEY, query, variables);
      expect(result.errors, label).to.have.length.greaterThan(0);
      expect(result.text.length, label).to.be.lessThan(1000);
      expect(result.text, label).to.include(`${'y'.repeat(64)}…`);
    }
  });
});

import { expect } from 'chai';
import { isInputObjectType, isObjectType } from 'graphql';
import { buildApiSchema } from '../../../api/schema';
import { OPERATOR_KEY, TestApi, TRUNK_FIELDS } from '../../support/api';

const PASSWORD = 'S3cret-Trunk-Passw0rd';
const NEW_PASSWORD = 'An0ther-Secret-Passw0rd';

describe('secrets never leave', () => {
  let api: TestApi;
  before(async () => {
    api = await TestApi.start();
  });
  after(async () => {
    await api.stop();
  });

  it('exposes no password, hash or secret field on any output type but the one-time key and signing secrets', async () => {
    const schema = await buildApiSchema();
    const leaks: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isObjectType(type) || type.name.startsWith('__') || isInputObjectType(type)) continue;
      for (const field of Object.keys(type.getFields())) {
        if (/password|hash|ha1|secret|digest(?!Algorithms)/i.test(field) && !['CreateApiKeyPayload.secret', 'CreateWebhookEndpointPayload.secret'].includes(`${type.name}.${field}`)) {
          leaks.push(`${type.name}.${field}`);
        }
      }
    }
    expect(leaks).to.deep.equal([]);
  });

  it('keeps passwords, digest hashes and key hashes out of every response and log line', async () => {
    const company = await api.company('Secretive Co');
    const create = `mutation ($input: CreateTrunkInput!) { createTrunk(input: $input) { ${TRUNK_FIELDS} } }`;
    const input = { companyId: company.id, name: 'PBX', sipUsername: 'secretive', sipPassword: PASSWORD, inboundNumbers: ['+442079460300'], maxConcurrentCalls: 2 };
    const { createTrunk } = await api.ok<{ createTrunk: { id: string } }>(company.key, create, { input });
    await api.request(company.key, create, { input });
    await api.request(company.key, create, { input: { ...input, sipUsername: 'other', inboundNumbers: ['bad number'] } });
    await api.request(company.key, create, { input: { ...input, sipUsername: 'other', sipPassword: `${PASSWORD}\u0000` } });
    await api.request(company.key, create, { input: { ...input, sipUsername: 'x', sipPassword: 'short' } });
    await api.ok(company.key, `mutation ($id: ID!, $password: String!) { updateTrunk(id: $id, input: { sipPassword: $password }) { ${TRUNK_FIELDS} } }`, {
      id: createTrunk.id,
      password: NEW_PASSWORD,
    });
    await api.ok(company.key, `query ($id: ID!) { trunk(id: $id) { ${TRUNK_FIELDS} } }`, { id: createTrunk.id });
    await api.ok(OPERATOR_KEY, `{ trunks { edges { node { ${TRUNK_FIELDS} } } } apiKeys { edges { node { id name } } } }`);

    const [hashes] = await api.dataSource.query(`SELECT array_agg(ha1_md5) || array_agg(ha1_sha256) AS trunk, (SELECT array_agg(key_hash) FROM api_key) AS keys FROM trunk`);
    const transcript = api.transcript.join('\n');
    expect(api.transcript.length).to.be.greaterThan(8);
    for (const secret of [PASSWORD, NEW_PASSWORD, ...hashes.trunk, ...hashes.keys]) {
      expect(transcript).not.to.include(secret);
    }
    expect(transcript).not.to.include(OPERATOR_KEY);
    expect(transcript.split(company.key)).to.have.length(2, 'the company key appears once: in the answer that created it');
  });
});

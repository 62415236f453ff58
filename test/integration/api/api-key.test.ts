import { expect } from 'chai';
import pino from 'pino';
import { ApiKeyService } from '../../../api/auth/api-key.service';
import { OPERATOR_KEY, TestApi } from '../../support/api';

const CREATE = `mutation ($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret apiKey { id name scope companyId createdAt lastUsedAt revokedAt } } }`;
const REVOKE = `mutation ($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }`;
const WHO = `{ companies(first: 200) { edges { node { id } } } }`;

interface Created {
  createApiKey: { secret: string; apiKey: { id: string; name: string; scope: string; companyId: string | null; lastUsedAt: string | null } };
}

describe('API keys and authentication', () => {
  let api: TestApi;
  before(async () => {
    api = await TestApi.start();
  });
  after(async () => {
    await api.stop();
  });

  it('creates a company key, shows the secret once and stores only its hash', async () => {
    const company = await api.company('Key Co');
    const { createApiKey } = await api.ok<Created>(OPERATOR_KEY, CREATE, { input: { companyId: company.id, name: 'partner' } });
    expect(createApiKey.secret).to.match(/^tfk_[A-Za-z0-9_-]{43}$/);
    expect(createApiKey.apiKey).to.include({ name: 'partner', scope: 'COMPANY', companyId: company.id });
    const rows = await api.dataSource.query('SELECT * FROM api_key WHERE id = $1', [createApiKey.apiKey.id]);
    expect(JSON.stringify(rows)).not.to.include(createApiKey.secret);
    const { apiKeys } = await api.ok<{ apiKeys: { edges: { node: Record<string, unknown> }[] } }>(
      company.key,
      `query ($companyId: ID) { apiKeys(companyId: $companyId) { edges { node { id name scope } } } }`,
      { companyId: company.id },
    );
    expect(apiKeys.edges.map((edge) => edge.node.name)).to.deep.equal(['Key Co panel', 'partner']);
    expect(JSON.stringify(apiKeys)).not.to.include('tfk_');
  });

  it('authenticates a key to its company and records its use', async () => {
    const company = await api.company('Use Co');
    const { companies } = await api.ok<{ companies: { edges: { node: { id: string } }[] } }>(company.key, WHO);
    expect(companies.edges.map((edge) => edge.node.id)).to.deep.equal([company.id]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const [row] = await api.dataSource.query(`SELECT last_used_at FROM api_key WHERE company_id = $1`, [company.id]);
    expect(row.last_used_at).to.be.instanceOf(Date);
  });

  it('lets a company key create and revoke its own keys; a revoked key stops working at once', async () => {
    const company = await api.company('Rotate Co');
    const { createApiKey } = await api.ok<Created>(company.key, CREATE, { input: { companyId: company.id, name: 'new panel' } });
    expect((await api.request(createApiKey.secret, WHO)).status).to.equal(200);
    const { revokeApiKey } = await api.ok<{ revokeApiKey: { revokedAt: string } }>(company.key, REVOKE, { id: createApiKey.apiKey.id });
    expect(revokeApiKey.revokedAt).to.be.a('string');
    const refused = await api.request(createApiKey.secret, WHO);
    expect(refused.status).to.equal(401);
    expect(refused.errors?.[0].extensions?.code).to.equal('UNAUTHENTICATED');
    expect((await api.ok<{ revokeApiKey: { revokedAt: string } }>(company.key, REVOKE, { id: createApiKey.apiKey.id })).revokeApiKey.revokedAt).to.equal(
      revokeApiKey.revokedAt,
      'revoking twice changes nothing',
    );
  });

  it('creates operator keys for operators only', async () => {
    const company = await api.company('Climber Co');
    expect(await api.errorCode(company.key, CREATE, { input: { name: 'escalate' } })).to.equal('FORBIDDEN');
    const { createApiKey } = await api.ok<Created>(OPERATOR_KEY, CREATE, { input: { name: 'noc' } });
    expect(createApiKey.apiKey).to.include({ scope: 'OPERATOR', companyId: null });
    const { companies } = await api.ok<{ companies: { edges: unknown[] } }>(createApiKey.secret, WHO);
    expect(companies.edges.length).to.be.greaterThan(1);
  });

  const refusals: { name: string; header: string | null }[] = [
    { name: 'no Authorization header', header: null },
    { name: 'an unknown key', header: 'Bearer tfk_this-key-does-not-exist-anywhere-000000000' },
    { name: 'a Basic scheme', header: 'Basic dXNlcjpwYXNz' },
    { name: 'an empty bearer', header: 'Bearer ' },
  ];
  for (const row of refusals) {
    it(`answers ${row.name} with 401 UNAUTHENTICATED`, async () => {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (row.header !== null) headers.authorization = row.header;
      const response = await fetch(api.server.url, { method: 'POST', headers, body: JSON.stringify({ query: WHO }) });
      expect(response.status).to.equal(401);
      const body = (await response.json()) as { errors: { extensions: { code: string } }[]; data?: unknown };
      expect(body.errors[0].extensions.code).to.equal('UNAUTHENTICATED');
      expect(body.data).to.equal(undefined);
    });
  }

  it('generates the first operator key once, and never again while one exists', async () => {
    await api.dataSource.query(`UPDATE api_key SET revoked_at = now() WHERE scope = 'OPERATOR'`);
    const service = new ApiKeyService(api.dataSource, pino({ level: 'silent' }), undefined);
    const [first, second] = await Promise.all([service.bootstrapOperatorKey(), service.bootstrapOperatorKey()]);
    const generated = [first, second].filter((secret): secret is string => secret !== null);
    expect(generated).to.have.length(1, 'two processes starting at once make one key');
    expect(await service.bootstrapOperatorKey()).to.equal(null);
    expect((await api.request(generated[0], WHO)).status).to.equal(200);
    const withEnvironmentKey = new ApiKeyService(api.dataSource, pino({ level: 'silent' }), OPERATOR_KEY);
    expect(await withEnvironmentKey.bootstrapOperatorKey()).to.equal(null, 'OPERATOR_API_KEY set: nothing generated');
  });
});

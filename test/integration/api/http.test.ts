import { expect } from 'chai';
import { OPERATOR_KEY, TestApi } from '../../support/api';

describe('the HTTP surface', () => {
  let api: TestApi;
  let base: string;
  before(async () => {
    api = await TestApi.start();
    base = api.server.url.replace(/\/graphql$/, '');
  });
  after(async () => {
    await api.stop();
  });

  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(api.server.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${OPERATOR_KEY}`, ...headers }, body });

  it('answers /healthz when the database answers', async () => {
    const response = await fetch(`${base}/healthz`);
    expect(response.status).to.equal(200);
    expect(await response.text()).to.equal('ok\n');
  });

  it('answers 404 off /graphql', async () => {
    expect((await fetch(`${base}/admin`)).status).to.equal(404);
  });

  it('refuses a body over 1 MiB with 413', async () => {
    const response = await post(JSON.stringify({ query: `{ companies { edges { cursor } } }`, padding: 'x'.repeat(1024 * 1024) }));
    expect(response.status).to.equal(413);
  });

  it('refuses malformed JSON with 400 BAD_REQUEST', async () => {
    const response = await post('{"query": ');
    expect(response.status).to.equal(400);
    const body = (await response.json()) as { errors: { extensions: { code: string } }[] };
    expect(body.errors[0].extensions.code).to.equal('BAD_REQUEST');
  });

  it('answers a query that does not parse with GRAPHQL_PARSE_FAILED', async () => {
    const response = await post(JSON.stringify({ query: '{ companies { ' }));
    const body = (await response.json()) as { errors: { extensions: { code: string } }[] };
    expect(body.errors[0].extensions.code).to.equal('GRAPHQL_PARSE_FAILED');
  });

  it('answers an unknown field with GRAPHQL_VALIDATION_FAILED', async () => {
    const response = await post(JSON.stringify({ query: '{ trunks { edges { node { sipPassword } } } }' }));
    const body = (await response.json()) as { errors: { extensions: { code: string } }[] };
    expect(body.errors[0].extensions.code).to.equal('GRAPHQL_VALIDATION_FAILED');
  });

  it('refuses a GET without a preflight header (CSRF prevention)', async () => {
    const response = await fetch(`${api.server.url}?query=${encodeURIComponent('{ companies { edges { cursor } } }')}`, {
      headers: { authorization: `Bearer ${OPERATOR_KEY}` },
    });
    expect(response.status).to.equal(400);
  });

  it('masks unexpected failures as INTERNAL_SERVER_ERROR without internals', async () => {
    await api.dataSource.query('ALTER TABLE carrier RENAME TO carrier_moved');
    try {
      const response = await post(JSON.stringify({ query: '{ carriers { edges { cursor } } }' }));
      const text = await response.text();
      const body = JSON.parse(text) as { errors: { message: string; extensions: { code: string } }[] };
      expect(body.errors[0]).to.deep.include({ message: 'Internal server error' });
      expect(body.errors[0].extensions).to.deep.equal({ code: 'INTERNAL_SERVER_ERROR' });
      expect(text).not.to.include('carrier_moved').and.not.to.include('relation');
      expect(api.transcript.join('')).to.include('unexpected error in a GraphQL operation');
    } finally {
      await api.dataSource.query('ALTER TABLE carrier_moved RENAME TO carrier');
    }
  });
});

import { expect } from 'chai';
import { OPERATOR_KEY, TestApi } from '../../support/api';

const CREATE = `mutation ($input: CreateCompanyInput!) { createCompany(input: $input) { id name timeZone createdAt updatedAt } }`;
const UPDATE = `mutation ($id: ID!, $input: UpdateCompanyInput!) { updateCompany(id: $id, input: $input) { id name timeZone } }`;
const GET = `query ($id: ID!) { company(id: $id) { id name timeZone } }`;
const LIST = `query ($first: Int!, $after: String) {
  companies(first: $first, after: $after) { edges { cursor node { id name } } pageInfo { hasNextPage endCursor } } }`;

interface CompanyPage {
  companies: { edges: { cursor: string; node: { id: string; name: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
}

describe('companies', () => {
  let api: TestApi;
  before(async () => {
    api = await TestApi.start();
  });
  after(async () => {
    await api.stop();
  });

  it('creates, reads, updates and deletes a company', async () => {
    const { createCompany } = await api.ok<{ createCompany: { id: string; name: string; timeZone: string } }>(OPERATOR_KEY, CREATE, {
      input: { name: '  Acme GmbH ', timeZone: 'Europe/Berlin' },
    });
    expect(createCompany).to.include({ name: 'Acme GmbH', timeZone: 'Europe/Berlin' });
    const { company } = await api.ok<{ company: { name: string } }>(OPERATOR_KEY, GET, { id: createCompany.id });
    expect(company.name).to.equal('Acme GmbH');

    const { updateCompany } = await api.ok<{ updateCompany: { name: string; timeZone: string } }>(OPERATOR_KEY, UPDATE, {
      id: createCompany.id,
      input: { timeZone: 'America/New_York' },
    });
    expect(updateCompany).to.include({ name: 'Acme GmbH', timeZone: 'America/New_York' }, 'a field left out keeps its value');

    const deleted = await api.ok<{ deleteCompany: string }>(OPERATOR_KEY, `mutation ($id: ID!) { deleteCompany(id: $id) }`, { id: createCompany.id });
    expect(deleted.deleteCompany).to.equal(createCompany.id);
    expect(await api.errorCode(OPERATOR_KEY, GET, { id: createCompany.id })).to.equal('NOT_FOUND');
  });

  const invalid: { name: string; input: Record<string, unknown> }[] = [
    { name: 'an empty name', input: { name: '', timeZone: 'Europe/Berlin' } },
    { name: 'a blank name', input: { name: '   ', timeZone: 'Europe/Berlin' } },
    { name: 'a name over 200 characters', input: { name: 'x'.repeat(201), timeZone: 'Europe/Berlin' } },
    { name: 'an unknown time zone', input: { name: 'A', timeZone: 'Mars/Olympus_Mons' } },
    { name: 'a UTC offset instead of a zone', input: { name: 'A', timeZone: '+02:00' } },
    { name: 'an empty time zone', input: { name: 'A', timeZone: '' } },
  ];
  for (const row of invalid) {
    it(`refuses ${row.name} with BAD_USER_INPUT and writes nothing`, async () => {
      const before = await api.dataSource.query('SELECT count(*)::int AS n FROM company');
      expect(await api.errorCode(OPERATOR_KEY, CREATE, { input: row.input })).to.equal('BAD_USER_INPUT');
      expect(await api.dataSource.query('SELECT count(*)::int AS n FROM company')).to.deep.equal(before);
    });
  }

  it('refuses an invalid update and keeps the row', async () => {
    const { id } = await api.company('Keep Me');
    expect(await api.errorCode(OPERATOR_KEY, UPDATE, { id, input: { name: 'New', timeZone: 'Nowhere/Land' } })).to.equal('BAD_USER_INPUT');
    const { company } = await api.ok<{ company: { name: string } }>(OPERATOR_KEY, GET, { id });
    expect(company.name).to.equal('Keep Me');
  });

  it('answers NOT_FOUND for unknown and malformed ids', async () => {
    expect(await api.errorCode(OPERATOR_KEY, GET, { id: '00000000-0000-4000-8000-000000000000' })).to.equal('NOT_FOUND');
    expect(await api.errorCode(OPERATOR_KEY, GET, { id: 'not-a-uuid' })).to.equal('NOT_FOUND');
    expect(await api.errorCode(OPERATOR_KEY, UPDATE, { id: 'not-a-uuid', input: { name: 'x' } })).to.equal('NOT_FOUND');
  });

  it('pages through companies with cursors, in creation order, without gaps or repeats', async () => {
    const created: string[] = [];
    for (let i = 0; i < 7; i++) created.push((await api.company(`Paged ${i}`)).id);
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const page: CompanyPage = await api.ok<CompanyPage>(OPERATOR_KEY, LIST, { first: 3, after });
      seen.push(...page.companies.edges.map((edge) => edge.node.id));
      pages++;
      if (!page.companies.pageInfo.hasNextPage) break;
      after = page.companies.pageInfo.endCursor;
    }
    expect(seen.filter((id) => created.includes(id))).to.deep.equal(created);
    expect(new Set(seen).size).to.equal(seen.length);
    expect(pages).to.be.greaterThan(2);
  });

  it('refuses page sizes outside 1..200 and foreign cursors', async () => {
    expect(await api.errorCode(OPERATOR_KEY, LIST, { first: 0 })).to.equal('BAD_USER_INPUT');
    expect(await api.errorCode(OPERATOR_KEY, LIST, { first: 201 })).to.equal('BAD_USER_INPUT');
    expect(await api.errorCode(OPERATOR_KEY, LIST, { first: 5, after: 'garbage' })).to.equal('BAD_USER_INPUT');
  });

  it('shows a company key only its own company, and lets it rename but not delete it', async () => {
    const a = await api.company('Tenant A');
    const page = await api.ok<CompanyPage>(a.key, LIST, { first: 200 });
    expect(page.companies.edges.map((edge) => edge.node.id)).to.deep.equal([a.id]);
    await api.ok(a.key, UPDATE, { id: a.id, input: { name: 'Tenant A2' } });
    expect(await api.errorCode(a.key, `mutation ($id: ID!) { deleteCompany(id: $id) }`, { id: a.id })).to.equal('FORBIDDEN');
    expect(await api.errorCode(a.key, CREATE, { input: { name: 'Sneaky', timeZone: 'UTC' } })).to.equal('FORBIDDEN');
  });

  it('deletes everything a company owns with it', async () => {
    const a = await api.company('Doomed');
    await api.ok(a.key, `mutation ($input: CreateTrunkInput!) { createTrunk(input: $input) { id } }`, {
      input: { companyId: a.id, name: 'T', sipUsername: 'doomed-pbx', sipPassword: 'correct horse battery', inboundNumbers: ['+4930901820'], maxConcurrentCalls: 2 },
    });
    await api.ok(OPERATOR_KEY, `mutation ($id: ID!) { deleteCompany(id: $id) }`, { id: a.id });
    const [{ trunks, dids, keys }] = await api.dataSource.query(
      `SELECT (SELECT count(*)::int FROM trunk WHERE company_id = $1) AS trunks,
              (SELECT count(*)::int FROM did WHERE number = '+4930901820') AS dids,
              (SELECT count(*)::int FROM api_key WHERE company_id = $1) AS keys`,
      [a.id],
    );
    expect({ trunks, dids, keys }).to.deep.equal({ trunks: 0, dids: 0, keys: 0 });
    expect((await api.request(a.key, `{ companies { edges { cursor } } }`)).status).to.equal(401, 'its keys die with it');
  });
});

import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { getIntrospectionQuery, Lexer, Source, TokenKind } from 'graphql';
import { QUERY_LIMITS } from '../../../api/query-limits';
import { forwardFlow, OPERATOR_KEY, TestApi, TRUNK_FIELDS, type GraphqlResult } from '../../support/api';
import { NESTED_ALIASES_QUERY, REPEATED_FIELDS_QUERY } from '../../support/costly-queries';

interface Refusal {
  code: string;
  measure: string;
  figure: number;
  limit: number;
}

function tokens(query: string): number {
  const lexer = new Lexer(new Source(query));
  let count = 0;
  while (lexer.advance().kind !== TokenKind.EOF) count++;
  return count;
}

describe('GraphQL query limits', () => {
  let api: TestApi;
  /** A company with one trunk failing over to a dial plan: what the nested aliases multiply. */
  let bombed: string;

  async function trunks(companyId: string, count: number, serial: number): Promise<void> {
    const plan = await api.ok<{ createDialPlan: { id: string } }>(
      OPERATOR_KEY,
      `mutation ($input: CreateDialPlanInput!) { createDialPlan(input: $input) { id } }`,
      { input: { companyId, name: 'Failover', internalNumber: '800', flow: forwardFlow() } },
    );
    for (let first = 0; first < count; first += 10) {
      await Promise.all(
        Array.from({ length: Math.min(10, count - first) }, (_, index) =>
          api.ok(OPERATOR_KEY, `mutation ($input: CreateTrunkInput!) { createTrunk(input: $input) { id } }`, {
            input: {
              companyId,
              name: `PBX ${first + index}`,
              sipUsername: `limits-${serial + first + index}`,
              sipPassword: 'correct horse battery',
              inboundNumbers: [`+44207946${serial + first + index}`],
              maxConcurrentCalls: 10,
              failover: { enabled: true, dialPlanId: plan.createDialPlan.id },
            },
          }),
        ),
      );
    }
  }

  before(async function () {
    this.timeout(60_000);
    api = await TestApi.start();
    await trunks((await api.company('Limits Co')).id, 100, 2000);
    bombed = (await api.company('Bombed Co')).id;
    await trunks(bombed, 1, 3000);
  });
  after(async () => {
    await api.stop();
  });

  function refusal(result: GraphqlResult): Refusal {
    expect(result.errors, result.text.slice(0, 500)).to.have.length(1);
    expect(result.data).to.equal(null);
    expect(result.status).to.equal(400);
    return result.errors?.[0].extensions as Refusal;
  }

  /** Sends `query` and gives the answer and the time it took. */
  async function timed(query: string, variables: Record<string, unknown> = {}): Promise<{ result: GraphqlResult; ms: number }> {
    const began = process.hrtime.bigint();
    const result = await api.request(OPERATOR_KEY, query, variables);
    return { result, ms: Number(process.hrtime.bigint() - began) / 1e6 };
  }

  describe('the costly queries', () => {
    it('refuses the 24 KB query of 8,000 repeated fields before validation', async function () {
      expect(REPEATED_FIELDS_QUERY.length).to.be.within(24_000, 24_100);
      const { result, ms } = await timed(REPEATED_FIELDS_QUERY);
      this.test!.title += ` (refused in ${ms.toFixed(1)} ms)`;
      expect(refusal(result)).to.deep.equal({ code: 'QUERY_TOO_COMPLEX', measure: 'fields', figure: 8003, limit: QUERY_LIMITS.fields });
      expect(result.errors?.[0].message).to.equal(`query too complex: fields 8003 over the limit of ${QUERY_LIMITS.fields}`);
    });

    it('refuses 1.3 KB of aliases nested through fragments before execution', async function () {
      expect(NESTED_ALIASES_QUERY.length).to.be.within(1200, 1400);
      const { result, ms } = await timed(NESTED_ALIASES_QUERY, { companyId: bombed });
      this.test!.title += ` (refused in ${ms.toFixed(1)} ms)`;
      const refused = refusal(result);
      expect(refused).to.include({ code: 'QUERY_TOO_COMPLEX', measure: 'aliases', limit: QUERY_LIMITS.aliases });
      // Four aliases at each of eight levels: 4 + 4^2 + ... + 4^8.
      expect(refused.figure).to.equal(87_380);
    });

    it('refuses persisted queries: a hash alone would bring variables the limits never saw', async () => {
      const post = async (query: string | undefined) => {
        const sha256Hash = createHash('sha256').update(query ?? '{ __typename }').digest('hex');
        const response = await fetch(api.server.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${OPERATOR_KEY}` },
          body: JSON.stringify({ query, extensions: { persistedQuery: { version: 1, sha256Hash } } }),
        });
        return ((await response.json()) as { errors: { extensions: { code: string } }[] }).errors[0].extensions.code;
      };
      expect(await post(REPEATED_FIELDS_QUERY)).to.equal('QUERY_TOO_COMPLEX');
      expect(await post('{ __typename }')).to.equal('PERSISTED_QUERY_NOT_SUPPORTED');
      expect(await post(undefined)).to.equal('PERSISTED_QUERY_NOT_SUPPORTED');
    });

    it('checks every operation of a batch, and Apollo still refuses batches', async () => {
      const batch = (queries: string[]) =>
        fetch(api.server.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${OPERATOR_KEY}` },
          body: JSON.stringify(queries.map((query) => ({ query }))),
        });
      const costly = await batch(['{ __typename }', REPEATED_FIELDS_QUERY]);
      expect(costly.status).to.equal(400);
      expect(((await costly.json()) as { errors: { extensions: { code: string } }[] }).errors[0].extensions.code).to.equal('QUERY_TOO_COMPLEX');
      const small = await batch(['{ __typename }', '{ __typename }']);
      expect(small.status).to.equal(400);
      expect(await small.text()).to.include('batch');
    });

    it('refuses a costly GET query', async () => {
      const search = new URLSearchParams({ query: NESTED_ALIASES_QUERY, variables: JSON.stringify({ companyId: bombed }) });
      const response = await fetch(`${api.server.url}?${search}`, { headers: { authorization: `Bearer ${OPERATOR_KEY}`, 'apollo-require-preflight': 'true' } });
      expect(response.status).to.equal(400);
      expect(((await response.json()) as { errors: { extensions: { code: string } }[] }).errors[0].extensions.code).to.equal('QUERY_TOO_COMPLEX');
    });

    it('refuses before authentication', async () => {
      expect(await api.errorCode(null, REPEATED_FIELDS_QUERY)).to.equal('QUERY_TOO_COMPLEX');
    });
  });

  describe('each limit, at it and one past it', () => {
    it('tokens', async () => {
      // Inline CIDRs add tokens and nothing else; at the limit the request gets past the limits to
      // input validation (over 100 CIDRs).
      const query = (cidrs: number) =>
        `mutation { createCarrier(input: { name: "pad", sourceCidrs: [${Array.from({ length: cidrs }, () => '"10.0.0.1"').join(' ')}] }) { id } }`;
      const overhead = tokens(query(0));
      const at = query(QUERY_LIMITS.tokens - overhead);
      expect(tokens(at)).to.equal(QUERY_LIMITS.tokens);
      expect(await api.errorCode(OPERATOR_KEY, at)).to.equal('BAD_USER_INPUT');
      const past = await api.request(OPERATOR_KEY, query(QUERY_LIMITS.tokens - overhead + 1));
      expect(refusal(past)).to.deep.equal({ code: 'QUERY_TOO_COMPLEX', measure: 'tokens', figure: QUERY_LIMITS.tokens + 1, limit: QUERY_LIMITS.tokens });
    });

    it('depth', async () => {
      // `__schema types fields type` and the leaf `name` are 5 levels; each `ofType` one more.
      const query = (depth: number) => `{ __schema { types { fields { type { ${'ofType { '.repeat(depth - 5)}name${' }'.repeat(depth - 5)} } } } } }`;
      const at = await api.request(OPERATOR_KEY, query(QUERY_LIMITS.depth));
      expect(at.errors).to.equal(undefined);
      const past = await api.request(OPERATOR_KEY, query(QUERY_LIMITS.depth + 1));
      expect(refusal(past)).to.deep.equal({ code: 'QUERY_TOO_COMPLEX', measure: 'depth', figure: QUERY_LIMITS.depth + 1, limit: QUERY_LIMITS.depth });
    });

    it('aliases', async () => {
      const query = (aliases: number) => `{ ${Array.from({ length: aliases }, (_, index) => `a${index}: __typename`).join(' ')} }`;
      const at = await api.request<Record<string, string>>(OPERATOR_KEY, query(QUERY_LIMITS.aliases));
      expect(Object.keys(at.data ?? {})).to.have.length(QUERY_LIMITS.aliases);
      const past = await api.request(OPERATOR_KEY, query(QUERY_LIMITS.aliases + 1));
      expect(refusal(past)).to.deep.equal({ code: 'QUERY_TOO_COMPLEX', measure: 'aliases', figure: QUERY_LIMITS.aliases + 1, limit: QUERY_LIMITS.aliases });
    });

    it('fields', async () => {
      const query = (fields: number) => `{ ${'__typename '.repeat(fields)}}`;
      const at = await api.request(OPERATOR_KEY, query(QUERY_LIMITS.fields));
      expect(at.data).to.deep.equal({ __typename: 'Query' });
      const past = await api.request(OPERATOR_KEY, query(QUERY_LIMITS.fields + 1));
      expect(refusal(past)).to.deep.equal({ code: 'QUERY_TOO_COMPLEX', measure: 'fields', figure: QUERY_LIMITS.fields + 1, limit: QUERY_LIMITS.fields });
    });

    it('cost, with the page size from a variable', async () => {
      // companies costs 1 + first x (edges 1 + node 1 + 98 ids); each __typename 1.
      const query = (typenames: number) => `query ($first: Int!) { companies(first: $first) { edges { node { ${'id '.repeat(98)}} } } ${'__typename '.repeat(typenames)}}`;
      const limit = QUERY_LIMITS.cost;
      const typenames = limit - 1 - 199 * 100;
      const at = await api.request(OPERATOR_KEY, query(typenames), { first: 199 });
      expect(at.errors).to.equal(undefined);
      const past = await api.request(OPERATOR_KEY, query(typenames + 1), { first: 199 });
      expect(refusal(past)).to.deep.equal({ code: 'QUERY_TOO_COMPLEX', measure: 'cost', figure: limit + 1, limit });
    });
  });

  describe('the queries clients send', () => {
    it('accepts every field of 100 trunks', async () => {
      const { trunks } = await api.ok<{ trunks: { edges: unknown[] } }>(OPERATOR_KEY, `{ trunks(first: 100) { edges { cursor node { ${TRUNK_FIELDS} } } pageInfo { hasNextPage endCursor } } }`);
      expect(trunks.edges).to.have.length(100);
    });

    it('accepts the standard introspection query', async () => {
      const result = await api.request(OPERATOR_KEY, getIntrospectionQuery());
      expect(result.errors).to.equal(undefined);
    });

    it('keeps an out-of-range page size a BAD_USER_INPUT', async () => {
      expect(await api.errorCode(OPERATOR_KEY, `{ trunks(first: 100000) { edges { cursor } } }`)).to.equal('BAD_USER_INPUT');
    });
  });
});

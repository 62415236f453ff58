import { expect } from 'chai';
import { OPERATOR_KEY, TestApi } from '../../support/api';

const EVENTS = `query ($companyId: ID!, $trunkId: ID, $first: Int!, $after: String) {
  trunkEvents(companyId: $companyId, trunkId: $trunkId, first: $first, after: $after) {
    edges { cursor node { id trunkId companyId type reason at } } pageInfo { hasNextPage endCursor } } }`;

interface Event {
  id: string;
  trunkId: string;
  companyId: string;
  type: string;
  reason: string | null;
  at: string;
}

interface EventsPage {
  trunkEvents: { edges: { cursor: string; node: Event }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
}

const TYPES = ['FAILOVER_STARTED', 'REGISTRATION_LOST', 'REGISTRATION_RESTORED', 'FAILOVER_ENDED'];

describe('trunk events', () => {
  let api: TestApi;
  let a: { id: string; key: string };
  let b: { id: string; key: string };
  let trunkA1: string;
  let trunkA2: string;
  let trunkB: string;
  /** A's events in the order they were inserted: [trunk, id]. */
  const inserted: { trunkId: string; id: string }[] = [];

  async function trunk(company: { id: string; key: string }, username: string, number: string): Promise<string> {
    const { createTrunk } = await api.ok<{ createTrunk: { id: string } }>(company.key, `mutation ($input: CreateTrunkInput!) { createTrunk(input: $input) { id } }`, {
      input: { companyId: company.id, name: username, sipUsername: username, sipPassword: 'long enough secret', inboundNumbers: [number], maxConcurrentCalls: 5 },
    });
    return createTrunk.id;
  }

  async function insertEvent(companyId: string, trunkId: string, type: string, at: Date): Promise<string> {
    const reason = type === 'FAILOVER_STARTED' ? 'PROBES_FAILING' : null;
    const [row] = await api.dataSource.query(`INSERT INTO trunk_event (company_id, trunk_id, type, reason, at) VALUES ($1, $2, $3, $4, $5) RETURNING id`, [
      companyId,
      trunkId,
      type,
      reason,
      at,
    ]);
    return row.id;
  }

  before(async () => {
    api = await TestApi.start();
    a = await api.company('Events A');
    b = await api.company('Events B');
    trunkA1 = await trunk(a, 'events-a1', '+442079468001');
    trunkA2 = await trunk(a, 'events-a2', '+442079468002');
    trunkB = await trunk(b, 'events-b', '+442079468003');
    // `at` runs backwards, so an order by time would show; ids are the order events happened in.
    for (let i = 0; i < 8; i++) {
      const trunkId = i % 2 === 0 ? trunkA1 : trunkA2;
      inserted.push({ trunkId, id: await insertEvent(a.id, trunkId, TYPES[i % 4], new Date(Date.UTC(2026, 10, 1, 12, 0, 59 - i))) });
      if (i === 3) await insertEvent(b.id, trunkB, 'REGISTRATION_LOST', new Date(Date.UTC(2026, 10, 1, 12)));
    }
  });
  after(async () => {
    await api.stop();
  });

  async function list(key: string, variables: Record<string, unknown>): Promise<EventsPage['trunkEvents']> {
    return (await api.ok<EventsPage>(key, EVENTS, { companyId: a.id, first: 50, ...variables })).trunkEvents;
  }

  it("lists a company's events oldest first, in id order, with every field", async () => {
    const page = await list(a.key, {});
    expect(page.edges.map((edge) => edge.node.id)).to.deep.equal(inserted.map((event) => event.id));
    expect(page.pageInfo).to.deep.equal({ hasNextPage: false, endCursor: inserted[7].id });
    expect(page.edges[0].node).to.deep.equal({
      id: inserted[0].id,
      trunkId: trunkA1,
      companyId: a.id,
      type: 'FAILOVER_STARTED',
      reason: 'PROBES_FAILING',
      at: '2026-11-01T12:00:59.000Z',
    });
    expect(page.edges[1].node).to.deep.include({ trunkId: trunkA2, type: 'REGISTRATION_LOST', reason: null });
  });

  it('makes the cursor of an event its id', async () => {
    const page = await list(a.key, {});
    expect(page.edges.every((edge) => edge.cursor === edge.node.id)).to.equal(true);
  });

  it('pages with first and after, each page continuing strictly after the last', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const page = await list(a.key, { first: 3, after });
      pages++;
      seen.push(...page.edges.map((edge) => edge.node.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(pages).to.equal(3);
    expect(seen).to.deep.equal(inserted.map((event) => event.id));
  });

  it('resumes after a saved event id, seeing the events that came since and nothing twice', async () => {
    const saved = inserted[4].id;
    const later = await insertEvent(a.id, trunkA1, 'FAILOVER_ENDED', new Date(Date.UTC(2026, 10, 1, 11)));
    try {
      const page = await list(a.key, { after: saved });
      expect(page.edges.map((edge) => edge.node.id)).to.deep.equal([...inserted.slice(5).map((event) => event.id), later]);
      expect((await list(a.key, { after: later })).edges).to.deep.equal([]);
      expect((await list(a.key, { after: '9223372036854775807' })).edges).to.deep.equal([]);
      expect((await list(a.key, { after: '0' })).edges).to.have.length(9);
    } finally {
      await api.dataSource.query(`DELETE FROM trunk_event WHERE id = $1`, [later]);
    }
  });

  it('filters by trunk', async () => {
    const page = await list(a.key, { trunkId: trunkA2, first: 2, after: inserted[1].id });
    expect(page.edges.map((edge) => edge.node.id)).to.deep.equal([inserted[3].id, inserted[5].id]);
    expect(page.pageInfo.hasNextPage).to.equal(true);
  });

  it('refuses a cursor that is not an event id, and page sizes out of bounds', async () => {
    for (const after of ['abc', '-1', '1.5', '9223372036854775808', '12345678901234567890', ' 1']) {
      expect(await api.errorCode(a.key, EVENTS, { companyId: a.id, first: 5, after }), after).to.equal('BAD_USER_INPUT');
    }
    expect(await api.errorCode(a.key, EVENTS, { companyId: a.id, first: 0 })).to.equal('BAD_USER_INPUT');
    expect(await api.errorCode(a.key, EVENTS, { companyId: a.id, first: 201 })).to.equal('BAD_USER_INPUT');
  });

  it("keeps companies apart: another company's companyId or trunk is NOT_FOUND; operators see every company", async () => {
    expect(await api.errorCode(b.key, EVENTS, { companyId: a.id, first: 50 })).to.equal('NOT_FOUND');
    expect(await api.errorCode(b.key, EVENTS, { companyId: b.id, trunkId: trunkA1, first: 50 })).to.equal('NOT_FOUND');
    expect(await api.errorCode(a.key, EVENTS, { companyId: a.id, trunkId: trunkB, first: 50 })).to.equal('NOT_FOUND');
    expect(await api.errorCode(a.key, EVENTS, { companyId: a.id, trunkId: 'not-an-id', first: 50 })).to.equal('NOT_FOUND');
    const own = await list(b.key, { companyId: b.id });
    expect(own.edges.map((edge) => edge.node.trunkId)).to.deep.equal([trunkB]);
    expect((await list(OPERATOR_KEY, {})).edges).to.have.length(8);
    expect((await list(OPERATOR_KEY, { companyId: b.id, trunkId: trunkB })).edges).to.have.length(1);
    expect(await api.errorCode(OPERATOR_KEY, EVENTS, { companyId: b.id, trunkId: trunkA1, first: 50 })).to.equal('NOT_FOUND');
  });

  it("goes with the trunk: a deleted trunk's events are gone and its id is NOT_FOUND", async () => {
    const gone = await trunk(a, 'events-gone', '+442079468004');
    await insertEvent(a.id, gone, 'REGISTRATION_LOST', new Date());
    await api.ok(a.key, `mutation ($id: ID!) { deleteTrunk(id: $id) }`, { id: gone });
    expect(await api.errorCode(a.key, EVENTS, { companyId: a.id, trunkId: gone, first: 50 })).to.equal('NOT_FOUND');
    expect((await list(a.key, {})).edges).to.have.length(8);
  });
});

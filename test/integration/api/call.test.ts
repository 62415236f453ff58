import { expect } from 'chai';
import { OPERATOR_KEY, TestApi } from '../../support/api';

const CALLS = `query ($filter: CallFilterInput, $first: Int!, $after: String) {
  calls(filter: $filter, first: $first, after: $after) {
    edges { node { callId trunk { id name } did dialled caller startedAt endedAt outcome failoverReason finalStatus worker
      attempts { target status startedAt firstResponseAt endedAt } steps { dialPlanId stepId app exit at } } }
    pageInfo { hasNextPage endCursor } } }`;

interface CallsPage {
  calls: {
    edges: { node: { callId: string; trunk: { id: string } | null; did: string | null; dialled: string; outcome: string; failoverReason: string | null; attempts: Record<string, unknown>[]; steps: Record<string, unknown>[] } }[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
}

const STEPS = [
  { dialPlanId: '0b5c2f0e-8d3a-4f3e-9a43-5d1e6f7a8b9c', stepId: 'mobile', app: 'FORWARD', exit: 'noAnswer', at: '2026-11-01T10:00:00.045Z' },
  { dialPlanId: '0b5c2f0e-8d3a-4f3e-9a43-5d1e6f7a8b9c', stepId: 'busy', app: 'HANGUP', exit: null, at: '2026-11-01T10:00:05.000Z' },
];

describe('call records', () => {
  let api: TestApi;
  let a: { id: string; key: string };
  let b: { id: string; key: string };
  let trunkA: string;

  before(async () => {
    api = await TestApi.start();
    a = await api.company('Calls A');
    b = await api.company('Calls B');
    trunkA = (
      await api.ok<{ createTrunk: { id: string } }>(a.key, `mutation ($input: CreateTrunkInput!) { createTrunk(input: $input) { id } }`, {
        input: { companyId: a.id, name: 'A PBX', sipUsername: 'calls-a', sipPassword: 'long enough secret', inboundNumbers: ['+442079467000'], maxConcurrentCalls: 5 },
      })
    ).createTrunk.id;
    const attempt = JSON.stringify([
      { target: 'sip:pbx@203.0.113.7:5060', status: 503, startedAt: '2026-11-01T10:00:00.000Z', firstResponseAt: '2026-11-01T10:00:00.040Z', endedAt: '2026-11-01T10:00:00.041Z' },
      { target: '+442079460000', status: 200, startedAt: '2026-11-01T10:00:00.050Z', firstResponseAt: null, endedAt: '2026-11-01T10:00:05.000Z' },
    ]);
    const steps = JSON.stringify(STEPS);
    for (let i = 0; i < 5; i++) {
      await api.dataSource.query(
        `INSERT INTO call_record (call_id, company_id, trunk_id, did, dialled, caller, started_at, ended_at, outcome, failover_reason, final_status, attempts, worker, steps)
         VALUES ($1, $2, $3, '+442079467000', '00442079467000', '+4930901820', $4, $4, $5, $6, 200, $7, 'node-1/w0', $8)`,
        [`a-${i}`, a.id, trunkA, new Date(Date.UTC(2026, 10, 1, 10, 0, i)), i % 2 === 0 ? 'FAILED_OVER' : 'DELIVERED', i % 2 === 0 ? 'PBX_SERVER_ERROR' : null, attempt, i % 2 === 0 ? steps : '[]'],
      );
    }
    await api.dataSource.query(
      `INSERT INTO call_record (call_id, company_id, trunk_id, did, dialled, started_at, outcome, worker) VALUES ('b-0', $1, NULL, NULL, 'not-a-number', now(), 'REJECTED', 'node-1/w1')`,
      [b.id],
    );
  });
  after(async () => {
    await api.stop();
  });

  it('lists a company calls newest first with attempts and failover reasons', async () => {
    const page = await api.ok<CallsPage>(a.key, CALLS, { first: 50 });
    expect(page.calls.edges.map((edge) => edge.node.callId)).to.deep.equal(['a-4', 'a-3', 'a-2', 'a-1', 'a-0']);
    const newest = page.calls.edges[0].node;
    expect(newest).to.deep.include({ did: '+442079467000', dialled: '00442079467000', outcome: 'FAILED_OVER', failoverReason: 'PBX_SERVER_ERROR', trunk: { id: trunkA, name: 'A PBX' } });
    expect(newest.attempts[0]).to.deep.equal({
      target: 'sip:pbx@203.0.113.7:5060',
      status: 503,
      startedAt: '2026-11-01T10:00:00.000Z',
      firstResponseAt: '2026-11-01T10:00:00.040Z',
      endedAt: '2026-11-01T10:00:00.041Z',
    });
  });

  it('lists the dial plan steps each call took, in order; none for a call that ran no plan', async () => {
    const page = await api.ok<CallsPage>(a.key, CALLS, { first: 50 });
    const byCallId = new Map(page.calls.edges.map((edge) => [edge.node.callId, edge.node]));
    expect(byCallId.get('a-4')?.steps).to.deep.equal(STEPS);
    expect(byCallId.get('a-3')?.steps).to.deep.equal([]);
  });

  it('filters by outcome and trunk, and pages', async () => {
    const failed = await api.ok<CallsPage>(a.key, CALLS, { first: 50, filter: { outcome: 'FAILED_OVER', trunkId: trunkA } });
    expect(failed.calls.edges.map((edge) => edge.node.callId)).to.deep.equal(['a-4', 'a-2', 'a-0']);
    const first = await api.ok<CallsPage>(a.key, CALLS, { first: 2 });
    const second = await api.ok<CallsPage>(a.key, CALLS, { first: 2, after: first.calls.pageInfo.endCursor });
    expect(second.calls.edges.map((edge) => edge.node.callId)).to.deep.equal(['a-2', 'a-1']);
  });

  it('keeps companies apart; operators see all', async () => {
    const bPage = await api.ok<CallsPage>(b.key, CALLS, { first: 50 });
    expect(bPage.calls.edges.map((edge) => [edge.node.callId, edge.node.did, edge.node.dialled])).to.deep.equal([['b-0', null, 'not-a-number']]);
    expect(await api.errorCode(b.key, CALLS, { first: 50, filter: { trunkId: trunkA } })).to.equal('NOT_FOUND');
    const all = await api.ok<CallsPage>(OPERATOR_KEY, CALLS, { first: 50 });
    expect(all.calls.edges).to.have.length(6);
  });
});

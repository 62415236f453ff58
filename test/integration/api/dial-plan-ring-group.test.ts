import { expect } from 'chai';
import { TestApi } from '../../support/api';

const FIELDS = `id flow { steps { id app ringGroup { strategy ringTimeoutSeconds targets { target ringTimeoutSeconds } } } }`;
const CREATE = `mutation ($input: CreateDialPlanInput!) { createDialPlan(input: $input) { ${FIELDS} } }`;
const UPDATE = `mutation ($id: ID!, $input: UpdateDialPlanInput!) { updateDialPlan(id: $id, input: $input) { ${FIELDS} } }`;
const CREATE_TRUNK = `mutation ($input: CreateTrunkInput!) { createTrunk(input: $input) { id } }`;

function groupFlow(targets: Record<string, unknown>[], strategy = 'PARALLEL'): Record<string, unknown> {
  return {
    entryStepId: 'group',
    steps: [
      { id: 'group', app: 'RING_GROUP', ringGroup: { strategy, targets }, exits: [{ on: 'noAnswer', stepId: 'busy' }] },
      { id: 'busy', app: 'HANGUP', hangup: { status: 486 } },
    ],
  };
}

describe('dial plans: RING_GROUP steps through the API', () => {
  let api: TestApi;
  let company: { id: string; key: string };
  let other: { id: string; key: string };
  let ownTrunk: string;
  let otherTrunk: string;
  let serial = 0;

  const trunk = async (owner: { id: string; key: string }, username: string, number: string): Promise<string> =>
    (
      await api.ok<{ createTrunk: { id: string } }>(owner.key, CREATE_TRUNK, {
        input: { companyId: owner.id, name: username, sipUsername: username, sipPassword: 'correct horse battery', inboundNumbers: [number], maxConcurrentCalls: 2 },
      })
    ).createTrunk.id;

  before(async () => {
    api = await TestApi.start();
    company = await api.company('Group Co');
    other = await api.company('Other Co');
    ownTrunk = await trunk(company, 'group-own', '+442079466001');
    otherTrunk = await trunk(other, 'group-other', '+442079466002');
  });
  after(async () => {
    await api.stop();
  });

  const input = (flow: Record<string, unknown>) => ({ companyId: company.id, name: `Group ${++serial}`, internalNumber: String(500 + serial), flow });

  it('stores a group of a number, a sip: URI and a trunk of the company, with the defaults', async () => {
    const { createDialPlan } = await api.ok<{ createDialPlan: { flow: { steps: { ringGroup: unknown }[] } } }>(company.key, CREATE, {
      input: input(groupFlow([{ target: '+44 7911 123456', ringTimeoutSeconds: 10 }, { target: 'sip:desk@pbx.example.com' }, { target: `trunk:${ownTrunk}` }])),
    });
    expect(createDialPlan.flow.steps[0].ringGroup).to.deep.equal({
      strategy: 'PARALLEL',
      ringTimeoutSeconds: 30,
      targets: [
        { target: '+447911123456', ringTimeoutSeconds: 10 },
        { target: 'sip:desk@pbx.example.com', ringTimeoutSeconds: null },
        { target: `trunk:${ownTrunk}`, ringTimeoutSeconds: null },
      ],
    });
  });

  it("answers NOT_FOUND for another company's trunk or an unknown one, on create and on update, and writes nothing", async () => {
    for (const id of [otherTrunk, '33333333-3333-4333-8333-333333333333']) {
      const result = await api.request(company.key, CREATE, { input: input(groupFlow([{ target: `trunk:${id}` }])) });
      expect(result.errors?.[0].extensions?.code, id).to.equal('NOT_FOUND');
      expect(result.text).to.not.include('Other Co');
    }
    const { createDialPlan } = await api.ok<{ createDialPlan: { id: string } }>(company.key, CREATE, { input: input(groupFlow([{ target: '+447911123456' }])) });
    expect(await api.errorCode(company.key, UPDATE, { id: createDialPlan.id, input: { flow: groupFlow([{ target: `trunk:${otherTrunk}` }]) } })).to.equal('NOT_FOUND');
    const [row] = await api.dataSource.query('SELECT flow FROM dial_plan WHERE id = $1', [createDialPlan.id]);
    expect(row.flow.steps[0].ringGroup.targets).to.deep.equal([{ target: '+447911123456', ringTimeoutSeconds: null }]);
  });

  it('takes 20 targets and refuses 21 with BAD_USER_INPUT naming the step (input validation, before the domain)', async () => {
    const targets = (count: number) => Array.from({ length: count }, (_, i) => ({ target: `+4479111234${String(i).padStart(2, '0')}` }));
    await api.ok(company.key, CREATE, { input: input(groupFlow(targets(20))) });
    const result = await api.request(company.key, CREATE, { input: input(groupFlow(targets(21))) });
    expect(result.errors?.[0].extensions?.code).to.equal('BAD_USER_INPUT');
    expect(result.text).to.include('flow.steps.0.ringGroup.targets: 1..20 targets');
  });

  it('refuses a malformed trunk target and a ring time past 300 with BAD_USER_INPUT', async () => {
    const result = await api.request(company.key, CREATE, { input: input(groupFlow([{ target: 'trunk:abc', ringTimeoutSeconds: 301 }], 'SEQUENTIAL')) });
    expect(result.errors?.[0].extensions?.code).to.equal('BAD_USER_INPUT');
    expect(result.text).to.include('targets[0].target').and.include('targets[0].ringTimeoutSeconds must be 5..300');
  });

  for (const [name, target] of [
    ['a sip: target of 100,000 characters', `sip:${'a'.repeat(100_000)}`],
    ['a target with CRLF', 'sip:a@b\r\nVia: x'],
    ['a trunk: target with no id', 'trunk:'],
  ] as const) {
    it(`refuses ${name} with BAD_USER_INPUT and a short answer`, async () => {
      const result = await api.request(company.key, CREATE, { input: input(groupFlow([{ target }])) });
      expect(result.errors?.[0].extensions?.code).to.equal('BAD_USER_INPUT', result.text.slice(0, 500));
      expect(result.text.length).to.be.below(2_000);
    });
  }

  it('deletes a trunk a ring group targets (the target then fails at run time)', async () => {
    const doomed = await trunk(company, 'group-doomed', '+442079466003');
    await api.ok(company.key, CREATE, { input: input(groupFlow([{ target: `trunk:${doomed}` }])) });
    expect(await api.ok(company.key, `mutation ($id: ID!) { deleteTrunk(id: $id) }`, { id: doomed })).to.deep.equal({ deleteTrunk: doomed });
  });
});

import { expect } from 'chai';
import { ForwardCallerId1765200000001 } from '../../../migrations/1765200000001-ForwardCallerId';
import { DIAL_PLAN_FIELDS, forwardFlow, TestApi } from '../../support/api';

const CREATE = `mutation ($input: CreateDialPlanInput!) { createDialPlan(input: $input) { ${DIAL_PLAN_FIELDS} } }`;
const UPDATE = `mutation ($id: ID!, $input: UpdateDialPlanInput!) { updateDialPlan(id: $id, input: $input) { ${DIAL_PLAN_FIELDS} } }`;
const GET = `query ($id: ID!) { dialPlan(id: $id) { ${DIAL_PLAN_FIELDS} } }`;
const DELETE = `mutation ($id: ID!) { deleteDialPlan(id: $id) }`;

interface DialPlan {
  id: string;
  name: string;
  internalNumber: string;
  externalNumber: string | null;
  flow: { entryStepId: string; steps: { id: string; app: string; forward: unknown; hangup: unknown; exits: unknown[] }[] };
}

describe('dial plans', () => {
  let api: TestApi;
  let company: { id: string; key: string };
  let serial = 0;

  before(async () => {
    api = await TestApi.start();
    company = await api.company('Plan Co');
  });
  after(async () => {
    await api.stop();
  });

  function input(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    serial++;
    return { companyId: company.id, name: `Plan ${serial}`, internalNumber: String(700 + serial), flow: forwardFlow(), ...overrides };
  }

  async function create(overrides: Record<string, unknown> = {}): Promise<DialPlan> {
    return (await api.ok<{ createDialPlan: DialPlan }>(company.key, CREATE, { input: input(overrides) })).createDialPlan;
  }

  it('creates a dial plan with a FORWARD and HANGUP flow and reads it back', async () => {
    const plan = await create({ name: 'After hours', internalNumber: '800', externalNumber: '+44 20 7946 0555' });
    expect(plan).to.deep.include({ name: 'After hours', internalNumber: '800', externalNumber: '+442079460555' });
    expect(plan.flow).to.deep.equal({
      entryStepId: 'mobile',
      steps: [
        { id: 'mobile', app: 'FORWARD', forward: { target: '+442079460000', ringTimeoutSeconds: 20, callerId: 'KEEP_CALLER' }, hangup: null, exits: [{ on: 'noAnswer', stepId: 'busy' }] },
        { id: 'busy', app: 'HANGUP', forward: null, hangup: { status: 486 }, exits: [] },
      ],
    });
    const { dialPlan } = await api.ok<{ dialPlan: DialPlan }>(company.key, GET, { id: plan.id });
    expect(dialPlan).to.deep.equal(plan);
  });

  it('forwards to a sip: URI with the default ring timeout', async () => {
    const plan = await create({
      flow: { entryStepId: 'desk', steps: [{ id: 'desk', app: 'FORWARD', forward: { target: 'sip:reception@pbx.example.com:5070' } }] },
    });
    expect(plan.flow.steps[0].forward).to.deep.equal({ target: 'sip:reception@pbx.example.com:5070', ringTimeoutSeconds: 30, callerId: 'KEEP_CALLER' });
  });

  it('updates fields partially, replaces the flow, and removes the external number with null', async () => {
    const plan = await create({ externalNumber: '+442079460556' });
    const hangup = { entryStepId: 'closed', steps: [{ id: 'closed', app: 'HANGUP', hangup: { status: 480 } }] };
    const { updateDialPlan } = await api.ok<{ updateDialPlan: DialPlan }>(company.key, UPDATE, { id: plan.id, input: { flow: hangup } });
    expect(updateDialPlan).to.deep.include({ name: plan.name, internalNumber: plan.internalNumber, externalNumber: '+442079460556' });
    expect(updateDialPlan.flow.entryStepId).to.equal('closed');
    const cleared = await api.ok<{ updateDialPlan: DialPlan }>(company.key, UPDATE, { id: plan.id, input: { externalNumber: null } });
    expect(cleared.updateDialPlan.externalNumber).to.equal(null);
    await create({ externalNumber: '+442079460556' });
  });

  it('answers CONFLICT for an internal number used in the company, but not across companies', async () => {
    await create({ internalNumber: '555' });
    expect(await api.errorCode(company.key, CREATE, { input: input({ internalNumber: '555' }) })).to.equal('CONFLICT');
    const other = await api.company('Other Plan Co');
    await api.ok(other.key, CREATE, { input: { ...input({ internalNumber: '555' }), companyId: other.id } });
  });

  it('answers CONFLICT for an external number used anywhere on the platform', async () => {
    await create({ externalNumber: '+442079460557' });
    expect(await api.errorCode(company.key, CREATE, { input: input({ externalNumber: '+442079460557' }) })).to.equal('CONFLICT');
    const other = await api.company('Far Co');
    expect(await api.errorCode(other.key, CREATE, { input: { ...input({ externalNumber: '+442079460557' }), companyId: other.id } })).to.equal('CONFLICT');
  });

  it('refuses to delete a dial plan a trunk fails over to, and deletes it once unused', async () => {
    const plan = await create();
    const { createTrunk } = await api.ok<{ createTrunk: { id: string } }>(company.key, `mutation ($input: CreateTrunkInput!) { createTrunk(input: $input) { id } }`, {
      input: {
        companyId: company.id,
        name: 'PBX',
        sipUsername: 'plan-user',
        sipPassword: 'long enough secret',
        inboundNumbers: [],
        maxConcurrentCalls: 5,
        failover: { enabled: false, dialPlanId: plan.id },
      },
    });
    expect(await api.errorCode(company.key, DELETE, { id: plan.id })).to.equal('CONFLICT');
    await api.ok(company.key, `mutation ($id: ID!) { updateTrunk(id: $id, input: { failover: { dialPlanId: null } }) { id } }`, { id: createTrunk.id });
    expect((await api.ok<{ deleteDialPlan: string }>(company.key, DELETE, { id: plan.id })).deleteDialPlan).to.equal(plan.id);
    expect(await api.errorCode(company.key, GET, { id: plan.id })).to.equal('NOT_FOUND');
  });

  const step = (id: string, extra: Record<string, unknown> = {}) => ({ id, app: 'HANGUP', hangup: { status: 486 }, ...extra });
  const forward = (id: string, exits: { on: string; stepId: string }[] = [], target = '+442079460000') => ({
    id,
    app: 'FORWARD',
    forward: { target, ringTimeoutSeconds: 20 },
    exits,
  });
  const invalidFlows: { name: string; flow: Record<string, unknown> }[] = [
    { name: 'an exit to a missing step', flow: { entryStepId: 'a', steps: [forward('a', [{ on: 'noAnswer', stepId: 'ghost' }])] } },
    { name: 'a missing entry step', flow: { entryStepId: 'nowhere', steps: [step('a')] } },
    { name: 'an unreachable step', flow: { entryStepId: 'a', steps: [step('a'), step('island')] } },
    { name: 'no steps', flow: { entryStepId: 'a', steps: [] } },
    { name: 'duplicate step ids', flow: { entryStepId: 'a', steps: [step('a'), step('a')] } },
    { name: 'an exit HANGUP does not have', flow: { entryStepId: 'a', steps: [step('a', { exits: [{ on: 'next', stepId: 'a' }] })] } },
    { name: 'an exit FORWARD does not have', flow: { entryStepId: 'a', steps: [forward('a', [{ on: 'match', stepId: 'b' }]), step('b')] } },
    { name: 'FORWARD without its settings', flow: { entryStepId: 'a', steps: [{ id: 'a', app: 'FORWARD' }] } },
    { name: 'HANGUP with forward settings', flow: { entryStepId: 'a', steps: [step('a', { forward: { target: '+442079460000' } })] } },
    { name: 'a forward target that is neither number nor sip: URI', flow: { entryStepId: 'a', steps: [forward('a', [], 'mobile of Bob')] } },
    { name: 'a national forward number', flow: { entryStepId: 'a', steps: [forward('a', [], '07700900123')] } },
    { name: 'a ring timeout over 300 s', flow: { entryStepId: 'a', steps: [{ id: 'a', app: 'FORWARD', forward: { target: '+442079460000', ringTimeoutSeconds: 301, callerId: 'KEEP_CALLER' } }] } },
    { name: 'a hangup status of 200', flow: { entryStepId: 'a', steps: [{ id: 'a', app: 'HANGUP', hangup: { status: 200 } }] } },
    { name: 'a step id with spaces', flow: { entryStepId: 'a b', steps: [step('a b')] } },
  ];
  for (const row of invalidFlows) {
    it(`refuses a flow with ${row.name} with BAD_USER_INPUT and writes nothing`, async () => {
      const before = await api.dataSource.query('SELECT count(*)::int AS n FROM dial_plan');
      expect(await api.errorCode(company.key, CREATE, { input: input({ flow: row.flow }) })).to.equal('BAD_USER_INPUT');
      expect(await api.dataSource.query('SELECT count(*)::int AS n FROM dial_plan')).to.deep.equal(before);
    });
  }

  describe('FORWARD caller-ID presentation', () => {
    const presenting = (callerId: string): Record<string, unknown> => ({
      entryStepId: 'office',
      steps: [{ id: 'office', app: 'FORWARD', forward: { target: '+447911123456', callerId } }],
    });
    const problemsOf = async (query: string, variables: Record<string, unknown>): Promise<{ code?: string; problems: string[] }> => {
      const result = await api.request(company.key, query, variables);
      return { code: result.errors?.[0].extensions?.code, problems: (result.errors?.[0].extensions?.problems as string[] | undefined) ?? [] };
    };

    it('keeps the caller by default and presents the plan number when asked, on a plan that has one', async () => {
      const plain = await create();
      expect((plain.flow.steps[0].forward as { callerId: string }).callerId).to.equal('KEEP_CALLER');
      const plan = await create({ externalNumber: '+442079460561', flow: presenting('DIAL_PLAN_NUMBER') });
      expect(plan.flow.steps[0].forward).to.deep.equal({ target: '+447911123456', ringTimeoutSeconds: 30, callerId: 'DIAL_PLAN_NUMBER' });
    });

    it('refuses DIAL_PLAN_NUMBER on a plan without an external number, naming the step', async () => {
      expect(await problemsOf(CREATE, { input: input({ flow: presenting('DIAL_PLAN_NUMBER') }) })).to.deep.equal({
        code: 'BAD_USER_INPUT',
        problems: ['flow.steps[0] ("office").forward.callerId: DIAL_PLAN_NUMBER needs the dial plan to have an externalNumber'],
      });
      const plan = await create();
      expect(await problemsOf(UPDATE, { id: plan.id, input: { flow: presenting('DIAL_PLAN_NUMBER') } })).to.have.property('code', 'BAD_USER_INPUT');
      expect((await problemsOf(UPDATE, { id: plan.id, input: { flow: presenting('DIAL_PLAN_NUMBER'), externalNumber: '+442079460562' } })).code).to.equal(undefined, 'given with its number in one update');
    });

    it('refuses to remove the external number a step presents, allows changing it, and removing it with the step', async () => {
      const plan = await create({ externalNumber: '+442079460563', flow: presenting('DIAL_PLAN_NUMBER') });
      expect(await problemsOf(UPDATE, { id: plan.id, input: { externalNumber: null } })).to.deep.equal({
        code: 'BAD_USER_INPUT',
        problems: ['externalNumber: cannot be removed while flow.steps[0] ("office") forwards presenting it (forward.callerId DIAL_PLAN_NUMBER)'],
      });
      expect((await api.ok<{ dialPlan: DialPlan }>(company.key, GET, { id: plan.id })).dialPlan.externalNumber).to.equal('+442079460563');
      const moved = (await api.ok<{ updateDialPlan: DialPlan }>(company.key, UPDATE, { id: plan.id, input: { externalNumber: '+442079460564' } })).updateDialPlan;
      expect(moved.externalNumber).to.equal('+442079460564');
      const dropped = (await api.ok<{ updateDialPlan: DialPlan }>(company.key, UPDATE, { id: plan.id, input: { externalNumber: null, flow: presenting('KEEP_CALLER') } })).updateDialPlan;
      expect(dropped.externalNumber).to.equal(null);
    });

    it('the migration gives FORWARD steps stored before callerId existed KEEP_CALLER, and touches nothing else', async () => {
      const plan = await create();
      const stored = { entryStepId: 'mobile', steps: [{ id: 'mobile', app: 'FORWARD', forward: { target: '+442079460000', ringTimeoutSeconds: 20 }, exits: [{ on: 'noAnswer', stepId: 'busy' }] }, { id: 'busy', app: 'HANGUP', hangup: { status: 486 }, exits: [] }] };
      await api.dataSource.query('UPDATE dial_plan SET flow = $2 WHERE id = $1', [plan.id, JSON.stringify(stored)]);
      const runner = api.dataSource.createQueryRunner();
      try {
        await new ForwardCallerId1765200000001().up(runner);
      } finally {
        await runner.release();
      }
      const [{ flow }] = await api.dataSource.query('SELECT flow FROM dial_plan WHERE id = $1', [plan.id]);
      expect(flow).to.deep.equal({ ...stored, steps: [{ ...stored.steps[0], forward: { ...stored.steps[0].forward, callerId: 'KEEP_CALLER' } }, stored.steps[1]] });
      const { dialPlan } = await api.ok<{ dialPlan: DialPlan }>(company.key, GET, { id: plan.id });
      expect((dialPlan.flow.steps[0].forward as { callerId: string }).callerId).to.equal('KEEP_CALLER');
    });

    it('refuses a callerId that is not a ForwardCallerId', async () => {
      expect(await api.errorCode(company.key, CREATE, { input: input({ externalNumber: '+442079460565', flow: presenting('WITHHELD') }) })).to.equal('BAD_USER_INPUT');
    });
  });

  it('names every problem of a flow in the error', async () => {
    const result = await api.request(company.key, CREATE, {
      input: input({ flow: { entryStepId: 'x', steps: [forward('a', [{ on: 'noAnswer', stepId: 'ghost' }], 'nope')] } }),
    });
    const problems = result.errors?.[0].extensions?.problems ?? [];
    expect(problems.join('\n')).to.include('ghost').and.include('nope').and.include('entryStepId');
  });

  const invalidFields: { name: string; overrides: Record<string, unknown> }[] = [
    { name: 'an internal number with letters', overrides: { internalNumber: '80a' } },
    { name: 'an internal number over 15 digits', overrides: { internalNumber: '1234567890123456' } },
    { name: 'a national external number', overrides: { externalNumber: '02079460000' } },
    { name: 'a blank name', overrides: { name: '  ' } },
  ];
  for (const row of invalidFields) {
    it(`refuses ${row.name} with BAD_USER_INPUT`, async () => {
      expect(await api.errorCode(company.key, CREATE, { input: input(row.overrides) })).to.equal('BAD_USER_INPUT');
    });
  }

  it('refuses an invalid flow update and keeps the stored flow', async () => {
    const plan = await create();
    expect(await api.errorCode(company.key, UPDATE, { id: plan.id, input: { name: 'New', flow: { entryStepId: 'z', steps: [] } } })).to.equal('BAD_USER_INPUT');
    const { dialPlan } = await api.ok<{ dialPlan: DialPlan }>(company.key, GET, { id: plan.id });
    expect(dialPlan).to.deep.equal(plan);
  });

  it('lists the company dial plans page by page', async () => {
    const other = await api.company('List Co');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await api.ok<{ createDialPlan: { id: string } }>(other.key, CREATE, { input: { ...input(), companyId: other.id } })).createDialPlan.id);
    }
    const LIST = `query ($after: String) { dialPlans(first: 2, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }`;
    type Page = { dialPlans: { edges: { node: { id: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } };
    const first = await api.ok<Page>(other.key, LIST);
    const second = await api.ok<Page>(other.key, LIST, { after: first.dialPlans.pageInfo.endCursor });
    expect(first.dialPlans.pageInfo.hasNextPage).to.equal(true);
    expect(second.dialPlans.pageInfo.hasNextPage).to.equal(false);
    expect([...first.dialPlans.edges, ...second.dialPlans.edges].map((edge) => edge.node.id)).to.deep.equal(ids);
  });
});

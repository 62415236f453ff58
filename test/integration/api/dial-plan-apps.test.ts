import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { TestApi } from '../../support/api';

const STEP_FIELDS = `id app exits { on stepId }
  timeCondition { rules { weekdays from to } holidays { from to } }
  callerCondition { numbers prefixes anonymous }
  gotoDialPlan { dialPlanId }`;
const PLAN_FIELDS = `id name flow { entryStepId steps { ${STEP_FIELDS} } }`;
const CREATE = `mutation ($input: CreateDialPlanInput!) { createDialPlan(input: $input) { ${PLAN_FIELDS} } }`;
const UPDATE = `mutation ($id: ID!, $input: UpdateDialPlanInput!) { updateDialPlan(id: $id, input: $input) { ${PLAN_FIELDS} } }`;
const GET = `query ($id: ID!) { dialPlan(id: $id) { ${PLAN_FIELDS} } }`;
const DELETE = `mutation ($id: ID!) { deleteDialPlan(id: $id) }`;

interface Step {
  id: string;
  app: string;
  timeCondition: unknown;
  callerCondition: unknown;
  gotoDialPlan: unknown;
}
interface Plan {
  id: string;
  name: string;
  flow: { entryStepId: string; steps: Step[] };
}

const HANGUP = (id: string, status = 486) => ({ id, app: 'HANGUP', hangup: { status } });
const condition = (app: string, key: string, settings: unknown) => ({
  entryStepId: 'check',
  steps: [{ id: 'check', app, [key]: settings, exits: [{ on: 'match', stepId: 'yes' }, { on: 'noMatch', stepId: 'no' }] }, HANGUP('yes', 486), HANGUP('no', 480)],
});
const gotoFlow = (dialPlanId: string) => ({ entryStepId: 'go', steps: [{ id: 'go', app: 'GOTO_DIAL_PLAN', gotoDialPlan: { dialPlanId } }] });

describe('dial plan apps: TIME_CONDITION, CALLER_CONDITION, GOTO_DIAL_PLAN', () => {
  let api: TestApi;
  let company: { id: string; key: string };
  let serial = 0;

  before(async () => {
    api = await TestApi.start();
    company = await api.company('Apps Co');
  });
  after(async () => {
    await api.stop();
  });

  function input(flow: unknown, owner = company): Record<string, unknown> {
    serial++;
    return { companyId: owner.id, name: `Apps ${serial}`, internalNumber: String(900 + serial), flow };
  }

  async function create(flow: unknown, owner = company): Promise<Plan> {
    return (await api.ok<{ createDialPlan: Plan }>(owner.key, CREATE, { input: input(flow, owner) })).createDialPlan;
  }

  async function problems(key: string, query: string, variables: Record<string, unknown>): Promise<{ code: unknown; problems: string[] }> {
    const result = await api.request(key, query, variables);
    const error = result.errors?.[0];
    return { code: error?.extensions?.code, problems: (error?.extensions?.problems as string[] | undefined) ?? [] };
  }

  it('stores a TIME_CONDITION normalised: weekdays in week order, an end of 00:00 as 24:00, no holidays as []', async () => {
    const plan = await create(condition('TIME_CONDITION', 'timeCondition', { rules: [{ weekdays: ['FRIDAY', 'MONDAY'], from: '22:00', to: '00:00' }] }));
    expect(plan.flow.steps[0]).to.deep.include({
      app: 'TIME_CONDITION',
      timeCondition: { rules: [{ weekdays: ['MONDAY', 'FRIDAY'], from: '22:00', to: '24:00' }], holidays: [] },
      callerCondition: null,
      gotoDialPlan: null,
    });
    const holidays = [{ from: '2026-12-24', to: '2026-12-26' }];
    const updated = await api.ok<{ updateDialPlan: Plan }>(company.key, UPDATE, {
      id: plan.id,
      input: { flow: condition('TIME_CONDITION', 'timeCondition', { rules: [{ weekdays: ['SUNDAY'], from: '00:00', to: '24:00' }], holidays }) },
    });
    expect(updated.updateDialPlan.flow.steps[0].timeCondition).to.deep.equal({ rules: [{ weekdays: ['SUNDAY'], from: '00:00', to: '24:00' }], holidays });
  });

  it('stores a CALLER_CONDITION normalised: E.164 numbers, bare prefixes, each once', async () => {
    const plan = await create(condition('CALLER_CONDITION', 'callerCondition', { numbers: ['+44 20 7946 0000', '+442079460000'], prefixes: ['+49 89'] }));
    expect(plan.flow.steps[0].callerCondition).to.deep.equal({ numbers: ['+442079460000'], prefixes: ['+4989'], anonymous: false });
    const anonymous = await create(condition('CALLER_CONDITION', 'callerCondition', { anonymous: true }));
    expect(anonymous.flow.steps[0].callerCondition).to.deep.equal({ numbers: [], prefixes: [], anonymous: true });
  });

  const invalid: { name: string; flow: unknown; problem: string }[] = [
    {
      name: 'a rule from 25:00',
      flow: condition('TIME_CONDITION', 'timeCondition', { rules: [{ weekdays: ['MONDAY'], from: '25:00', to: '18:00' }] }),
      problem: 'flow.steps[0].timeCondition.rules[0].from: "25:00" is not a time HH:MM from 00:00 to 23:59',
    },
    {
      name: 'no rule',
      flow: condition('TIME_CONDITION', 'timeCondition', { rules: [] }),
      // Refused by input validation, before the domain: its path is class-validator's.
      problem: 'flow.steps.0.timeCondition.rules: name at least one rule',
    },
    {
      name: 'a rule without weekdays',
      flow: condition('TIME_CONDITION', 'timeCondition', { rules: [{ weekdays: [], from: '08:00', to: '18:00' }] }),
      problem: 'flow.steps.0.timeCondition.rules.0.weekdays: name at least one weekday',
    },
    {
      name: 'a holiday ending before it starts',
      flow: condition('TIME_CONDITION', 'timeCondition', { rules: [{ weekdays: ['MONDAY'], from: '08:00', to: '18:00' }], holidays: [{ from: '2026-12-26', to: '2026-12-24' }] }),
      problem: 'flow.steps[0].timeCondition.holidays[0]: from is after to',
    },
    {
      name: 'a holiday on 30 February',
      flow: condition('TIME_CONDITION', 'timeCondition', { rules: [{ weekdays: ['MONDAY'], from: '08:00', to: '18:00' }], holidays: [{ from: '2026-02-30', to: '2026-03-01' }] }),
      problem: 'flow.steps[0].timeCondition.holidays[0].from: "2026-02-30" is not a date YYYY-MM-DD',
    },
    {
      name: 'a caller condition matching nothing',
      flow: condition('CALLER_CONDITION', 'callerCondition', { numbers: [], anonymous: false }),
      problem: 'flow.steps[0].callerCondition: name at least one number or prefix, or match anonymous callers',
    },
    {
      name: 'a national caller number',
      flow: condition('CALLER_CONDITION', 'callerCondition', { numbers: ['02079460000'] }),
      problem: 'flow.steps[0].callerCondition.numbers[0]: "02079460000" is not an E.164 number (+ and country code)',
    },
    {
      name: 'a prefix without +',
      flow: condition('CALLER_CONDITION', 'callerCondition', { prefixes: ['4989'] }),
      problem: 'flow.steps[0].callerCondition.prefixes[0]: "4989" is not + and 1..15 digits starting with a country code',
    },
    {
      name: 'a goto to something that is no id',
      flow: gotoFlow('sales'),
      problem: 'flow.steps[0].gotoDialPlan.dialPlanId: "sales" is not a dial plan id',
    },
    {
      name: 'a goto with exits',
      flow: { entryStepId: 'go', steps: [{ id: 'go', app: 'GOTO_DIAL_PLAN', gotoDialPlan: { dialPlanId: randomUUID() }, exits: [{ on: 'match', stepId: 'end' }] }, HANGUP('end')] },
      problem: 'flow.steps[0].exits[0].on: a GOTO_DIAL_PLAN step has no exits, not "match"',
    },
    {
      name: 'a time condition without its settings',
      flow: { entryStepId: 'check', steps: [{ id: 'check', app: 'TIME_CONDITION' }] },
      problem: 'flow.steps[0]: a TIME_CONDITION step needs timeCondition settings',
    },
    {
      name: 'a loop through two conditions (neither waits)',
      flow: {
        entryStepId: 'time',
        steps: [
          { id: 'time', app: 'TIME_CONDITION', timeCondition: { rules: [{ weekdays: ['MONDAY'], from: '08:00', to: '18:00' }] }, exits: [{ on: 'match', stepId: 'caller' }] },
          { id: 'caller', app: 'CALLER_CONDITION', callerCondition: { anonymous: true }, exits: [{ on: 'noMatch', stepId: 'time' }, { on: 'match', stepId: 'end' }] },
          HANGUP('end'),
        ],
      },
      problem: 'flow.steps: loop without a waiting app: time -> caller -> time',
    },
  ];
  for (const row of invalid) {
    it(`refuses ${row.name} with BAD_USER_INPUT naming the step and the rule`, async () => {
      const before = await api.dataSource.query('SELECT count(*)::int AS n FROM dial_plan');
      expect(await problems(company.key, CREATE, { input: input(row.flow) })).to.deep.equal({ code: 'BAD_USER_INPUT', problems: [row.problem] });
      expect(await api.dataSource.query('SELECT count(*)::int AS n FROM dial_plan')).to.deep.equal(before);
    });
  }

  it('refuses a weekday outside the enum at the GraphQL layer', async () => {
    const flow = condition('TIME_CONDITION', 'timeCondition', { rules: [{ weekdays: ['FUNDAY'], from: '08:00', to: '18:00' }] });
    expect(await api.errorCode(company.key, CREATE, { input: input(flow) })).to.equal('BAD_USER_INPUT');
  });

  it('goes to another plan of the company; stores the target id', async () => {
    const target = await create({ entryStepId: 'end', steps: [HANGUP('end')] });
    const plan = await create(gotoFlow(target.id.toUpperCase()));
    expect(plan.flow.steps[0]).to.deep.include({ app: 'GOTO_DIAL_PLAN', gotoDialPlan: { dialPlanId: target.id } });
  });

  it("refuses a goto to another company's plan or a missing one with NOT_FOUND, on create and update", async () => {
    const other = await api.company('Other Apps Co');
    const foreign = await create({ entryStepId: 'end', steps: [HANGUP('end')] }, other);
    const plan = await create({ entryStepId: 'end', steps: [HANGUP('end')] });
    for (const id of [foreign.id, randomUUID()]) {
      expect(await api.errorCode(company.key, CREATE, { input: input(gotoFlow(id)) })).to.equal('NOT_FOUND');
      expect(await api.errorCode(company.key, UPDATE, { id: plan.id, input: { flow: gotoFlow(id) } })).to.equal('NOT_FOUND');
    }
    const { dialPlan } = await api.ok<{ dialPlan: Plan }>(company.key, GET, { id: plan.id });
    expect(dialPlan).to.deep.equal(plan);
  });

  it('refuses a cycle of plans with BAD_USER_INPUT naming every plan of it, and keeps the stored flow', async () => {
    const c = await create({ entryStepId: 'end', steps: [HANGUP('end')] });
    const b = await create(gotoFlow(c.id));
    const a = await create(gotoFlow(b.id));
    const closing = await problems(company.key, UPDATE, { id: c.id, input: { flow: gotoFlow(a.id) } });
    expect(closing).to.deep.equal({
      code: 'BAD_USER_INPUT',
      problems: [`flow.steps[0].gotoDialPlan.dialPlanId: GOTO_DIAL_PLAN steps would make a cycle of dial plans: "${c.name}" (${c.id}) -> "${a.name}" (${a.id}) -> "${b.name}" (${b.id}) -> "${c.name}" (${c.id})`],
    });
    expect((await api.ok<{ dialPlan: Plan }>(company.key, GET, { id: c.id })).dialPlan).to.deep.equal(c);
    const self = await problems(company.key, UPDATE, { id: c.id, input: { flow: gotoFlow(c.id) } });
    expect(self).to.deep.equal({ code: 'BAD_USER_INPUT', problems: [`flow.steps[0].gotoDialPlan.dialPlanId: GOTO_DIAL_PLAN steps would make a cycle of dial plans: "${c.name}" (${c.id}) -> "${c.name}" (${c.id})`] });
    // A goto later in a flow, behind a condition, closes the cycle just the same.
    const behind = {
      entryStepId: 'check',
      steps: [
        { id: 'check', app: 'CALLER_CONDITION', callerCondition: { anonymous: true }, exits: [{ on: 'match', stepId: 'end' }, { on: 'noMatch', stepId: 'go' }] },
        HANGUP('end'),
        { id: 'go', app: 'GOTO_DIAL_PLAN', gotoDialPlan: { dialPlanId: b.id } },
      ],
    };
    const late = await problems(company.key, UPDATE, { id: c.id, input: { flow: behind } });
    expect(late.code).to.equal('BAD_USER_INPUT');
    expect(late.problems[0]).to.match(/^flow\.steps\[2\]\.gotoDialPlan\.dialPlanId: .* cycle of dial plans: /);
  });

  it('two concurrent updates that would together close a cycle: one is refused', async () => {
    for (let round = 0; round < 3; round++) {
      const a = await create({ entryStepId: 'end', steps: [HANGUP('end')] });
      const b = await create({ entryStepId: 'end', steps: [HANGUP('end')] });
      const results = await Promise.all([
        api.request(company.key, UPDATE, { id: a.id, input: { flow: gotoFlow(b.id) } }),
        api.request(company.key, UPDATE, { id: b.id, input: { flow: gotoFlow(a.id) } }),
      ]);
      expect(results.map((result) => result.errors?.[0]?.extensions?.code ?? 'OK').sort()).to.deep.equal(['BAD_USER_INPUT', 'OK']);
    }
  });

  it('refuses deleting a plan a goto targets with CONFLICT, and deletes it once no goto does', async () => {
    const target = await create({ entryStepId: 'end', steps: [HANGUP('end')] });
    const source = await create(gotoFlow(target.id));
    const result = await api.request(company.key, DELETE, { id: target.id });
    expect(result.errors?.[0].extensions?.code).to.equal('CONFLICT');
    expect(result.errors?.[0].message).to.equal(`the dial plan is the target of a GOTO_DIAL_PLAN step in dial plan "${source.name}" (${source.id})`);
    await api.ok(company.key, UPDATE, { id: source.id, input: { flow: { entryStepId: 'end', steps: [HANGUP('end')] } } });
    expect((await api.ok<{ deleteDialPlan: string }>(company.key, DELETE, { id: target.id })).deleteDialPlan).to.equal(target.id);
    // The plan holding the goto is deleted freely: nothing targets it.
    const again = await create({ entryStepId: 'end', steps: [HANGUP('end')] });
    const holder = await create(gotoFlow(again.id));
    expect((await api.ok<{ deleteDialPlan: string }>(company.key, DELETE, { id: holder.id })).deleteDialPlan).to.equal(holder.id);
  });
});

import { expect } from 'chai';
import { MAX_CALLER_NUMBERS, MAX_CALLER_PREFIXES } from '../../../domain/caller-match';
import { MAX_FLOW_STEPS } from '../../../domain/flow/flow';
import { MAX_RING_GROUP_TARGETS } from '../../../domain/flow/apps/ring-group';
import { MAX_HOLIDAY_RANGES, MAX_TIME_WINDOW_RULES, WEEKDAYS } from '../../../domain/time-window';
import { MAX_WEBHOOK_EXITS } from '../../../domain/webhook';
import { TestApi } from '../../support/api';

const CREATE = `mutation ($input: CreateDialPlanInput!) { createDialPlan(input: $input) { id } }`;
const UPDATE = `mutation ($id: ID!, $input: UpdateDialPlanInput!) { updateDialPlan(id: $id, input: $input) { id } }`;

const HANGUP = { id: 'end', app: 'HANGUP', hangup: { status: 486 } };
const times = <T>(count: number, make: (index: number) => T): T[] => Array.from({ length: count }, (_, index) => make(index));

/** One step of `app` with `settings` and `exits`, its exits leading to a HANGUP. */
function oneStep(app: string, key: string, settings: unknown, exits: string[]): Record<string, unknown> {
  return { entryStepId: 'step', steps: [{ id: 'step', app, [key]: settings, exits: exits.map((on) => ({ on, stepId: 'end' })) }, HANGUP] };
}

const RULE = { weekdays: ['MONDAY'], from: '08:00', to: '18:00' };
const timeCondition = (settings: Record<string, unknown>) => oneStep('TIME_CONDITION', 'timeCondition', settings, ['match', 'noMatch']);
const callerCondition = (settings: Record<string, unknown>) => oneStep('CALLER_CONDITION', 'callerCondition', settings, ['match', 'noMatch']);
const ringGroup = (count: number) => oneStep('RING_GROUP', 'ringGroup', { strategy: 'PARALLEL', targets: times(count, (i) => ({ target: `sip:desk${i}@192.0.2.10` })) }, ['noAnswer']);
const exitNames = (count: number) => times(count, (i) => `exit${i}`);
const webhook = (exits: string[], wired: string[] = [...exits, 'success', 'failure']) => oneStep('WEBHOOK', 'webhook', { url: 'https://hooks.example.com/route', exits }, wired);
const day = (i: number) => new Date(Date.UTC(2027, 0, 1 + i)).toISOString().slice(0, 10);

/** FORWARD steps in a chain, each leading to the next by noAnswer, the last to nothing: `count` steps in all. */
function chain(count: number): Record<string, unknown> {
  const steps = times(count, (i) => ({
    id: `s${i}`,
    app: 'FORWARD',
    forward: { target: `sip:desk${i}@192.0.2.10` },
    exits: i + 1 < count ? [{ on: 'noAnswer', stepId: `s${i + 1}` }] : [],
  }));
  return { entryStepId: 's0', steps };
}

/**
 * Every list of a dial plan's input is bounded by the domain's own limit before the domain runs:
 * the list at its limit is stored, one past it (or an empty one where one entry is the least) is
 * BAD_USER_INPUT from input validation. The problem's path is class-validator's (`steps.0`), not
 * the domain's (`steps[0]`): the domain never saw the input.
 */
describe('dial plan input lists: refused past their limits before the domain', () => {
  let api: TestApi;
  let company: { id: string; key: string };
  let serial = 0;

  before(async () => {
    api = await TestApi.start();
    company = await api.company('Limits Co');
  });
  after(async () => {
    await api.stop();
  });

  const input = (flow: unknown) => ({ companyId: company.id, name: `Limits ${++serial}`, internalNumber: String(700 + serial), flow });

  async function problems(flow: unknown): Promise<{ code: unknown; problems: unknown }> {
    const result = await api.request(company.key, CREATE, { input: input(flow) });
    const error = result.errors?.[0];
    return { code: error?.extensions?.code, problems: error?.extensions?.problems };
  }

  const rows: { list: string; atLimit: () => unknown; pastLimit: () => unknown; problem: string }[] = [
    { list: `flow steps: ${MAX_FLOW_STEPS}`, atLimit: () => chain(MAX_FLOW_STEPS), pastLimit: () => chain(MAX_FLOW_STEPS + 1), problem: `flow.steps: at most ${MAX_FLOW_STEPS} steps` },
    { list: 'flow steps: at least one', atLimit: () => chain(1), pastLimit: () => ({ entryStepId: 's0', steps: [] }), problem: 'flow.steps: a flow needs at least one step' },
    {
      list: `a step's exits: ${MAX_WEBHOOK_EXITS + 2} (a webhook's declared exits, success and failure)`,
      atLimit: () => webhook(exitNames(MAX_WEBHOOK_EXITS)),
      pastLimit: () => webhook(exitNames(MAX_WEBHOOK_EXITS), [...exitNames(MAX_WEBHOOK_EXITS), 'success', 'failure', 'failure']),
      problem: `flow.steps.0.exits: at most ${MAX_WEBHOOK_EXITS + 2} exits, each once`,
    },
    { list: `ring group targets: ${MAX_RING_GROUP_TARGETS}`, atLimit: () => ringGroup(MAX_RING_GROUP_TARGETS), pastLimit: () => ringGroup(MAX_RING_GROUP_TARGETS + 1), problem: `flow.steps.0.ringGroup.targets: 1..${MAX_RING_GROUP_TARGETS} targets` },
    { list: 'ring group targets: at least one', atLimit: () => ringGroup(1), pastLimit: () => ringGroup(0), problem: `flow.steps.0.ringGroup.targets: 1..${MAX_RING_GROUP_TARGETS} targets` },
    {
      list: `time rules: ${MAX_TIME_WINDOW_RULES}`,
      atLimit: () => timeCondition({ rules: times(MAX_TIME_WINDOW_RULES, () => RULE) }),
      pastLimit: () => timeCondition({ rules: times(MAX_TIME_WINDOW_RULES + 1, () => RULE) }),
      problem: `flow.steps.0.timeCondition.rules: at most ${MAX_TIME_WINDOW_RULES} rules`,
    },
    { list: 'time rules: at least one', atLimit: () => timeCondition({ rules: [RULE] }), pastLimit: () => timeCondition({ rules: [] }), problem: 'flow.steps.0.timeCondition.rules: name at least one rule' },
    {
      list: `weekdays of a rule: ${WEEKDAYS.length}`,
      atLimit: () => timeCondition({ rules: [{ ...RULE, weekdays: [...WEEKDAYS] }] }),
      pastLimit: () => timeCondition({ rules: [{ ...RULE, weekdays: [...WEEKDAYS, 'MONDAY'] }] }),
      problem: `flow.steps.0.timeCondition.rules.0.weekdays: at most ${WEEKDAYS.length} weekdays`,
    },
    {
      list: 'weekdays of a rule: at least one',
      atLimit: () => timeCondition({ rules: [{ ...RULE, weekdays: ['SUNDAY'] }] }),
      pastLimit: () => timeCondition({ rules: [{ ...RULE, weekdays: [] }] }),
      problem: 'flow.steps.0.timeCondition.rules.0.weekdays: name at least one weekday',
    },
    {
      list: `holiday ranges: ${MAX_HOLIDAY_RANGES}`,
      atLimit: () => timeCondition({ rules: [RULE], holidays: times(MAX_HOLIDAY_RANGES, (i) => ({ from: day(i), to: day(i) })) }),
      pastLimit: () => timeCondition({ rules: [RULE], holidays: times(MAX_HOLIDAY_RANGES + 1, (i) => ({ from: day(i), to: day(i) })) }),
      problem: `flow.steps.0.timeCondition.holidays: at most ${MAX_HOLIDAY_RANGES} ranges`,
    },
    {
      list: `caller numbers: ${MAX_CALLER_NUMBERS}`,
      atLimit: () => callerCondition({ numbers: times(MAX_CALLER_NUMBERS, (i) => `+44207946${String(i).padStart(4, '0')}`) }),
      pastLimit: () => callerCondition({ numbers: times(MAX_CALLER_NUMBERS + 1, (i) => `+44207946${String(i).padStart(4, '0')}`) }),
      problem: `flow.steps.0.callerCondition.numbers: at most ${MAX_CALLER_NUMBERS} numbers`,
    },
    {
      list: `caller prefixes: ${MAX_CALLER_PREFIXES}`,
      atLimit: () => callerCondition({ prefixes: times(MAX_CALLER_PREFIXES, (i) => `+${i + 1}`) }),
      pastLimit: () => callerCondition({ prefixes: times(MAX_CALLER_PREFIXES + 1, (i) => `+${i + 1}`) }),
      problem: `flow.steps.0.callerCondition.prefixes: at most ${MAX_CALLER_PREFIXES} prefixes`,
    },
    {
      list: `webhook exits: ${MAX_WEBHOOK_EXITS}`,
      atLimit: () => webhook(exitNames(MAX_WEBHOOK_EXITS)),
      pastLimit: () => webhook(exitNames(MAX_WEBHOOK_EXITS + 1), []),
      problem: `flow.steps.0.webhook.exits: at most ${MAX_WEBHOOK_EXITS} exits besides success and failure`,
    },
    {
      list: 'webhook exit names: 64 characters',
      atLimit: () => webhook(['x'.repeat(64)]),
      pastLimit: () => webhook(['x'.repeat(65)], []),
      problem: 'flow.steps.0.webhook.exits: each exit name is 1..64 letters, digits, "_" or "-"',
    },
  ];

  for (const row of rows) {
    it(`${row.list}: stored at the limit, BAD_USER_INPUT past it`, async () => {
      await api.ok(company.key, CREATE, { input: input(row.atLimit()) });
      expect(await problems(row.pastLimit())).to.deep.equal({ code: 'BAD_USER_INPUT', problems: [row.problem] });
    });
  }

  it('an update is refused the same way, and the stored flow stays', async () => {
    const { createDialPlan } = await api.ok<{ createDialPlan: { id: string } }>(company.key, CREATE, { input: input(ringGroup(2)) });
    const result = await api.request(company.key, UPDATE, { id: createDialPlan.id, input: { flow: ringGroup(MAX_RING_GROUP_TARGETS + 1) } });
    expect(result.errors?.[0].extensions?.problems).to.deep.equal([`flow.steps.0.ringGroup.targets: 1..${MAX_RING_GROUP_TARGETS} targets`]);
    const [row] = await api.dataSource.query('SELECT flow FROM dial_plan WHERE id = $1', [createDialPlan.id]);
    expect(row.flow.steps[0].ringGroup.targets).to.have.length(2);
  });
});

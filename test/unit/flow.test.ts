import { expect } from 'chai';
import { DialPlanApp, ForwardCallerId, MAX_FLOW_STEPS, stepsPresentingPlanNumber, validateFlow, type AppDefinition, type Flow, type FlowDraft, type FlowExit } from '../../domain/flow/flow';
import { APPS } from '../../domain/flow/apps';

type StepDraft = FlowDraft['steps'][number];

const noAnswer = (stepId: string): FlowExit => ({ on: 'noAnswer', stepId });

function forward(id: string, target = '+442079460000', exits: FlowExit[] = [], ringTimeoutSeconds?: number | null): StepDraft {
  return { id, app: DialPlanApp.FORWARD, forward: { target, ringTimeoutSeconds }, exits };
}

function hangup(id: string, status = 486, exits: FlowExit[] = []): StepDraft {
  return { id, app: DialPlanApp.HANGUP, hangup: { status }, exits };
}

/** A chain of FORWARD steps s0 -> s1 -> ... ending in a HANGUP, `count` steps in all. */
function chain(count: number): StepDraft[] {
  return Array.from({ length: count }, (_, i) => (i === count - 1 ? hangup(`s${i}`) : forward(`s${i}`, '+442079460000', [noAnswer(`s${i + 1}`)])));
}

describe('validateFlow: accepted flows', () => {
  const rows: { name: string; draft: FlowDraft; flow: Flow }[] = [
    {
      name: 'a single HANGUP step',
      draft: { entryStepId: 'busy', steps: [hangup('busy', 486)] },
      flow: { entryStepId: 'busy', steps: [{ id: 'busy', app: DialPlanApp.HANGUP, hangup: { status: 486 }, exits: [] }] },
    },
    {
      name: 'FORWARD falling through to HANGUP on noAnswer, ring timeout defaulting to 30',
      draft: { entryStepId: 'ring', steps: [forward('ring', '+442079460000', [noAnswer('busy')]), hangup('busy', 480)] },
      flow: {
        entryStepId: 'ring',
        steps: [
          { id: 'ring', app: DialPlanApp.FORWARD, forward: { target: '+442079460000', ringTimeoutSeconds: 30, callerId: ForwardCallerId.KEEP_CALLER }, exits: [noAnswer('busy')] },
          { id: 'busy', app: DialPlanApp.HANGUP, hangup: { status: 480 }, exits: [] },
        ],
      },
    },
    {
      name: 'a null ring timeout defaults to 30',
      draft: { entryStepId: 'ring', steps: [forward('ring', '+442079460000', [], null)] },
      flow: { entryStepId: 'ring', steps: [{ id: 'ring', app: DialPlanApp.FORWARD, forward: { target: '+442079460000', ringTimeoutSeconds: 30, callerId: ForwardCallerId.KEEP_CALLER }, exits: [] }] },
    },
    {
      name: 'an E.164 target written with spaces is normalised',
      draft: { entryStepId: 'ring', steps: [forward('ring', '+44 20 7946 0000', [], 20)] },
      flow: { entryStepId: 'ring', steps: [{ id: 'ring', app: DialPlanApp.FORWARD, forward: { target: '+442079460000', ringTimeoutSeconds: 20, callerId: ForwardCallerId.KEEP_CALLER }, exits: [] }] },
    },
    {
      name: 'a sip: target is kept as written, surrounding blanks trimmed',
      draft: { entryStepId: 'ring', steps: [forward('ring', '  sip:alice@pbx.example.com:5080;transport=tcp ', [], 5)] },
      flow: {
        entryStepId: 'ring',
        steps: [{ id: 'ring', app: DialPlanApp.FORWARD, forward: { target: 'sip:alice@pbx.example.com:5080;transport=tcp', ringTimeoutSeconds: 5, callerId: ForwardCallerId.KEEP_CALLER }, exits: [] }],
      },
    },
    {
      name: 'the largest ring timeout, 300',
      draft: { entryStepId: 'ring', steps: [forward('ring', 'sip:10.0.0.1', [], 300)] },
      flow: { entryStepId: 'ring', steps: [{ id: 'ring', app: DialPlanApp.FORWARD, forward: { target: 'sip:10.0.0.1', ringTimeoutSeconds: 300, callerId: ForwardCallerId.KEEP_CALLER }, exits: [] }] },
    },
    {
      name: 'HANGUP status at the bounds 400 and 699, exits null read as none',
      draft: {
        entryStepId: 'ring',
        steps: [forward('ring', '+442079460000', [noAnswer('low')]), { id: 'low', app: DialPlanApp.HANGUP, hangup: { status: 400 }, exits: null }],
      },
      flow: {
        entryStepId: 'ring',
        steps: [
          { id: 'ring', app: DialPlanApp.FORWARD, forward: { target: '+442079460000', ringTimeoutSeconds: 30, callerId: ForwardCallerId.KEEP_CALLER }, exits: [noAnswer('low')] },
          { id: 'low', app: DialPlanApp.HANGUP, hangup: { status: 400 }, exits: [] },
        ],
      },
    },
    {
      name: 'HANGUP status 699',
      draft: { entryStepId: 'x', steps: [hangup('x', 699)] },
      flow: { entryStepId: 'x', steps: [{ id: 'x', app: DialPlanApp.HANGUP, hangup: { status: 699 }, exits: [] }] },
    },
    {
      name: "another app's settings given as null are ignored",
      draft: { entryStepId: 'ring', steps: [{ id: 'ring', app: DialPlanApp.FORWARD, forward: { target: 'sip:bob@example.com' }, hangup: null }] },
      flow: { entryStepId: 'ring', steps: [{ id: 'ring', app: DialPlanApp.FORWARD, forward: { target: 'sip:bob@example.com', ringTimeoutSeconds: 30, callerId: ForwardCallerId.KEEP_CALLER }, exits: [] }] },
    },
    {
      name: 'a FORWARD -> FORWARD loop (FORWARD waits, so the loop cannot spin)',
      draft: { entryStepId: 'a', steps: [forward('a', '+442079460000', [noAnswer('b')]), forward('b', 'sip:backup@example.com', [noAnswer('a')])] },
      flow: {
        entryStepId: 'a',
        steps: [
          { id: 'a', app: DialPlanApp.FORWARD, forward: { target: '+442079460000', ringTimeoutSeconds: 30, callerId: ForwardCallerId.KEEP_CALLER }, exits: [noAnswer('b')] },
          { id: 'b', app: DialPlanApp.FORWARD, forward: { target: 'sip:backup@example.com', ringTimeoutSeconds: 30, callerId: ForwardCallerId.KEEP_CALLER }, exits: [noAnswer('a')] },
        ],
      },
    },
    {
      name: 'a FORWARD step that loops to itself',
      draft: { entryStepId: 'a', steps: [forward('a', '+442079460000', [noAnswer('a')])] },
      flow: { entryStepId: 'a', steps: [{ id: 'a', app: DialPlanApp.FORWARD, forward: { target: '+442079460000', ringTimeoutSeconds: 30, callerId: ForwardCallerId.KEEP_CALLER }, exits: [noAnswer('a')] }] },
    },
    {
      name: 'step order is kept, not reordered from the entry',
      draft: { entryStepId: 'start', steps: [hangup('end', 603), forward('start', '+442079460000', [noAnswer('end')])] },
      flow: {
        entryStepId: 'start',
        steps: [
          { id: 'end', app: DialPlanApp.HANGUP, hangup: { status: 603 }, exits: [] },
          { id: 'start', app: DialPlanApp.FORWARD, forward: { target: '+442079460000', ringTimeoutSeconds: 30, callerId: ForwardCallerId.KEEP_CALLER }, exits: [noAnswer('end')] },
        ],
      },
    },
    {
      name: 'a FORWARD presenting the dial plan number keeps callerId DIAL_PLAN_NUMBER',
      draft: { entryStepId: 'ring', steps: [{ id: 'ring', app: DialPlanApp.FORWARD, forward: { target: '+442079460000', callerId: ForwardCallerId.DIAL_PLAN_NUMBER } }] },
      flow: { entryStepId: 'ring', steps: [{ id: 'ring', app: DialPlanApp.FORWARD, forward: { target: '+442079460000', ringTimeoutSeconds: 30, callerId: ForwardCallerId.DIAL_PLAN_NUMBER }, exits: [] }] },
    },
    {
      name: 'a null callerId is KEEP_CALLER',
      draft: { entryStepId: 'ring', steps: [{ id: 'ring', app: DialPlanApp.FORWARD, forward: { target: '+442079460000', callerId: null } }] },
      flow: { entryStepId: 'ring', steps: [{ id: 'ring', app: DialPlanApp.FORWARD, forward: { target: '+442079460000', ringTimeoutSeconds: 30, callerId: ForwardCallerId.KEEP_CALLER }, exits: [] }] },
    },
    {
      name: 'step ids of 64 letters, digits, "_" and "-"',
      draft: { entryStepId: `A_b-9${'x'.repeat(59)}`, steps: [hangup(`A_b-9${'x'.repeat(59)}`)] },
      flow: { entryStepId: `A_b-9${'x'.repeat(59)}`, steps: [{ id: `A_b-9${'x'.repeat(59)}`, app: DialPlanApp.HANGUP, hangup: { status: 486 }, exits: [] }] },
    },
  ];

  for (const row of rows) {
    it(row.name, () => {
      expect(validateFlow(row.draft)).to.deep.equal({ ok: true, flow: row.flow });
    });
  }

  it(`accepts exactly ${MAX_FLOW_STEPS} steps, in the order given`, () => {
    const result = validateFlow({ entryStepId: 's0', steps: chain(MAX_FLOW_STEPS) });
    expect(result.ok).to.equal(true);
    if (!result.ok) return;
    expect(result.flow.steps.map((step) => step.id)).to.deep.equal(chain(MAX_FLOW_STEPS).map((step) => step.id));
  });
});

describe('validateFlow: refused flows', () => {
  const rows: { name: string; draft: FlowDraft; problems: string[] }[] = [
    {
      name: 'no steps',
      draft: { entryStepId: 'start', steps: [] },
      problems: ['flow.steps: a flow needs at least one step', 'flow.entryStepId: no step "start"'],
    },
    {
      name: `more than ${MAX_FLOW_STEPS} steps`,
      draft: { entryStepId: 's0', steps: chain(MAX_FLOW_STEPS + 1) },
      problems: [`flow.steps: at most ${MAX_FLOW_STEPS} steps`],
    },
    {
      name: 'a step id with a space',
      draft: { entryStepId: 'bad id', steps: [hangup('bad id')] },
      problems: ['flow.steps[0].id must be 1..64 letters, digits, "_" or "-"'],
    },
    {
      name: 'an empty step id',
      draft: { entryStepId: '', steps: [hangup('')] },
      problems: ['flow.steps[0].id must be 1..64 letters, digits, "_" or "-"'],
    },
    {
      name: 'a step id of 65 characters',
      draft: { entryStepId: 'x'.repeat(65), steps: [hangup('x'.repeat(65))] },
      problems: ['flow.steps[0].id must be 1..64 letters, digits, "_" or "-"'],
    },
    {
      name: 'a duplicate step id',
      draft: { entryStepId: 'a', steps: [forward('a', '+442079460000', [noAnswer('a')]), hangup('a')] },
      problems: ['flow.steps[1].id "a" is used by another step'],
    },
    {
      name: 'an entry step that does not exist',
      draft: { entryStepId: 'nope', steps: [hangup('busy')] },
      problems: ['flow.entryStepId: no step "nope"'],
    },
    {
      name: 'a callerId that is no presentation',
      draft: { entryStepId: 'ring', steps: [{ id: 'ring', app: DialPlanApp.FORWARD, forward: { target: '+442079460000', callerId: 'WITHHELD' as ForwardCallerId } }] },
      problems: ['flow.steps[0].forward.callerId must be one of KEEP_CALLER, DIAL_PLAN_NUMBER'],
    },
    {
      name: 'FORWARD without forward settings',
      draft: { entryStepId: 'ring', steps: [{ id: 'ring', app: DialPlanApp.FORWARD }] },
      problems: ['flow.steps[0]: a FORWARD step needs forward settings'],
    },
    {
      name: 'FORWARD with forward settings null',
      draft: { entryStepId: 'ring', steps: [{ id: 'ring', app: DialPlanApp.FORWARD, forward: null }] },
      problems: ['flow.steps[0]: a FORWARD step needs forward settings'],
    },
    {
      name: 'HANGUP without hangup settings',
      draft: { entryStepId: 'busy', steps: [{ id: 'busy', app: DialPlanApp.HANGUP }] },
      problems: ['flow.steps[0]: a HANGUP step needs hangup settings'],
    },
    {
      name: 'hangup settings on a FORWARD step',
      draft: { entryStepId: 'ring', steps: [{ id: 'ring', app: DialPlanApp.FORWARD, forward: { target: '+442079460000' }, hangup: { status: 486 } }] },
      problems: ['flow.steps[0]: hangup settings do not belong to a FORWARD step'],
    },
    {
      name: 'forward settings on a HANGUP step',
      draft: { entryStepId: 'busy', steps: [{ id: 'busy', app: DialPlanApp.HANGUP, hangup: { status: 486 }, forward: { target: '+442079460000' } }] },
      problems: ['flow.steps[0]: forward settings do not belong to a HANGUP step'],
    },
    ...['12345', '442079460000', '020 7946 0000', '+44 20', 'tel:+442079460000', 'sip:', 'sip:alice@', 'alice@example.com', '+442079460000 x12'].map((target) => ({
      name: `forward target ${JSON.stringify(target)}`,
      draft: { entryStepId: 'ring', steps: [forward('ring', target)] },
      problems: [`flow.steps[0].forward.target: "${target}" is neither an E.164 number nor a sip: URI`],
    })),
    {
      name: 'a sips: forward target',
      draft: { entryStepId: 'ring', steps: [forward('ring', 'sips:alice@example.com')] },
      problems: ['flow.steps[0].forward.target: "sips:alice@example.com" is neither an E.164 number nor a sip: URI'],
    },
    ...[4, 301, 0, -30, 30.5].map((ringTimeoutSeconds) => ({
      name: `ring timeout ${ringTimeoutSeconds}`,
      draft: { entryStepId: 'ring', steps: [forward('ring', '+442079460000', [], ringTimeoutSeconds)] },
      problems: ['flow.steps[0].forward.ringTimeoutSeconds must be 5..300'],
    })),
    ...[399, 700, 200, 486.5].map((status) => ({
      name: `HANGUP status ${status}`,
      draft: { entryStepId: 'busy', steps: [hangup('busy', status)] },
      problems: ['flow.steps[0].hangup.status must be a SIP final status 400..699'],
    })),
    {
      name: 'an exit on a HANGUP step, which has none',
      draft: { entryStepId: 'busy', steps: [hangup('busy', 486, [noAnswer('other')]), hangup('other')] },
      problems: ['flow.steps[0].exits[0].on: a HANGUP step has no exits, not "noAnswer"'],
    },
    {
      name: 'a FORWARD exit other than noAnswer',
      draft: { entryStepId: 'ring', steps: [forward('ring', '+442079460000', [{ on: 'busy', stepId: 'end' }]), hangup('end')] },
      problems: ['flow.steps[0].exits[0].on: a FORWARD step has exits noAnswer, not "busy"'],
    },
    {
      name: 'the same exit given twice',
      draft: { entryStepId: 'ring', steps: [forward('ring', '+442079460000', [noAnswer('end'), noAnswer('end')]), hangup('end')] },
      problems: ['flow.steps[0].exits[1].on: exit "noAnswer" is given twice'],
    },
    {
      name: 'an exit to a step that does not exist',
      draft: { entryStepId: 'ring', steps: [forward('ring', '+442079460000', [noAnswer('ghost')])] },
      problems: ['flow.steps[0].exits[0].stepId: no step "ghost"'],
    },
    {
      name: 'a step not reachable from the entry',
      draft: { entryStepId: 'ring', steps: [forward('ring'), hangup('orphan')] },
      problems: ['flow.steps: unreachable from the entry step: orphan'],
    },
    {
      name: 'every unreachable step named, a loop among them included',
      draft: { entryStepId: 'start', steps: [hangup('start'), forward('a', '+442079460000', [noAnswer('b')]), forward('b', '+442079460000', [noAnswer('a')])] },
      problems: ['flow.steps: unreachable from the entry step: a, b'],
    },
    {
      name: 'every problem reported, not only the first',
      draft: {
        entryStepId: 'ring',
        steps: [forward('ring', 'sips:x@example.com', [{ on: 'busy', stepId: 'ghost' }], 1), hangup('end', 300), hangup('end')],
      },
      problems: [
        'flow.steps[0].forward.target: "sips:x@example.com" is neither an E.164 number nor a sip: URI',
        'flow.steps[0].forward.ringTimeoutSeconds must be 5..300',
        'flow.steps[1].hangup.status must be a SIP final status 400..699',
        'flow.steps[2].id "end" is used by another step',
        'flow.steps[0].exits[0].on: a FORWARD step has exits noAnswer, not "busy"',
        'flow.steps[0].exits[0].stepId: no step "ghost"',
      ],
    },
  ];

  for (const row of rows) {
    it(row.name, () => {
      expect(validateFlow(row.draft)).to.deep.equal({ ok: false, problems: row.problems });
    });
  }
});

describe('app definitions', () => {
  const settings: Record<DialPlanApp, { valid: unknown; invalid: unknown; rule: RegExp }> = {
    [DialPlanApp.FORWARD]: { valid: { target: '+442079460000' }, invalid: { target: 'nowhere', ringTimeoutSeconds: 4, callerId: ForwardCallerId.KEEP_CALLER }, rule: /^flow\.steps\[3\]\.forward\.(target|ringTimeoutSeconds)/ },
    [DialPlanApp.HANGUP]: { valid: { status: 486 }, invalid: { status: 200 }, rule: /^flow\.steps\[3\]\.hangup\.status must be/ },
    [DialPlanApp.TIME_CONDITION]: {
      valid: { rules: [{ weekdays: ['MONDAY'], from: '09:00', to: '17:00' }] },
      invalid: { rules: [{ weekdays: ['MONDAY'], from: '25:00', to: '17:00' }], holidays: [{ from: '2026-12-26', to: '2026-12-24' }] },
      rule: /^flow\.steps\[3\]\.timeCondition\.(rules\[0\]\.from: "25:00" is not a time|holidays\[0\]: from is after to)/,
    },
    [DialPlanApp.CALLER_CONDITION]: {
      valid: { prefixes: ['+44'] },
      invalid: { numbers: ['0207'], prefixes: ['44'] },
      rule: /^flow\.steps\[3\]\.callerCondition\.(numbers\[0\]: "0207" is not an E\.164|prefixes\[0\]: "44" is not \+)/,
    },
    [DialPlanApp.GOTO_DIAL_PLAN]: {
      valid: { dialPlanId: '6f1c1c2e-3b7a-4d7e-9a57-3c0b1f6f2a10' },
      invalid: { dialPlanId: 'plan-b' },
      rule: /^flow\.steps\[3\]\.gotoDialPlan\.dialPlanId: "plan-b" is not a dial plan id$/,
    },
    [DialPlanApp.RING_GROUP]: {
      valid: { strategy: 'PARALLEL', targets: [{ target: '+442079460000' }] },
      invalid: { strategy: 'PARALLEL', targets: [{ target: 'nowhere' }], ringTimeoutSeconds: 301 },
      rule: /^flow\.steps\[3\]\.ringGroup\.(targets\[0\]\.target|ringTimeoutSeconds)/,
    },
    [DialPlanApp.WEBHOOK]: { valid: { url: 'https://example.com/route' }, invalid: { url: 'http://127.0.0.1/x', timeoutSeconds: 11 }, rule: /^flow\.steps\[3\]\.webhook\.(url|timeoutSeconds)/ },
  };

  it('every DialPlanApp has a definition whose settings key is the app name in camel case', () => {
    for (const app of Object.values(DialPlanApp)) {
      const definition = APPS[app];
      expect(definition, app).to.not.equal(undefined);
      expect(definition.settingsKey.toUpperCase(), app).to.equal(app.replace(/_/g, ''));
    }
    expect(Object.keys(APPS).sort()).to.deep.equal(Object.values(DialPlanApp).sort());
  });

  for (const app of Object.values(DialPlanApp)) {
    it(`${app}: valid settings normalise without problems; invalid ones name the step's settings and the rule`, () => {
      const definition = APPS[app] as AppDefinition<string, unknown, unknown>;
      const clean: string[] = [];
      expect(definition.normalise(settings[app].valid, 'flow.steps[0].x', clean)).to.not.equal(null);
      expect(clean).to.deep.equal([]);
      const problems: string[] = [];
      definition.normalise(settings[app].invalid, `flow.steps[3].${definition.settingsKey}`, problems);
      expect(problems).to.not.deep.equal([]);
      for (const problem of problems) expect(problem).to.match(settings[app].rule);
    });
  }

  it('a step of an app with no exits refuses any exit; a waiting app breaks a loop', () => {
    for (const app of Object.values(DialPlanApp)) {
      const definition = APPS[app];
      expect(definition.exits.every((exit) => /^[a-z][A-Za-z]*$/.test(exit)), app).to.equal(true);
    }
    expect(APPS[DialPlanApp.FORWARD].waits).to.equal(true);
    expect(APPS[DialPlanApp.HANGUP].waits).to.equal(false);
    // Conditions and gotos decide at once: a loop through them alone would spin.
    expect(APPS[DialPlanApp.TIME_CONDITION].waits).to.equal(false);
    expect(APPS[DialPlanApp.CALLER_CONDITION].waits).to.equal(false);
    expect(APPS[DialPlanApp.GOTO_DIAL_PLAN].waits).to.equal(false);
  });
});

describe('stepsPresentingPlanNumber: the steps that need the plan to have an external number', () => {
  it('names each FORWARD with DIAL_PLAN_NUMBER by position and id, and none other', () => {
    const flow = {
      steps: [
        { id: 'keep', forward: { callerId: ForwardCallerId.KEEP_CALLER } },
        { id: 'busy' },
        { id: 'office', forward: { callerId: ForwardCallerId.DIAL_PLAN_NUMBER } },
        { id: 'stored-before', forward: {} },
      ],
    };
    expect(stepsPresentingPlanNumber(flow)).to.deep.equal(['flow.steps[2] ("office")']);
  });
});

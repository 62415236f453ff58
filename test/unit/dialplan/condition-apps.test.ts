import { expect } from 'chai';
import { planSnapshot, PLAN_CALL_DEFAULTS } from '../../support/plan-call';
import pino from 'pino';
import { DialPlanApp, type Flow, type FlowStep } from '../../../domain/flow/flow';
import type { TimeWindow } from '../../../domain/time-window';
import { Branch } from '../../../worker/calls/branch';
import type { CompanyConfig, DialPlanConfig } from '../../../worker/config/snapshot';
import { DIAL_PLAN_LOOP_STATUS, MAX_DIAL_PLAN_HOPS, PlanRunner, type PlanCall, type PlanEnd, type StepEvent } from '../../../worker/dialplan/runner';
import type { SipRequest } from '../../../worker/sip/message';
import { FakeClock, FakePort, responseTo } from '../../support/fakes';

const COMPANY = 'company-a';
const OTHER_COMPANY = 'company-b';
const PLAN_IDS = Array.from({ length: 16 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);

function invite(from: string, privacy?: string, did = '+442079460001'): SipRequest {
  return {
    method: 'INVITE',
    uri: `sip:${did}@192.0.2.1`,
    headers: {
      via: [{ host: '198.51.100.7', params: { branch: 'z9hG4bKc' } }],
      to: { uri: `sip:${did}@192.0.2.1`, params: {} },
      from: { uri: from, params: { tag: 'a' } },
      'call-id': 'cond-1',
      cseq: { seq: 1, method: 'INVITE' },
      ...(privacy === undefined ? {} : { privacy }),
    },
  };
}

const hangup = (id: string, status: number): FlowStep => ({ id, app: DialPlanApp.HANGUP, hangup: { status }, exits: [] });

/** A condition step whose `match` ends with 601 and `noMatch` with 602: the exit taken shows in the status. */
function conditionFlow(step: FlowStep): Flow {
  return {
    entryStepId: step.id,
    steps: [
      { ...step, exits: [{ on: 'match', stepId: 'matched' }, { on: 'noMatch', stepId: 'unmatched' }] } as FlowStep,
      hangup('matched', 601),
      hangup('unmatched', 602),
    ],
  };
}

interface RunOptions {
  readonly at?: number;
  readonly invite?: SipRequest;
  readonly plans?: readonly DialPlanConfig[];
  readonly companies?: readonly CompanyConfig[];
  readonly companyId?: string;
}

function run(flow: Flow, options: RunOptions = {}, dialPlanId = 'first-plan') {
  const clock = new FakeClock();
  clock.advance(options.at ?? 0);
  const port = new FakePort();
  const ends: PlanEnd[] = [];
  const warnings: string[] = [];
  const events: StepEvent[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push(String(JSON.parse(line).msg)) });
  const call: PlanCall = {
    ...PLAN_CALL_DEFAULTS,
    invite: options.invite ?? invite('sip:+4930901820@carrier'),
    port,
    clock,
    logger,
    recordRoute: { uri: 'sip:192.0.2.1:5060;lr', params: {} },
    startBranch: (branchOptions) => new Branch({ ...branchOptions, onProvisional: () => undefined, onAnswerRetransmitted: () => undefined }, port, clock).start(),
    facts: { ...PLAN_CALL_DEFAULTS.facts, companyId: options.companyId ?? COMPANY },
    snapshot: planSnapshot({
      dialPlans: new Map((options.plans ?? []).map((plan) => [plan.id, plan])),
      companies: new Map((options.companies ?? [{ id: COMPANY, timeZone: 'Europe/Berlin' }]).map((company) => [company.id, company])),
      outboundGateway: 'sip:198.51.100.20:5070',
    }),
  };
  new PlanRunner({ id: dialPlanId, flow }, call, (end) => ends.push(end), (event) => events.push(event)).start();
  return { port, ends, warnings, events };
}

const OFFICE_HOURS: TimeWindow = {
  rules: [
    { weekdays: ['MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY'], from: '08:00', to: '18:00' },
    { weekdays: ['THURSDAY'], from: '21:00', to: '23:00' },
  ],
  holidays: [{ from: '2026-12-24', to: '2026-12-26' }],
};
const TIME_STEP: FlowStep = { id: 'hours', app: DialPlanApp.TIME_CONDITION, timeCondition: OFFICE_HOURS, exits: [] };

describe('TIME_CONDITION executor (fake clock, company time zone)', () => {
  const rows: { name: string; at: string; timeZone: string; status: number }[] = [
    { name: 'Thursday 22:00 in Berlin, a working day: in the evening rule', at: '2026-12-17T21:00:00Z', timeZone: 'Europe/Berlin', status: 601 },
    { name: 'Thursday 22:00 in Berlin on a holiday (24 Dec): noMatch', at: '2026-12-24T21:00:00Z', timeZone: 'Europe/Berlin', status: 602 },
    { name: 'Thursday 10:00 in Berlin on a holiday: noMatch', at: '2026-12-24T09:00:00Z', timeZone: 'Europe/Berlin', status: 602 },
    { name: 'Wednesday 22:00 in Berlin: no rule covers it', at: '2026-12-16T21:00:00Z', timeZone: 'Europe/Berlin', status: 602 },
    { name: 'the same instant read in New York (Thursday 16:00): office hours', at: '2026-12-17T21:00:00Z', timeZone: 'America/New_York', status: 601 },
    { name: 'Friday 17:59 in Berlin: matches; 18:00 does not (to is exclusive)', at: '2026-12-18T16:59:00Z', timeZone: 'Europe/Berlin', status: 601 },
    { name: 'Friday 18:00 in Berlin: noMatch', at: '2026-12-18T17:00:00Z', timeZone: 'Europe/Berlin', status: 602 },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const { ends } = run(conditionFlow(TIME_STEP), { at: Date.parse(row.at), companies: [{ id: COMPANY, timeZone: row.timeZone }] });
      expect(ends).to.deep.equal([{ kind: 'Respond', status: row.status }]);
    });
  }

  it('a company missing from the snapshot has no time zone: noMatch, logged', () => {
    const { ends, warnings } = run(conditionFlow(TIME_STEP), { at: Date.parse('2026-12-17T21:00:00Z'), companies: [] });
    expect(ends).to.deep.equal([{ kind: 'Respond', status: 602 }]);
    expect(warnings).to.deep.equal(['time condition: no time zone for the company; noMatch']);
  });
});

describe('CALLER_CONDITION executor', () => {
  const step: FlowStep = {
    id: 'vip',
    app: DialPlanApp.CALLER_CONDITION,
    callerCondition: { numbers: ['+4930901820'], prefixes: ['+4989'], anonymous: true },
    exits: [],
  };
  const rows: { name: string; from: string; privacy?: string; did?: string; status: number }[] = [
    { name: 'an exact number', from: 'sip:+4930901820@carrier', status: 601 },
    { name: 'the same number in 00 form', from: 'sip:004930901820@carrier', status: 601 },
    { name: 'a prefix', from: 'sip:+498912345678@carrier', status: 601 },
    { name: 'a national number read in the dialled number\'s country (DE)', from: 'sip:08912345678@carrier', did: '+4930123456', status: 601 },
    { name: 'the same national number dialled to a UK number: another number', from: 'sip:08912345678@carrier', status: 602 },
    { name: 'another number', from: 'sip:+442079460000@carrier', status: 602 },
    { name: 'an anonymous user part', from: 'sip:anonymous@anonymous.invalid', status: 601 },
    { name: 'a number withheld by Privacy: id', from: 'sip:+442079460000@carrier', privacy: 'id', status: 601 },
    { name: 'a user part that is no number', from: 'sip:alice@carrier', status: 602 },
  ];
  for (const row of rows) {
    it(`${row.name}: ${row.status === 601 ? 'match' : 'noMatch'}`, () => {
      const { ends } = run(conditionFlow(step), { invite: invite(row.from, row.privacy, row.did) });
      expect(ends).to.deep.equal([{ kind: 'Respond', status: row.status }]);
    });
  }

  it('without anonymous set, a withheld number is noMatch even when it is listed', () => {
    const strict: FlowStep = { ...step, callerCondition: { numbers: ['+4930901820'], prefixes: [], anonymous: false } } as FlowStep;
    const { ends } = run(conditionFlow(strict), { invite: invite('sip:+4930901820@carrier', 'user') });
    expect(ends).to.deep.equal([{ kind: 'Respond', status: 602 }]);
  });
});

describe('GOTO_DIAL_PLAN executor and the hop limit', () => {
  const gotoStep = (id: string, dialPlanId: string): FlowStep => ({ id, app: DialPlanApp.GOTO_DIAL_PLAN, gotoDialPlan: { dialPlanId }, exits: [] });
  /** Plan i goes to plan i+1; the last one hangs up with 486. */
  function chain(length: number, companyId = COMPANY): DialPlanConfig[] {
    return Array.from({ length }, (_, i) => ({
      id: PLAN_IDS[i],
      companyId,
      name: `Plan ${i}`,
      flow: { entryStepId: 'go', steps: [i === length - 1 ? hangup('go', 486) : gotoStep('go', PLAN_IDS[i + 1])] },
    }));
  }

  it('continues at the entry of the target plan', () => {
    const target: DialPlanConfig = {
      id: PLAN_IDS[1],
      companyId: COMPANY,
      name: 'Mobile',
      flow: { entryStepId: 'mobile', steps: [{ id: 'mobile', app: DialPlanApp.FORWARD, forward: { target: 'sip:m@192.0.2.9', ringTimeoutSeconds: 5 }, exits: [] }] },
    };
    const { port, ends } = run({ entryStepId: 'go', steps: [gotoStep('go', target.id)] }, { plans: [target] });
    expect(port.sent.map((sent) => sent.request.uri)).to.deep.equal(['sip:m@192.0.2.9']);
    const answer = responseTo(port.sent[0].request, 200);
    port.sent[0].respond(answer);
    expect(ends).to.deep.equal([{ kind: 'Answered', response: answer, callee: { address: '192.0.2.9', port: 5060 } }]);
  });

  it(`a chain of ${MAX_DIAL_PLAN_HOPS} hops runs to its end`, () => {
    const plans = chain(MAX_DIAL_PLAN_HOPS + 1);
    const { ends, warnings, events } = run(plans[0].flow, { plans }, plans[0].id);
    expect(ends).to.deep.equal([{ kind: 'Respond', status: 486 }]);
    expect(warnings).to.deep.equal([]);
    // Each step entered names the plan it belongs to; a goto is left by no exit.
    const entered = events.filter((event) => event.kind === 'Entered');
    expect(entered.map((event) => event.dialPlanId)).to.deep.equal(plans.map((plan) => plan.id));
    expect(events.filter((event) => event.kind === 'Left')).to.deep.equal([]);
  });

  it(`hop ${MAX_DIAL_PLAN_HOPS + 1} ends the call with ${DIAL_PLAN_LOOP_STATUS}, one log line`, () => {
    const plans = chain(MAX_DIAL_PLAN_HOPS + 2);
    const { ends, warnings } = run(plans[0].flow, { plans });
    expect(ends).to.deep.equal([{ kind: 'Respond', status: DIAL_PLAN_LOOP_STATUS }]);
    expect(warnings).to.deep.equal(['dial plan hop limit reached: a cycle of GOTO_DIAL_PLAN steps; the call ends with 482']);
  });

  it('a cycle of two plans is cut by the hop limit with 482', () => {
    const a: DialPlanConfig = { id: PLAN_IDS[0], companyId: COMPANY, name: 'A', flow: { entryStepId: 'go', steps: [gotoStep('go', PLAN_IDS[1])] } };
    const b: DialPlanConfig = { id: PLAN_IDS[1], companyId: COMPANY, name: 'B', flow: { entryStepId: 'go', steps: [gotoStep('go', PLAN_IDS[0])] } };
    const { ends, warnings } = run(a.flow, { plans: [a, b] });
    expect(ends).to.deep.equal([{ kind: 'Respond', status: DIAL_PLAN_LOOP_STATUS }]);
    expect(warnings).to.have.length(1);
  });

  it("a target missing from the snapshot or of another company ends the call with 480, logged", () => {
    const foreign = chain(1, OTHER_COMPANY)[0];
    for (const plans of [[], [foreign]]) {
      const { ends, warnings } = run({ entryStepId: 'go', steps: [gotoStep('go', PLAN_IDS[0])] }, { plans });
      expect(ends).to.deep.equal([{ kind: 'Respond', status: 480 }]);
      expect(warnings).to.deep.equal(['goto dial plan: no such dial plan in the company; the call ends']);
    }
  });
});

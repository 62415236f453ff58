import { expect } from 'chai';
import { DialPlanApp, type Flow } from '../../../domain/flow/flow';
import { MAX_SIMULATED_GOTO_HOPS, MAX_SIMULATED_STEPS, simulatePlan, type SimulatedCall } from '../../../api/simulate/plan-path';
import type { DialPlanConfig } from '../../../worker/config/snapshot';
import { MAX_DIAL_PLAN_HOPS, MAX_STEPS_PER_CALL } from '../../../worker/dialplan/runner';

const CALL: SimulatedCall = { did: '+442079461000', caller: null, timeZone: 'Europe/Berlin', at: new Date('2026-12-22T21:00:00Z') };

const plan = (id: string, flow: Flow): DialPlanConfig => ({ id, companyId: 'c', name: id, flow });
const gotoPlan = (id: string, target: string) => plan(id, { entryStepId: 'go', steps: [{ id: 'go', app: DialPlanApp.GOTO_DIAL_PLAN, gotoDialPlan: { dialPlanId: target }, exits: [] }] });
const hangupPlan = (id: string) => plan(id, { entryStepId: 'bye', steps: [{ id: 'bye', app: DialPlanApp.HANGUP, hangup: { status: 480 }, exits: [] }] });

/** `gotos` plans each moving on to the next, then a plan that hangs up. */
function chain(gotos: number): Map<string, DialPlanConfig> {
  const plans = new Map<string, DialPlanConfig>();
  for (let index = 0; index < gotos; index++) plans.set(`p${index}`, gotoPlan(`p${index}`, `p${index + 1}`));
  plans.set(`p${gotos}`, hangupPlan(`p${gotos}`));
  return plans;
}

describe('simulatePlan: GOTO_DIAL_PLAN hops', () => {
  it("stops where the worker's runner stops", () => {
    expect(MAX_SIMULATED_GOTO_HOPS).to.equal(MAX_DIAL_PLAN_HOPS);
  });

  it(`follows a chain of ${MAX_SIMULATED_GOTO_HOPS} hops to its end`, () => {
    const plans = chain(MAX_SIMULATED_GOTO_HOPS);
    const steps = simulatePlan(plans.get('p0') as DialPlanConfig, plans, CALL);
    expect(steps).to.have.length(MAX_SIMULATED_GOTO_HOPS + 1);
    expect(steps[steps.length - 1]).to.deep.equal({ dialPlanId: `p${MAX_SIMULATED_GOTO_HOPS}`, stepId: 'bye', app: DialPlanApp.HANGUP, exit: null });
  });

  it('cuts the path after the hop limit: one hop more is not followed', () => {
    const plans = chain(MAX_SIMULATED_GOTO_HOPS + 1);
    const steps = simulatePlan(plans.get('p0') as DialPlanConfig, plans, CALL);
    expect(steps).to.have.length(MAX_SIMULATED_GOTO_HOPS + 1);
    expect(steps.every((step) => step.app === DialPlanApp.GOTO_DIAL_PLAN)).to.equal(true);
  });

  it('a GOTO to a plan that is gone ends the path', () => {
    const plans = new Map([['p0', gotoPlan('p0', 'gone')]]);
    expect(simulatePlan(plans.get('p0') as DialPlanConfig, plans, CALL)).to.deep.equal([{ dialPlanId: 'p0', stepId: 'go', app: DialPlanApp.GOTO_DIAL_PLAN, exit: null }]);
  });
});

describe('simulatePlan: flows that loop through a FORWARD', () => {
  const forward = (id: string, noAnswer: string) => ({ id, app: DialPlanApp.FORWARD, forward: { target: 'sip:desk@192.0.2.10', ringTimeoutSeconds: 5 }, exits: [{ on: 'noAnswer', stepId: noAnswer }] }) as const;

  it("stops where the worker's runner stops", () => {
    expect(MAX_SIMULATED_STEPS).to.equal(MAX_STEPS_PER_CALL);
  });

  it(`a FORWARD whose noAnswer leads back to it: ${MAX_SIMULATED_STEPS} steps, then the path is cut`, () => {
    const looping = plan('p0', { entryStepId: 'again', steps: [forward('again', 'again')] });
    const steps = simulatePlan(looping, new Map([['p0', looping]]), CALL);
    expect(steps).to.have.length(MAX_SIMULATED_STEPS);
    expect(steps.every((step) => step.stepId === 'again' && step.exit === 'noAnswer')).to.equal(true);
  });

  it('steps are counted across the plans a GOTO_DIAL_PLAN reaches', () => {
    const plans = new Map<string, DialPlanConfig>([
      ['p0', plan('p0', { entryStepId: 'go', steps: [{ id: 'go', app: DialPlanApp.GOTO_DIAL_PLAN, gotoDialPlan: { dialPlanId: 'p1' }, exits: [] }] })],
      ['p1', plan('p1', { entryStepId: 'a', steps: [forward('a', 'b'), forward('b', 'a')] })],
    ]);
    const steps = simulatePlan(plans.get('p0') as DialPlanConfig, plans, CALL);
    expect(steps).to.have.length(MAX_SIMULATED_STEPS);
    expect(steps.slice(0, 3).map((step) => `${step.dialPlanId}/${step.stepId}`)).to.deep.equal(['p0/go', 'p1/a', 'p1/b']);
  });
});

import { expect } from 'chai';
import { DialPlanApp, type Flow } from '../../../domain/flow/flow';
import { entry, next, type Next } from '../../../worker/dialplan/engine';
import { forwardRequestUri, literalDestination } from '../../../worker/dialplan/target';

const FLOW: Flow = {
  entryStepId: 'mobile',
  steps: [
    { id: 'mobile', app: DialPlanApp.FORWARD, forward: { target: '+447911123456', ringTimeoutSeconds: 20 }, exits: [{ on: 'noAnswer', stepId: 'office' }] },
    { id: 'office', app: DialPlanApp.FORWARD, forward: { target: 'sip:desk@192.0.2.10', ringTimeoutSeconds: 10 }, exits: [{ on: 'noAnswer', stepId: 'busy' }] },
    { id: 'busy', app: DialPlanApp.HANGUP, hangup: { status: 486 }, exits: [] },
  ],
};

const stepOf = (id: string): Next => ({ kind: 'Step', step: FLOW.steps.find((step) => step.id === id)! });

describe('dial plan engine', () => {
  it('starts at the entry step', () => {
    expect(entry(FLOW)).to.deep.equal(stepOf('mobile'));
  });

  it('ends a flow whose entry step does not exist', () => {
    expect(entry({ ...FLOW, entryStepId: 'ghost' })).to.deep.equal({ kind: 'End' });
  });

  const rows: { stepId: string; exit: string; expected: Next }[] = [
    { stepId: 'mobile', exit: 'noAnswer', expected: stepOf('office') },
    { stepId: 'office', exit: 'noAnswer', expected: stepOf('busy') },
    { stepId: 'mobile', exit: 'match', expected: { kind: 'End' } },
    { stepId: 'mobile', exit: 'NOANSWER', expected: { kind: 'End' } },
    { stepId: 'busy', exit: 'noAnswer', expected: { kind: 'End' } },
    { stepId: 'ghost', exit: 'noAnswer', expected: { kind: 'End' } },
  ];
  for (const row of rows) {
    it(`next from ${row.stepId} by "${row.exit}": ${row.expected.kind === 'Step' ? row.expected.step.id : 'the end'}`, () => {
      expect(next(FLOW, row.stepId, row.exit)).to.deep.equal(row.expected);
    });
  }

  it('ends when an exit names a step that is not in the flow', () => {
    const flow: Flow = { entryStepId: 'a', steps: [{ id: 'a', app: DialPlanApp.FORWARD, forward: { target: 'sip:a@192.0.2.1', ringTimeoutSeconds: 5 }, exits: [{ on: 'noAnswer', stepId: 'gone' }] }] };
    expect(next(flow, 'a', 'noAnswer')).to.deep.equal({ kind: 'End' });
  });

  it('follows a loop back to the same step: bounding it is the runner\'s job', () => {
    const flow: Flow = { entryStepId: 'a', steps: [{ id: 'a', app: DialPlanApp.FORWARD, forward: { target: 'sip:a@192.0.2.1', ringTimeoutSeconds: 5 }, exits: [{ on: 'noAnswer', stepId: 'a' }] }] };
    expect(next(flow, 'a', 'noAnswer')).to.deep.equal({ kind: 'Step', step: flow.steps[0] });
  });
});

describe('forwardRequestUri', () => {
  const rows: { target: string; gateway: string | null; expected: string | null }[] = [
    { target: '+447911123456', gateway: 'sip:gw.example.net:5070', expected: 'sip:+447911123456@gw.example.net:5070' },
    { target: '+447911123456', gateway: 'sip:192.0.2.1;transport=udp', expected: 'sip:+447911123456@192.0.2.1;transport=udp' },
    { target: '+447911123456', gateway: 'sip:[2001:db8::1]:5060', expected: 'sip:+447911123456@[2001:db8::1]:5060' },
    { target: '+447911123456', gateway: null, expected: null },
    { target: 'sip:desk@192.0.2.10:5080', gateway: null, expected: 'sip:desk@192.0.2.10:5080' },
    { target: 'not a target', gateway: 'sip:gw.example.net', expected: null },
  ];
  for (const row of rows) {
    it(`${row.target} via ${String(row.gateway)}`, () => {
      expect(forwardRequestUri(row.target, row.gateway)).to.equal(row.expected);
    });
  }
});

describe('literalDestination', () => {
  const rows: { uri: string; expected: unknown }[] = [
    { uri: 'sip:desk@192.0.2.10', expected: { address: '192.0.2.10', port: 5060 } },
    { uri: 'sip:desk@192.0.2.10:5080', expected: { address: '192.0.2.10', port: 5080 } },
    { uri: 'sip:desk@[2001:db8::1]:5070', expected: { address: '2001:db8::1', port: 5070 } },
    { uri: 'sip:desk@pbx.example.com', expected: null },
    { uri: 'not a uri', expected: null },
  ];
  for (const row of rows) {
    it(row.uri, () => {
      expect(literalDestination(row.uri)).to.deep.equal(row.expected);
    });
  }
});

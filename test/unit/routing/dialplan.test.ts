import { expect } from 'chai';
import { DialPlanApp, type Flow } from '../../../domain/flow/flow';
import { afterForward, MAX_STEPS_PER_CALL, start, type ForwardResult } from '../../../worker/dialplan/engine';
import { forwardRequestUri } from '../../../worker/dialplan/target';

const FLOW: Flow = {
  entryStepId: 'mobile',
  steps: [
    { id: 'mobile', app: DialPlanApp.FORWARD, forward: { target: '+447911123456', ringTimeoutSeconds: 20 }, exits: [{ on: 'noAnswer', stepId: 'office' }] },
    { id: 'office', app: DialPlanApp.FORWARD, forward: { target: 'sip:desk@192.0.2.10', ringTimeoutSeconds: 10 }, exits: [{ on: 'noAnswer', stepId: 'busy' }] },
    { id: 'busy', app: DialPlanApp.HANGUP, hangup: { status: 486 }, exits: [] },
  ],
};

describe('dial plan engine', () => {
  it('starts at the entry step', () => {
    expect(start(FLOW).action).to.deep.equal({ kind: 'Forward', stepId: 'mobile', target: '+447911123456', ringTimeoutMs: 20_000 });
  });

  const rows: { result: ForwardResult; expected: unknown }[] = [
    { result: 'answered', expected: null },
    { result: 'cancelled', expected: null },
    { result: 'noAnswer', expected: { kind: 'Forward', stepId: 'office', target: 'sip:desk@192.0.2.10', ringTimeoutMs: 10_000 } },
    { result: 'failed', expected: { kind: 'Forward', stepId: 'office', target: 'sip:desk@192.0.2.10', ringTimeoutMs: 10_000 } },
  ];
  for (const row of rows) {
    it(`after a FORWARD that ended "${row.result}"`, () => {
      const next = afterForward(start(FLOW).state, 'mobile', row.result);
      expect(next === null ? null : next.action).to.deep.equal(row.expected);
    });
  }

  it('follows noAnswer to HANGUP with its status', () => {
    const first = start(FLOW);
    const second = afterForward(first.state, 'mobile', 'noAnswer');
    expect(second?.action).to.deep.include({ kind: 'Forward', stepId: 'office' });
    const third = afterForward(second!.state, 'office', 'failed');
    expect(third?.action).to.deep.equal({ kind: 'Respond', stepId: 'busy', status: 486 });
  });

  it('ends with 480 when a FORWARD without a noAnswer exit is not answered', () => {
    const flow: Flow = { entryStepId: 'only', steps: [{ id: 'only', app: DialPlanApp.FORWARD, forward: { target: 'sip:a@192.0.2.1', ringTimeoutSeconds: 5 }, exits: [] }] };
    expect(afterForward(start(flow).state, 'only', 'noAnswer')?.action).to.deep.equal({ kind: 'Respond', stepId: 'only', status: 480 });
  });

  it('stops a plan that forwards in a circle after a bounded number of steps', () => {
    const flow: Flow = {
      entryStepId: 'a',
      steps: [{ id: 'a', app: DialPlanApp.FORWARD, forward: { target: 'sip:a@192.0.2.1', ringTimeoutSeconds: 5 }, exits: [{ on: 'noAnswer', stepId: 'a' }] }],
    };
    let step = start(flow);
    let forwards = 1;
    for (;;) {
      const next = afterForward(step.state, 'a', 'failed');
      if (next === null || next.action.kind !== 'Forward') {
        expect(next?.action).to.deep.equal({ kind: 'Respond', stepId: 'a', status: 480 });
        break;
      }
      forwards++;
      step = next;
    }
    expect(forwards).to.equal(MAX_STEPS_PER_CALL);
  });

  it('starts a HANGUP-only plan with its status', () => {
    const flow: Flow = { entryStepId: 'h', steps: [{ id: 'h', app: DialPlanApp.HANGUP, hangup: { status: 603 }, exits: [] }] };
    expect(start(flow).action).to.deep.equal({ kind: 'Respond', stepId: 'h', status: 603 });
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

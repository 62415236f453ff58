import { expect } from 'chai';
import { planInvite, planSnapshot, PLAN_CALL_DEFAULTS } from '../../support/plan-call';
import pino from 'pino';
import { DialPlanApp, ForwardCallerId, type Flow } from '../../../domain/flow/flow';
import { Branch } from '../../../worker/calls/branch';
import { MAX_STEPS_PER_CALL, PlanRunner, type PlanCall, type PlanEnd, type StepEvent } from '../../../worker/dialplan/runner';
import { FakeClock, FakePort, responseTo } from '../../support/fakes';

const INVITE = planInvite('plan-1', 'z9hG4bKr');

const FORWARD_THEN_HANGUP: Flow = {
  entryStepId: 'mobile',
  steps: [
    { id: 'mobile', app: DialPlanApp.FORWARD, forward: { target: '+447911123456', ringTimeoutSeconds: 20 }, exits: [{ on: 'noAnswer', stepId: 'busy' }] },
    { id: 'busy', app: DialPlanApp.HANGUP, hangup: { status: 486 }, exits: [] },
  ],
};

const PLAN_ID = '5f0c6a52-2b5d-4a43-9d6f-0c1b2a3d4e5f';

function run(flow: Flow, outboundGateway: string | null = 'sip:198.51.100.20:5070', numbers: Readonly<Record<string, string>> = {}) {
  const clock = new FakeClock();
  const port = new FakePort();
  const ends: PlanEnd[] = [];
  const events: StepEvent[] = [];
  const branches: Branch[] = [];
  const call: PlanCall = {
    ...PLAN_CALL_DEFAULTS,
    invite: INVITE,
    port,
    clock,
    logger: pino({ level: 'silent' }),
    recordRoute: { uri: 'sip:192.0.2.1:5060;lr', params: {} },
    snapshot: planSnapshot({ outboundGateway }),
    startBranch: (options) => {
      const branch = new Branch({ ...options, onProvisional: () => undefined, onAnswerRetransmitted: () => undefined }, port, clock);
      branches.push(branch);
      branch.start();
    },
    dialPlanNumber: (dialPlanId) => numbers[dialPlanId] ?? null,
  };
  new PlanRunner({ id: PLAN_ID, flow }, call, (end) => ends.push(end), (event) => events.push(event)).start();
  return { clock, port, ends, branches, events };
}

describe('PlanRunner: one call through its dial plan', () => {
  it('FORWARD rings its target through the gateway; unanswered for its ring timeout, noAnswer leads to HANGUP', () => {
    const { clock, port, ends } = run(FORWARD_THEN_HANGUP);
    expect(port.sent).to.have.length(1);
    expect(port.sent[0].request.uri).to.equal('sip:+447911123456@198.51.100.20:5070');
    expect(port.sent[0].destination).to.deep.equal({ address: '198.51.100.20', port: 5070 });
    expect(port.sent[0].request.headers['record-route']?.[0].uri).to.equal('sip:192.0.2.1:5060;lr');
    port.sent[0].respond(responseTo(port.sent[0].request, 180));
    clock.advance(19_999);
    expect(ends).to.deep.equal([]);
    clock.advance(1);
    expect(port.sent[0].cancelled).to.equal(1, 'the ring timeout CANCELs the ringing target');
    port.sent[0].respond(responseTo(port.sent[0].request, 487));
    expect(ends).to.deep.equal([{ kind: 'Respond', status: 486 }]);
  });

  it('FORWARD answered: the plan ends with the target\'s 2xx and the HANGUP never runs', () => {
    const { clock, port, ends } = run(FORWARD_THEN_HANGUP);
    const answer = responseTo(port.sent[0].request, 200);
    port.sent[0].respond(answer);
    clock.advance(60_000);
    expect(ends).to.deep.equal([{ kind: 'Answered', response: answer, callee: { address: '198.51.100.20', port: 5070 } }]);
  });

  it('FORWARD whose target fails at once (a 603) leaves by noAnswer at once', () => {
    const { port, ends } = run(FORWARD_THEN_HANGUP);
    port.sent[0].respond(responseTo(port.sent[0].request, 603));
    expect(ends).to.deep.equal([{ kind: 'Respond', status: 486 }]);
  });

  it('a number with no outbound gateway sends nothing and leaves by noAnswer', () => {
    const { port, ends } = run(FORWARD_THEN_HANGUP, null);
    expect(port.sent).to.deep.equal([]);
    expect(ends).to.deep.equal([{ kind: 'Respond', status: 486 }]);
  });

  it("the caller's CANCEL ends the branch and nothing follows: the call settles it", () => {
    const { clock, port, ends, branches } = run(FORWARD_THEN_HANGUP);
    port.sent[0].respond(responseTo(port.sent[0].request, 180));
    branches[0].cancelByCaller();
    expect(port.sent[0].cancelled).to.equal(1);
    expect(ends).to.deep.equal([]);
    port.sent[0].respond(responseTo(port.sent[0].request, 487));
    clock.advance(60_000);
    expect(ends).to.deep.equal([], 'the 487 for the CANCEL does not take the noAnswer exit');
    expect(port.sent).to.have.length(1, 'no next step sends anything');
  });

  it('a FORWARD without a noAnswer exit ends with 480', () => {
    const flow: Flow = { entryStepId: 'only', steps: [{ id: 'only', app: DialPlanApp.FORWARD, forward: { target: 'sip:a@192.0.2.9', ringTimeoutSeconds: 5 }, exits: [] }] };
    const { port, ends } = run(flow);
    port.sent[0].respond(responseTo(port.sent[0].request, 486));
    expect(ends).to.deep.equal([{ kind: 'Respond', status: 480 }]);
  });

  it('a HANGUP-only plan answers with its status, sending nothing', () => {
    const { port, ends } = run({ entryStepId: 'h', steps: [{ id: 'h', app: DialPlanApp.HANGUP, hangup: { status: 603 }, exits: [] }] });
    expect(port.sent).to.deep.equal([]);
    expect(ends).to.deep.equal([{ kind: 'Respond', status: 603 }]);
  });

  it(`stops a plan that forwards in a circle after ${MAX_STEPS_PER_CALL} steps, with 480`, () => {
    const flow: Flow = {
      entryStepId: 'a',
      steps: [{ id: 'a', app: DialPlanApp.FORWARD, forward: { target: '+447911123456', ringTimeoutSeconds: 5 }, exits: [{ on: 'noAnswer', stepId: 'a' }] }],
    };
    const { port, ends } = run(flow, null);
    expect(port.sent).to.deep.equal([]);
    expect(ends).to.deep.equal([{ kind: 'Respond', status: 480 }]);
  });

  it(`a circle of targets that fail at once rings ${MAX_STEPS_PER_CALL} times, then 480`, () => {
    const flow: Flow = {
      entryStepId: 'a',
      steps: [{ id: 'a', app: DialPlanApp.FORWARD, forward: { target: 'sip:a@192.0.2.9', ringTimeoutSeconds: 5 }, exits: [{ on: 'noAnswer', stepId: 'a' }] }],
    };
    const { port, ends } = run(flow);
    for (let i = 0; ends.length === 0 && i < 100; i++) port.sent[i].respond(responseTo(port.sent[i].request, 503));
    expect(port.sent).to.have.length(MAX_STEPS_PER_CALL);
    expect(ends).to.deep.equal([{ kind: 'Respond', status: 480 }]);
  });

  describe('the steps it reports, for the call record', () => {
    it('FORWARD -> noAnswer -> HANGUP: two steps entered, the first left by noAnswer, the second the end', () => {
      const { clock, port, events } = run(FORWARD_THEN_HANGUP);
      const start = clock.now();
      port.sent[0].respond(responseTo(port.sent[0].request, 180));
      clock.advance(20_000);
      port.sent[0].respond(responseTo(port.sent[0].request, 487));
      expect(events).to.deep.equal([
        { kind: 'Entered', dialPlanId: PLAN_ID, stepId: 'mobile', app: DialPlanApp.FORWARD, at: start },
        { kind: 'Left', exit: 'noAnswer' },
        { kind: 'Entered', dialPlanId: PLAN_ID, stepId: 'busy', app: DialPlanApp.HANGUP, at: start + 20_000 },
      ]);
    });

    it('an answered FORWARD is entered and never left', () => {
      const { port, events } = run(FORWARD_THEN_HANGUP);
      port.sent[0].respond(responseTo(port.sent[0].request, 200));
      expect(events.map((event) => event.kind)).to.deep.equal(['Entered']);
    });

    it('an exit leading nowhere is still reported as the exit taken', () => {
      const flow: Flow = { entryStepId: 'only', steps: [{ id: 'only', app: DialPlanApp.FORWARD, forward: { target: 'sip:a@192.0.2.9', ringTimeoutSeconds: 5 }, exits: [] }] };
      const { port, events, ends } = run(flow);
      port.sent[0].respond(responseTo(port.sent[0].request, 486));
      expect(events.slice(1)).to.deep.equal([{ kind: 'Left', exit: 'noAnswer' }]);
      expect(ends).to.deep.equal([{ kind: 'Respond', status: 480 }]);
    });

    it(`the step budget counts steps entered: ${MAX_STEPS_PER_CALL} entered, then 480`, () => {
      const flow: Flow = {
        entryStepId: 'a',
        steps: [{ id: 'a', app: DialPlanApp.FORWARD, forward: { target: '+447911123456', ringTimeoutSeconds: 5 }, exits: [{ on: 'noAnswer', stepId: 'a' }] }],
      };
      const { events } = run(flow, null);
      expect(events.filter((event) => event.kind === 'Entered')).to.have.length(MAX_STEPS_PER_CALL);
    });
  });

  describe('FORWARD caller-ID presentation', () => {
    const presenting = (callerId: ForwardCallerId): Flow => ({
      entryStepId: 'office',
      steps: [{ id: 'office', app: DialPlanApp.FORWARD, forward: { target: '+447911123456', ringTimeoutSeconds: 20, callerId }, exits: [] }],
    });

    it('DIAL_PLAN_NUMBER: the INVITE presents the plan number in P-Asserted-Identity and the From user, From tag kept', () => {
      const { port } = run(presenting(ForwardCallerId.DIAL_PLAN_NUMBER), undefined, { [PLAN_ID]: '+442079460999' });
      const sent = port.sent[0].request;
      expect(sent.headers.from).to.deep.equal({ uri: 'sip:+442079460999@carrier', params: { tag: 'a' } });
      expect(sent.headers['p-asserted-identity']).to.equal('<tel:+442079460999>');
      expect(INVITE.headers.from.uri).to.equal('sip:+4930901820@carrier', "the caller's INVITE is not changed");
    });

    it('KEEP_CALLER: the INVITE keeps the caller', () => {
      const { port } = run(presenting(ForwardCallerId.KEEP_CALLER), undefined, { [PLAN_ID]: '+442079460999' });
      expect(port.sent[0].request.headers.from).to.deep.equal({ uri: 'sip:+4930901820@carrier', params: { tag: 'a' } });
      expect(port.sent[0].request.headers['p-asserted-identity']).to.equal(undefined);
    });

    it('DIAL_PLAN_NUMBER on a plan whose number is gone from the snapshot: the call still goes out, keeping the caller', () => {
      const { port } = run(presenting(ForwardCallerId.DIAL_PLAN_NUMBER));
      expect(port.sent).to.have.length(1);
      expect(port.sent[0].request.headers.from.uri).to.equal('sip:+4930901820@carrier');
      expect(port.sent[0].request.headers['p-asserted-identity']).to.equal(undefined);
    });
  });
});

import { expect } from 'chai';
import { planInvite, planSnapshot, PLAN_CALL_DEFAULTS } from '../../support/plan-call';
import pino from 'pino';
import { RingStrategy, type RingGroupSettings } from '../../../domain/flow/apps/ring-group';
import { DialPlanApp, type Flow } from '../../../domain/flow/flow';
import { Branch } from '../../../worker/calls/branch';
import { BranchSet } from '../../../worker/calls/branch-set';
import type { RegistrationBinding } from '../../../worker/config/snapshot';
import { PlanRunner, type PlanCall, type PlanEnd } from '../../../worker/dialplan/runner';
import type { SipResponse } from '../../../worker/sip/message';
import { FakeClock, FakePort, responseTo } from '../../support/fakes';

const INVITE = planInvite('group-1', 'z9hG4bKg');

const REGISTERED = '11111111-1111-4111-8111-111111111111';
const UNREGISTERED = '22222222-2222-4222-8222-222222222222';
const BINDING: RegistrationBinding = {
  id: 'b1',
  trunkId: REGISTERED,
  contact: 'sip:pbx@10.9.8.7:5080',
  sourceAddress: '203.0.113.9',
  sourcePort: 40000,
  expiresAt: Number.MAX_SAFE_INTEGER,
  userAgent: null,
  updatedAt: 0,
};

/** A group leading to HANGUP 486 on noAnswer. */
function flow(ringGroup: RingGroupSettings): Flow {
  return {
    entryStepId: 'group',
    steps: [
      { id: 'group', app: DialPlanApp.RING_GROUP, ringGroup, exits: [{ on: 'noAnswer', stepId: 'busy' }] },
      { id: 'busy', app: DialPlanApp.HANGUP, hangup: { status: 486 }, exits: [] },
    ],
  };
}

const desk = (n: number, ringTimeoutSeconds: number | null = null) => ({ target: `sip:desk${n}@198.51.100.${n}:5060`, ringTimeoutSeconds });

function run(ringGroup: RingGroupSettings, outboundGateway: string | null = null) {
  const clock = new FakeClock();
  const port = new FakePort();
  const ends: PlanEnd[] = [];
  const ended = new AbortController();
  const noop = () => undefined;
  const call: PlanCall = {
    ...PLAN_CALL_DEFAULTS,
    invite: INVITE,
    port,
    clock,
    logger: pino({ level: 'silent' }),
    recordRoute: { uri: 'sip:192.0.2.1:5060;lr', params: {} },
    snapshot: planSnapshot({ outboundGateway }),
    startBranch: (options) => new Branch({ ...options, onProvisional: noop, onAnswerRetransmitted: noop }, port, clock).start(),
    facts: { companyId: 'c', trunkId: null, failoverReason: null },
    ended: ended.signal,
    startBranchSet: (options) => new BranchSet({ ...options, onProvisional: noop, onAnswerRetransmitted: noop }, port, clock).start(),
    trunkBinding: (trunkId) => (trunkId === REGISTERED ? BINDING : null),
  };
  new PlanRunner({ id: 'ring-plan', flow: flow(ringGroup) }, call, (end) => {
    ended.abort();
    ends.push(end);
  }).start();
  const invites = () => port.sent.filter((entry) => entry.request.method === 'INVITE');
  const answer = (index: number, status: number): SipResponse => {
    const entry = invites()[index];
    const response = responseTo(entry.request, status, status < 300 ? { contact: [{ uri: entry.request.uri, params: {} }] } : {});
    response.headers.to = { ...response.headers.to, params: { tag: `t${index}` } };
    entry.respond(response);
    return response;
  };
  return { clock, port, ends, invites, answer };
}

describe('RING_GROUP executor: PARALLEL', () => {
  it('rings every target at once; the second answers, the others get CANCEL, its 2xx ends the plan', () => {
    const { ends, invites, answer } = run({ strategy: RingStrategy.PARALLEL, targets: [desk(1), desk(2), desk(3)], ringTimeoutSeconds: 30 });
    expect(invites().map((entry) => entry.request.uri)).to.deep.equal(['sip:desk1@198.51.100.1:5060', 'sip:desk2@198.51.100.2:5060', 'sip:desk3@198.51.100.3:5060']);
    answer(0, 180);
    answer(2, 180);
    const ok = answer(1, 200);
    expect(ends).to.deep.equal([{ kind: 'Answered', response: ok, callee: { address: '198.51.100.2', port: 5060 } }]);
    expect(invites().map((entry) => entry.cancelled)).to.deep.equal([1, 0, 1]);
  });

  it("the group's ring time bounds every target: all CANCELled at 30 s, then noAnswer", () => {
    const { clock, ends, invites, answer } = run({ strategy: RingStrategy.PARALLEL, targets: [desk(1), desk(2, 300)], ringTimeoutSeconds: 30 });
    answer(0, 180);
    answer(1, 180);
    clock.advance(29_999);
    expect(invites().map((entry) => entry.cancelled)).to.deep.equal([0, 0]);
    clock.advance(1);
    expect(invites().map((entry) => entry.cancelled)).to.deep.equal([1, 1]);
    answer(0, 487);
    expect(ends).to.deep.equal([]);
    answer(1, 487);
    expect(ends).to.deep.equal([{ kind: 'Respond', status: 486 }]);
  });

  it("a target's shorter ring time ends its branch alone; the others ring on", () => {
    const { clock, invites, answer, ends } = run({ strategy: RingStrategy.PARALLEL, targets: [desk(1, 5), desk(2)], ringTimeoutSeconds: 30 });
    answer(0, 180);
    answer(1, 180);
    clock.advance(5_000);
    expect(invites().map((entry) => entry.cancelled)).to.deep.equal([1, 0]);
    answer(0, 487);
    const ok = answer(1, 200);
    expect(ends).to.deep.equal([{ kind: 'Answered', response: ok, callee: { address: '198.51.100.2', port: 5060 } }]);
  });

  it('a trunk target rings its current registration (sent where it registered from); unreachable targets are left out', () => {
    const { invites } = run({
      strategy: RingStrategy.PARALLEL,
      targets: [{ target: `trunk:${UNREGISTERED}`, ringTimeoutSeconds: null }, { target: '+447911123456', ringTimeoutSeconds: null }, { target: `trunk:${REGISTERED}`, ringTimeoutSeconds: null }],
      ringTimeoutSeconds: 30,
    });
    expect(invites().map((entry) => [entry.request.uri, entry.destination])).to.deep.equal([['sip:pbx@10.9.8.7:5080', { address: '203.0.113.9', port: 40000 }]]);
  });

  it('no reachable target: noAnswer at once', () => {
    const { ends, invites } = run({ strategy: RingStrategy.PARALLEL, targets: [{ target: `trunk:${UNREGISTERED}`, ringTimeoutSeconds: null }], ringTimeoutSeconds: 30 });
    expect(invites()).to.deep.equal([]);
    expect(ends).to.deep.equal([{ kind: 'Respond', status: 486 }]);
  });

  it('every target failing at once: noAnswer', () => {
    const { ends, answer } = run({ strategy: RingStrategy.PARALLEL, targets: [desk(1), desk(2)], ringTimeoutSeconds: 30 });
    answer(0, 486);
    expect(ends).to.deep.equal([]);
    answer(1, 603);
    expect(ends).to.deep.equal([{ kind: 'Respond', status: 486 }]);
  });
});

describe('RING_GROUP executor: SEQUENTIAL', () => {
  it('rings one target at a time, each its own time (default 20 s), moving on after each timeout', () => {
    const { clock, ends, invites, answer } = run({ strategy: RingStrategy.SEQUENTIAL, targets: [desk(1), desk(2, 5), desk(3)], ringTimeoutSeconds: 30 });
    expect(invites()).to.have.length(1);
    answer(0, 180);
    clock.advance(19_999);
    expect(invites()).to.have.length(1);
    clock.advance(1);
    expect(invites()[0].cancelled).to.equal(1);
    answer(0, 487);
    expect(invites()).to.have.length(2);
    expect(invites()[1].request.uri).to.equal('sip:desk2@198.51.100.2:5060');
    answer(1, 180);
    clock.advance(5_000);
    expect(invites()[1].cancelled).to.equal(1);
    answer(1, 487);
    expect(invites()).to.have.length(3);
    const ok = answer(2, 200);
    expect(ends).to.deep.equal([{ kind: 'Answered', response: ok, callee: { address: '198.51.100.3', port: 5060 } }]);
  });

  it('a target that fails at once moves on at once; one that cannot be rung is skipped without a request', () => {
    const { clock, ends, invites, answer } = run({
      strategy: RingStrategy.SEQUENTIAL,
      targets: [desk(1), { target: `trunk:${UNREGISTERED}`, ringTimeoutSeconds: null }, desk(3)],
      ringTimeoutSeconds: 30,
    });
    answer(0, 503);
    expect(clock.now()).to.equal(0);
    expect(invites().map((entry) => entry.request.uri)).to.deep.equal(['sip:desk1@198.51.100.1:5060', 'sip:desk3@198.51.100.3:5060']);
    answer(1, 404);
    expect(ends).to.deep.equal([{ kind: 'Respond', status: 486 }]);
  });

  it('does not use the group time: a target rings its own 300 s', () => {
    const { clock, invites, answer } = run({ strategy: RingStrategy.SEQUENTIAL, targets: [desk(1, 300)], ringTimeoutSeconds: 5 });
    answer(0, 180);
    clock.advance(299_999);
    expect(invites()[0].cancelled).to.equal(0);
    clock.advance(1);
    expect(invites()[0].cancelled).to.equal(1);
  });
});

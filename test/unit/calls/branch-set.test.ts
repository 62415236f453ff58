import { expect } from 'chai';
import { BranchSet, type BranchSetMember, type BranchSetOutcome } from '../../../worker/calls/branch-set';
import type { SipRequest, SipResponse } from '../../../worker/sip/message';
import { CANCEL_GRACE_MS } from '../../../worker/sip/timers';
import { FakeClock, FakePort, responseTo } from '../../support/fakes';

function invite(user: string): SipRequest {
  return {
    method: 'INVITE',
    uri: `sip:${user}@192.0.2.50`,
    headers: {
      via: [{ host: '198.51.100.7', params: { branch: 'z9hG4bKset' } }],
      to: { uri: 'sip:+442079460001@192.0.2.1', params: {} },
      from: { uri: 'sip:+4930901820@carrier', params: { tag: 'a' } },
      'call-id': 'set-1',
      cseq: { seq: 1, method: 'INVITE' },
    },
  };
}

function member(user: string, port: number, ringMs = 20_000): BranchSetMember {
  return { request: invite(user), destination: { address: '192.0.2.50', port }, target: `sip:${user}@192.0.2.50`, noProvisionalMs: null, ringMs, ringFrom: 'start' };
}

function setup(members: BranchSetMember[] = [member('alice', 5061), member('bob', 5062), member('carol', 5063)]) {
  const clock = new FakeClock();
  const port = new FakePort();
  const outcomes: BranchSetOutcome[] = [];
  const provisional: [number, number][] = [];
  const retransmitted: SipResponse[] = [];
  const set = new BranchSet(
    {
      members,
      onProvisional: (response, index) => provisional.push([index, response.status]),
      onAnswerRetransmitted: (response) => retransmitted.push(response),
      onOutcome: (outcome) => outcomes.push(outcome),
    },
    port,
    clock,
  );
  set.start();
  const invites = () => port.sent.filter((entry) => entry.request.method === 'INVITE');
  /** Branch `index` answers as its target would; each target has its own To tag. */
  const answer = (index: number, status: number) => {
    const entry = invites()[index];
    const response = responseTo(entry.request, status, status < 300 ? { contact: [{ uri: entry.request.uri, params: {} }] } : {});
    response.headers.to = { ...response.headers.to, params: { tag: `t${index}` } };
    entry.respond(response);
    return response;
  };
  return { clock, port, set, outcomes, provisional, retransmitted, invites, answer };
}

describe('BranchSet: several branches of one call, the first answer wins', () => {
  it('sends every branch at once, each to its own destination', () => {
    const { invites } = setup();
    expect(invites().map((entry) => entry.destination?.port)).to.deep.equal([5061, 5062, 5063]);
  });

  it('passes 1xx above 100 on with the branch that sent it', () => {
    const { answer, provisional } = setup();
    answer(0, 100);
    answer(1, 180);
    answer(2, 183);
    expect(provisional).to.deep.equal([
      [1, 180],
      [2, 183],
    ]);
  });

  it('the first 2xx wins: ringing losers get CANCEL, a loser without a 1xx is abandoned, one outcome', () => {
    const { answer, invites, outcomes } = setup();
    answer(0, 180);
    answer(1, 180);
    const won = answer(1, 200);
    expect(outcomes).to.have.length(1);
    const [outcome] = outcomes;
    expect(outcome.kind).to.equal('Answered');
    if (outcome.kind !== 'Answered') return;
    expect(outcome.index).to.equal(1);
    expect(outcome.response).to.equal(won);
    expect(outcome.branches.map((branch) => branch.outcome)).to.deep.equal([null, { kind: 'Answered', status: 200 }, null]);
    expect(invites().map((entry) => [entry.cancelled, entry.abandoned])).to.deep.equal([
      [1, 0],
      [0, 0],
      [0, 1],
    ]);
  });

  it('a late 2xx on a lost branch is ACKed and BYEd, never passed up; the winner\'s retransmission is', () => {
    const { answer, port, outcomes, retransmitted } = setup();
    answer(0, 180);
    answer(0, 200);
    answer(2, 200);
    answer(0, 200);
    expect(outcomes).to.have.length(1);
    expect(retransmitted.map((response) => response.headers.to.params.tag)).to.deep.equal(['t0']);
    expect(port.acks.map((ack) => ack.request.headers.to.params.tag)).to.deep.equal(['t2']);
    const byes = port.sent.filter((entry) => entry.request.method === 'BYE');
    expect(byes.map((entry) => [entry.request.headers.to.params.tag, entry.destination?.port])).to.deep.equal([['t2', 5063]]);
  });

  it('a branch that fails does not end the set while others are out', () => {
    const { answer, outcomes, invites } = setup();
    answer(0, 486);
    answer(1, 503);
    expect(outcomes).to.deep.equal([]);
    answer(2, 200);
    expect(outcomes.map((outcome) => outcome.kind)).to.deep.equal(['Answered']);
    expect(outcomes[0].branches.map((branch) => branch.outcome)).to.deep.equal([
      { kind: 'Final', status: 486 },
      { kind: 'Final', status: 503 },
      { kind: 'Answered', status: 200 },
    ]);
    expect(invites().map((entry) => entry.cancelled + entry.abandoned)).to.deep.equal([0, 0, 0]);
  });

  it('every branch failing ends the set Unanswered once, with each branch\'s outcome and attempt', () => {
    const { answer, clock, outcomes } = setup([member('alice', 5061), member('bob', 5062, 5000)]);
    answer(0, 603);
    clock.advance(5000);
    expect(outcomes).to.have.length(1);
    const [outcome] = outcomes;
    expect(outcome.kind).to.equal('Unanswered');
    expect(outcome.branches.map((branch) => branch.outcome)).to.deep.equal([{ kind: 'Final', status: 603 }, { kind: 'NoProvisionalResponse' }]);
    expect(outcome.branches.map((branch) => [branch.attempt.target, branch.attempt.status])).to.deep.equal([
      ['sip:alice@192.0.2.50', 603],
      ['sip:bob@192.0.2.50', null],
    ]);
  });

  it('ringing branches that reach their ring timeout are CANCELled, and the set ends when the last one does', () => {
    const { answer, clock, invites, outcomes } = setup([member('alice', 5061, 10_000), member('bob', 5062, 15_000)]);
    answer(0, 180);
    answer(1, 180);
    clock.advance(10_000);
    expect(invites().map((entry) => entry.cancelled)).to.deep.equal([1, 0]);
    answer(0, 487);
    expect(outcomes).to.deep.equal([]);
    clock.advance(5000 + CANCEL_GRACE_MS);
    expect(outcomes.map((outcome) => outcome.kind)).to.deep.equal(['Unanswered']);
    expect(outcomes[0].branches.map((branch) => branch.outcome)).to.deep.equal([{ kind: 'RingTimeout' }, { kind: 'RingTimeout' }]);
    expect(clock.pending()).to.equal(0);
  });

  it("the caller's CANCEL cancels every branch still out, with one CallerCancelled outcome", () => {
    const { answer, set, invites, outcomes, clock } = setup();
    answer(0, 180);
    answer(1, 404);
    set.cancelByCaller();
    expect(invites().map((entry) => entry.cancelled)).to.deep.equal([1, 0, 1]);
    expect(outcomes.map((outcome) => outcome.kind)).to.deep.equal(['CallerCancelled']);
    expect(outcomes[0].branches.map((branch) => branch.outcome?.kind)).to.deep.equal(['CallerCancelled', 'Final', 'CallerCancelled']);
    answer(0, 487);
    set.cancelByCaller();
    clock.advance(60_000);
    expect(outcomes).to.have.length(1);
  });

  it('a CANCEL after the set was answered changes nothing', () => {
    const { answer, set, invites, outcomes } = setup();
    answer(2, 200);
    set.cancelByCaller();
    expect(outcomes.map((outcome) => outcome.kind)).to.deep.equal(['Answered']);
    expect(invites()[2].cancelled).to.equal(0);
  });

  it('branches the stack refuses to send end the set Unanswered during start, with no timer left', () => {
    const clock = new FakeClock();
    const port = new FakePort();
    port.throwOnSend = Object.assign(new Error('bad uri'), { code: 'EBADURI' });
    const outcomes: BranchSetOutcome[] = [];
    new BranchSet({ members: [member('alice', 5061), member('bob', 5062)], onProvisional: () => undefined, onAnswerRetransmitted: () => undefined, onOutcome: (o) => outcomes.push(o) }, port, clock).start();
    expect(outcomes.map((outcome) => outcome.kind)).to.deep.equal(['Unanswered']);
    expect(outcomes[0].branches.map((branch) => branch.outcome)).to.deep.equal([
      { kind: 'Unreachable', code: 'EBADURI' },
      { kind: 'Unreachable', code: 'EBADURI' },
    ]);
    expect(clock.pending()).to.equal(0);
  });

  it('a set without members is Unanswered at once', () => {
    const { outcomes, port } = setup([]);
    expect(outcomes).to.deep.equal([{ kind: 'Unanswered', branches: [] }]);
    expect(port.sent).to.deep.equal([]);
  });

  it('abort gives every branch up without an outcome; a late 2xx is still ACKed and BYEd', () => {
    const { answer, set, invites, outcomes, port, clock } = setup();
    answer(0, 180);
    set.abort();
    expect(invites().map((entry) => entry.abandoned)).to.deep.equal([1, 1, 1]);
    answer(0, 200);
    clock.advance(60_000);
    expect(outcomes).to.deep.equal([]);
    expect(port.acks).to.have.length(1);
    expect(port.sent.filter((entry) => entry.request.method === 'BYE')).to.have.length(1);
  });
});

import { expect } from 'chai';
import { Branch, type BranchOptions } from '../../../worker/calls/branch';
import { MAX_HUNG_UP } from '../../../worker/calls/late-responses';
import type { AttemptOutcome } from '../../../worker/routing/route';
import type { SipRequest, SipResponse } from '../../../worker/sip/message';
import { CANCEL_GRACE_MS } from '../../../worker/sip/timers';
import { collected } from '../../support/collected';
import { FakeClock, FakePort, responseTo } from '../../support/fakes';

const INVITE: SipRequest = {
  method: 'INVITE',
  uri: 'sip:pbx@10.0.0.5',
  headers: {
    via: [{ host: '198.51.100.7', params: { branch: 'z9hG4bKc' } }],
    to: { uri: 'sip:+442079460001@192.0.2.1', params: {} },
    from: { uri: 'sip:+4930901820@carrier', params: { tag: 'a' } },
    'call-id': 'c1',
    cseq: { seq: 1, method: 'INVITE' },
  },
};
const PBX = { address: '203.0.113.7', port: 40000 };

function setup(overrides: Partial<BranchOptions> = {}) {
  const clock = new FakeClock();
  const port = new FakePort();
  const outcomes: AttemptOutcome[] = [];
  const provisional: number[] = [];
  const retransmitted: SipResponse[] = [];
  const branch = new Branch(
    {
      request: INVITE,
      destination: PBX,
      target: 'sip:pbx@10.0.0.5',
      noProvisionalMs: 1000,
      ringMs: 5000,
      ringFrom: 'provisional',
      onProvisional: (response) => provisional.push(response.status),
      onAnswerRetransmitted: (response) => retransmitted.push(response),
      onOutcome: (outcome) => outcomes.push(outcome),
      ...overrides,
    },
    port,
    clock,
  );
  branch.start();
  const sent = port.sent[0];
  return { clock, port, branch, outcomes, provisional, retransmitted, sent, answer: (status: number) => sent.respond(responseTo(INVITE, status, status < 300 ? { contact: [{ uri: 'sip:pbx@10.0.0.5', params: {} }] } : {})) };
}

describe('Branch: one INVITE branch and its timers', () => {
  it('sends to the given destination and reports a 2xx as Answered', () => {
    const { sent, answer, outcomes } = setup();
    expect(sent.destination).to.deep.equal(PBX);
    answer(200);
    expect(outcomes).to.deep.equal([{ kind: 'Answered', status: 200 }]);
  });

  it('relays provisional responses above 100 only', () => {
    const { answer, provisional } = setup();
    answer(100);
    answer(180);
    answer(183);
    expect(provisional).to.deep.equal([180, 183]);
  });

  it('abandons the branch when no 1xx comes within the no-1xx timeout', () => {
    const { clock, sent, outcomes } = setup();
    clock.advance(999);
    expect(outcomes).to.deep.equal([]);
    clock.advance(1);
    expect(outcomes).to.deep.equal([{ kind: 'NoProvisionalResponse' }]);
    expect(sent.abandoned).to.equal(1);
    expect(sent.cancelled).to.equal(0, 'no CANCEL before a 1xx (RFC 3261 section 9.1)');
  });

  it('a 100 Trying stops the no-1xx timer', () => {
    const { clock, answer, outcomes } = setup();
    answer(100);
    clock.advance(4000);
    expect(outcomes).to.deep.equal([]);
  });

  it('cancels after the ring timer (Timer C), restarted by each 1xx above 100, and reports RingTimeout on the 487', () => {
    const { clock, answer, sent, outcomes } = setup();
    answer(180);
    clock.advance(4000);
    answer(183);
    clock.advance(4999);
    expect(sent.cancelled).to.equal(0);
    clock.advance(1);
    expect(sent.cancelled).to.equal(1);
    expect(outcomes).to.deep.equal([]);
    answer(487);
    expect(outcomes).to.deep.equal([{ kind: 'RingTimeout' }]);
  });

  it('gives up a cancelled branch whose 487 never comes', () => {
    const { clock, answer, outcomes } = setup();
    answer(180);
    clock.advance(5000 + CANCEL_GRACE_MS);
    expect(outcomes).to.deep.equal([{ kind: 'RingTimeout' }]);
  });

  it('ACKs and BYEs a 2xx that crosses our CANCEL', () => {
    const { clock, answer, port, outcomes } = setup();
    answer(180);
    clock.advance(5000);
    answer(200);
    expect(outcomes).to.deep.equal([{ kind: 'RingTimeout' }]);
    expect(port.acks).to.have.length(1);
    expect(port.acks[0].destination).to.deep.equal(PBX);
    const bye = port.sent.find((entry) => entry.request.method === 'BYE');
    expect(bye?.request.headers.cseq).to.deep.equal({ seq: 2, method: 'BYE' });
    expect(bye?.request.headers.to.params.tag).to.equal('callee');
  });

  it('ACKs and BYEs a late 2xx on an abandoned branch', () => {
    const { clock, answer, port, outcomes } = setup();
    clock.advance(1000);
    answer(200);
    expect(outcomes).to.deep.equal([{ kind: 'NoProvisionalResponse' }]);
    expect(port.acks).to.have.length(1);
    expect(port.sent.map((entry) => entry.request.method)).to.deep.equal(['INVITE', 'BYE']);
  });

  it(`hangs up at most ${MAX_HUNG_UP} late dialogs: a 2xx with yet another tag gets neither ACK nor BYE`, () => {
    const { clock, port, sent } = setup();
    clock.advance(1000);
    const late = (tag: string) => sent.respond(responseTo(INVITE, 200, { to: { ...INVITE.headers.to, params: { tag } } }));
    for (let i = 0; i < MAX_HUNG_UP + 3; i++) late(`t${i}`);
    late('t0');
    expect(port.acks).to.have.length(MAX_HUNG_UP + 1, 'one each, and t0 again');
    expect(port.sent.filter((entry) => entry.request.method === 'BYE')).to.have.length(MAX_HUNG_UP);
  });

  it('passes a retransmission of the 2xx that answered upstream, and neither ACKs nor BYEs it (RFC 3261 13.3.1.4)', () => {
    const { answer, port, outcomes, retransmitted } = setup();
    answer(180);
    answer(200);
    answer(200);
    answer(200);
    expect(outcomes).to.deep.equal([{ kind: 'Answered', status: 200 }]);
    expect(retransmitted.map((response) => response.headers.to.params.tag)).to.deep.equal(['callee', 'callee']);
    expect(port.acks).to.have.length(0);
    expect(port.sent.map((entry) => entry.request.method)).to.deep.equal(['INVITE']);
  });

  it('ACKs and BYEs a 2xx of another dialog (forked downstream) after the answer, and passes it nowhere', () => {
    const { sent, answer, port, retransmitted } = setup();
    answer(200);
    const forked = responseTo(INVITE, 200);
    forked.headers.to = { ...forked.headers.to, params: { tag: 'other' } };
    sent.respond(forked);
    expect(retransmitted).to.have.length(0);
    expect(port.acks.map((ack) => ack.request.headers.to.params.tag)).to.deep.equal(['other']);
    expect(port.sent.filter((entry) => entry.request.method === 'BYE').map((entry) => entry.request.headers.to.params.tag)).to.deep.equal(['other']);
  });

  it('ACKs each retransmission of a 2xx it hung up (RFC 3261 13.2.2.4), with one BYE only', () => {
    const { clock, answer, port, retransmitted } = setup();
    clock.advance(1000);
    answer(200);
    answer(200);
    answer(200);
    expect(retransmitted).to.have.length(0);
    expect(port.acks).to.have.length(3);
    expect(port.sent.map((entry) => entry.request.method)).to.deep.equal(['INVITE', 'BYE']);
  });

  it('reports Unreachable on a send error for its destination before any response, and forgets the listener', () => {
    const { port, outcomes } = setup();
    port.failSend({ address: '198.51.100.99', port: 5060 }, 'EHOSTUNREACH');
    expect(outcomes).to.deep.equal([], 'another destination');
    port.failSend(PBX, 'EHOSTUNREACH');
    expect(outcomes).to.deep.equal([{ kind: 'Unreachable', code: 'EHOSTUNREACH' }]);
    expect(port.sendErrorListeners.size).to.equal(0);
  });

  it('ignores a send error once the target answered', () => {
    const { port, answer, outcomes } = setup();
    answer(100);
    port.failSend(PBX, 'EHOSTUNREACH');
    expect(outcomes).to.deep.equal([]);
  });

  it('reports Unreachable when the stack refuses to send at all', () => {
    const clock = new FakeClock();
    const port = new FakePort();
    port.throwOnSend = Object.assign(new Error('bad uri'), { code: 'EBADURI' });
    const outcomes: AttemptOutcome[] = [];
    new Branch({ request: INVITE, destination: PBX, target: 't', noProvisionalMs: 1000, ringMs: 5000, ringFrom: 'provisional', onProvisional: () => undefined, onAnswerRetransmitted: () => undefined, onOutcome: (o) => outcomes.push(o) }, port, clock).start();
    expect(outcomes).to.deep.equal([{ kind: 'Unreachable', code: 'EBADURI' }]);
    expect(clock.pending()).to.equal(0, 'no timer left running');
  });

  it('reports a 503 our own stack made (the send failed) as Unreachable, never as the target\'s Final', () => {
    const { sent, branch, outcomes } = setup();
    sent.respond(responseTo(INVITE, 503, { to: INVITE.headers.to }), 'local');
    expect(outcomes).to.deep.equal([{ kind: 'Unreachable', code: 'local-503' }]);
    expect(branch.attempt()).to.deep.include({ status: null, firstResponseAt: null });
  });

  it("reports our own stack's 408 as no answer: NoProvisionalResponse before a 1xx, RingTimeout after one", () => {
    const silent = setup();
    silent.sent.respond(responseTo(INVITE, 408), 'local');
    expect(silent.outcomes).to.deep.equal([{ kind: 'NoProvisionalResponse' }]);

    const ringing = setup();
    ringing.answer(180);
    ringing.sent.respond(responseTo(INVITE, 408), 'local');
    expect(ringing.outcomes).to.deep.equal([{ kind: 'RingTimeout' }]);
  });

  it("the caller's cancel ends the branch at once and CANCELs it", () => {
    const { branch, answer, sent, outcomes, clock } = setup();
    answer(180);
    branch.cancelByCaller();
    expect(outcomes).to.deep.equal([{ kind: 'CallerCancelled' }]);
    expect(sent.cancelled).to.equal(1);
    expect(clock.pending()).to.equal(0);
  });

  it('a FORWARD ring timeout counts from the INVITE, and no answer at all is NoProvisionalResponse', () => {
    const { clock, sent, outcomes } = setup({ noProvisionalMs: null, ringMs: 3000, ringFrom: 'start' });
    clock.advance(3000);
    expect(outcomes).to.deep.equal([{ kind: 'NoProvisionalResponse' }]);
    expect(sent.abandoned).to.equal(1);
  });

  it('records the attempt with its status and timings', () => {
    const { clock, answer, branch } = setup();
    clock.advance(40);
    answer(183);
    clock.advance(60);
    answer(503);
    expect(branch.attempt()).to.deep.equal({
      target: 'sip:pbx@10.0.0.5',
      status: 503,
      startedAt: new Date(0).toISOString(),
      firstResponseAt: new Date(40).toISOString(),
      endedAt: new Date(100).toISOString(),
    });
  });

  it('once answered, what the stack keeps for late responses holds nothing of the call', async () => {
    const clock = new FakeClock();
    const port = new FakePort();
    const retransmitted: number[] = [];
    const onAnswerRetransmitted = (response: SipResponse) => void retransmitted.push(response.status);
    const start = (): WeakRef<object> => {
      const call = { name: 'the call and all it holds' };
      new Branch(
        { request: INVITE, destination: PBX, target: 't', noProvisionalMs: 1000, ringMs: 5000, ringFrom: 'provisional', onProvisional: () => undefined, onAnswerRetransmitted, onOutcome: () => void call },
        port,
        clock,
      ).start();
      port.sent[0].respond(responseTo(INVITE, 200, { to: { ...INVITE.headers.to, params: { tag: 'won' } } }));
      return new WeakRef(call);
    };
    expect(await collected(start())).to.equal(true);
    const late = (tag: string) => port.sent[0].respond(responseTo(INVITE, 200, { to: { ...INVITE.headers.to, params: { tag } } }));
    late('won');
    late('forked');
    expect(retransmitted).to.deep.equal([200], "the answered dialog's 2xx, passed on");
    expect(port.acks.map((ack) => [ack.request.headers['call-id'], ack.request.headers.from.params.tag, ack.destination])).to.deep.equal([['c1', 'a', PBX]], "another dialog's 2xx: ACKed ...");
    expect(port.sent.slice(1).map((entry) => [entry.request.method, entry.request.headers.cseq.seq])).to.deep.equal([['BYE', 2]], '... and BYEd');
  });
});

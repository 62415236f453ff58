import { expect } from 'chai';
import { Branch, MAX_EARLY_DIALOGS, type BranchOptions } from '../../../worker/calls/branch';
import { BranchSet, type BranchSetMember } from '../../../worker/calls/branch-set';
import { forwardEarlyDialogRequest, type EarlyDialogs } from '../../../worker/calls/early-dialog';
import type { SipRequest, SipResponse } from '../../../worker/sip/message';
import { FakeClock, FakePort, responseTo } from '../../support/fakes';

const CALLER = { address: '198.51.100.7', port: 5060 };
const OWN_ROUTE = { uri: 'sip:192.0.2.1:5060;lr', params: {} };

const INVITE: SipRequest = {
  method: 'INVITE',
  uri: 'sip:+442079460001@192.0.2.1',
  headers: {
    via: [{ host: '198.51.100.7', params: { branch: 'z9hG4bKearly' } }],
    to: { uri: 'sip:+442079460001@192.0.2.1', params: {} },
    from: { uri: 'sip:+4930901820@carrier', params: { tag: 'caller' } },
    'call-id': 'early-1',
    cseq: { seq: 1, method: 'INVITE' },
  },
};

function member(user: string, port: number): BranchSetMember {
  return { request: { ...INVITE, uri: `sip:${user}@192.0.2.50:${port}` }, destination: { address: '192.0.2.50', port }, target: `sip:${user}@192.0.2.50`, noProvisionalMs: null, ringMs: 20_000, ringFrom: 'start' };
}

/** A request within the early dialog with target tag `targetTag`, as the caller sends it (or the target, `fromTarget`). */
function inDialog(method: string, targetTag: string | undefined, fromTarget = false): SipRequest {
  const callerSide = { uri: INVITE.headers.from.uri, params: { tag: 'caller' } };
  const targetSide = { uri: INVITE.headers.to.uri, params: targetTag === undefined ? {} : { tag: targetTag } };
  return {
    method,
    uri: fromTarget ? 'sip:carrier@198.51.100.7' : 'sip:desk@192.0.2.50',
    headers: {
      via: [{ host: fromTarget ? '192.0.2.50' : '198.51.100.7', params: { branch: `z9hG4bK${method}${targetTag ?? ''}` } }],
      from: fromTarget ? targetSide : callerSide,
      to: fromTarget ? callerSide : targetSide,
      'call-id': 'early-1',
      cseq: { seq: 2, method },
      route: [OWN_ROUTE],
      'max-forwards': 70,
      ...(method === 'PRACK' ? { rack: '1 1 INVITE' } : {}),
    },
  };
}

function setup(members: BranchSetMember[]) {
  const clock = new FakeClock();
  const port = new FakePort();
  const noop = () => undefined;
  const set = new BranchSet({ members, onProvisional: noop, onAnswerRetransmitted: noop, onOutcome: noop }, port, clock);
  set.start();
  const invites = port.sent.filter((entry) => entry.request.method === 'INVITE');
  /** Branch `index` answers with To tag `tag` (none: no tag at all). */
  const respond = (index: number, status: number, tag: string | undefined): SipResponse => {
    const response = responseTo(invites[index].request, status, status < 300 ? { contact: [{ uri: invites[index].request.uri, params: {} }] } : {});
    response.headers.to = { ...response.headers.to, params: tag === undefined ? {} : { tag } };
    invites[index].respond(response);
    return response;
  };
  const forward = (request: SipRequest, dialogs: EarlyDialogs = set) =>
    forwardEarlyDialogRequest(request, dialogs, { invite: INVITE, caller: CALLER }, port, (uri) => typeof uri === 'string' && uri.includes('192.0.2.1:5060'));
  const forwarded = () => port.sent.filter((entry) => entry.request.method !== 'INVITE');
  return { clock, port, set, respond, forward, forwarded };
}

describe('early dialogs: PRACK, UPDATE and INFO before the answer go to the right leg', () => {
  it("in a fork, the caller's PRACK goes to the branch whose reliable 183 had its To tag, and only there", () => {
    const { respond, forward, forwarded } = setup([member('alice', 5061), member('bob', 5062), member('carol', 5063)]);
    respond(0, 183, 'ta');
    respond(1, 183, 'tb');
    respond(2, 180, 'tc');
    expect(forward(inDialog('PRACK', 'tb'))).to.equal(true);
    expect(forward(inDialog('PRACK', 'ta'))).to.equal(true);
    expect(forward(inDialog('INFO', 'tc'))).to.equal(true);
    expect(forwarded().map((entry) => [entry.request.method, entry.request.headers.to.params.tag, entry.destination?.port])).to.deep.equal([
      ['PRACK', 'tb', 5062],
      ['PRACK', 'ta', 5061],
      ['INFO', 'tc', 5063],
    ]);
  });

  it('the forwarded request is proxied: our Route entry gone, Max-Forwards less one, the original untouched; its answer goes upstream', () => {
    const { respond, forward, forwarded, port } = setup([member('alice', 5061), member('bob', 5062)]);
    respond(1, 183, 'tb');
    const prack = inDialog('PRACK', 'tb');
    forward(prack);
    const [sent] = forwarded();
    expect(sent.request.headers.route).to.equal(undefined);
    expect(sent.request.headers['max-forwards']).to.equal(69);
    expect(sent.request.headers.rack).to.equal('1 1 INVITE');
    expect(prack.headers.route).to.deep.equal([OWN_ROUTE]);
    const ok: SipResponse = { status: 200, reason: 'OK', headers: { ...sent.request.headers, via: [{ host: '192.0.2.1', params: { branch: 'z9hG4bKours' } }, ...prack.headers.via] } };
    sent.respond(ok);
    expect(port.responded.map((response) => [response.status, response.headers.via.length])).to.deep.equal([[200, 1]]);
  });

  it("a target's UPDATE in its early dialog goes to the caller", () => {
    const { respond, forward, forwarded } = setup([member('alice', 5061), member('bob', 5062)]);
    respond(0, 183, 'ta');
    respond(1, 183, 'tb');
    expect(forward(inDialog('UPDATE', 'tb', true))).to.equal(true);
    expect(forwarded().map((entry) => [entry.request.method, entry.destination])).to.deep.equal([['UPDATE', CALLER]]);
  });

  const refused: { name: string; request: SipRequest }[] = [
    { name: 'a To tag no branch answered with', request: inDialog('PRACK', 'elsewhere') },
    { name: 'no To tag', request: inDialog('PRACK', undefined) },
    { name: "a target's tag no branch answered with", request: inDialog('UPDATE', 'elsewhere', true) },
    { name: "a request from a target whose To tag is not the caller's", request: { ...inDialog('UPDATE', 'ta', true), headers: { ...inDialog('UPDATE', 'ta', true).headers, to: { uri: 'sip:x@carrier', params: { tag: 'other' } } } } },
  ];
  for (const row of refused) {
    it(`refuses ${row.name}: nothing sent, the caller of it answers 481`, () => {
      const { respond, forward, forwarded } = setup([member('alice', 5061), member('bob', 5062)]);
      respond(0, 183, 'ta');
      respond(1, 183, 'tb');
      expect(forward(row.request)).to.equal(false);
      expect(forwarded()).to.deep.equal([]);
    });
  }

  it('a 100, or a 1xx without a To tag, makes no early dialog', () => {
    const { respond, forward, forwarded } = setup([member('alice', 5061), member('bob', 5062)]);
    respond(0, 100, 'ta');
    respond(1, 180, undefined);
    expect(forward(inDialog('PRACK', 'ta'))).to.equal(false);
    expect(forwarded()).to.deep.equal([]);
  });

  it(`a target making more than ${MAX_EARLY_DIALOGS} early dialogs gets the first ${MAX_EARLY_DIALOGS} routed, no more kept`, () => {
    const { respond, forward } = setup([member('alice', 5061)]);
    const tags = Array.from({ length: MAX_EARLY_DIALOGS + 4 }, (_, i) => `t${i}`);
    for (const tag of tags) respond(0, 183, tag);
    expect(tags.map((tag) => forward(inDialog('PRACK', tag)))).to.deep.equal(tags.map((_, i) => i < MAX_EARLY_DIALOGS));
  });

  it('once a branch answered, the early dialogs of the branches given up route nothing', () => {
    const { respond, forward, forwarded } = setup([member('alice', 5061), member('bob', 5062)]);
    respond(0, 183, 'ta');
    respond(1, 183, 'tb');
    respond(1, 200, 'tb');
    expect(forward(inDialog('PRACK', 'ta'))).to.equal(false);
    expect(forward(inDialog('UPDATE', 'ta', true))).to.equal(false);
    expect(forwarded().filter((entry) => entry.request.method !== 'CANCEL')).to.deep.equal([]);
  });

  it("after the caller's CANCEL nothing is routed", () => {
    const { respond, forward, set } = setup([member('alice', 5061)]);
    respond(0, 183, 'ta');
    set.cancelByCaller();
    expect(forward(inDialog('PRACK', 'ta'))).to.equal(false);
  });

  it('a single branch routes its own early dialog the same way, and only while it rings', () => {
    const clock = new FakeClock();
    const port = new FakePort();
    const options: BranchOptions = { ...member('desk', 5070), onProvisional: () => undefined, onAnswerRetransmitted: () => undefined, onOutcome: () => undefined };
    const branch = new Branch(options, port, clock);
    branch.start();
    const route = (request: SipRequest) => forwardEarlyDialogRequest(request, branch, { invite: INVITE, caller: CALLER }, port, () => false);
    expect(route(inDialog('PRACK', 'td'))).to.equal(false, 'nothing rang yet');
    const ringing = responseTo(port.sent[0].request, 183);
    ringing.headers.to = { ...ringing.headers.to, params: { tag: 'td' } };
    port.sent[0].respond(ringing);
    expect(route(inDialog('PRACK', 'td'))).to.equal(true);
    expect(route(inDialog('PRACK', 'other'))).to.equal(false);
    expect(port.sent[1].destination).to.deep.equal({ address: '192.0.2.50', port: 5070 });
    port.sent[0].respond({ ...ringing, status: 486 });
    expect(route(inDialog('PRACK', 'td'))).to.equal(false, 'the branch ended');
  });
});

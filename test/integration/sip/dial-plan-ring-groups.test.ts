import { expect } from 'chai';
import { SipHarness, TRUNK_PASSWORD } from '../../support/sip-harness';
import { actAsPbx, placeCall, SipPeer, waitUntil, type CarrierCall, type PbxMode } from '../../support/sip-peer';
import type { SipRequest, SipResponse } from '../../../worker/sip/message';

describe('RING_GROUP steps through a real failover (SIP on loopback)', function () {
  this.timeout(30_000);
  let h: SipHarness;
  const peers: SipPeer[] = [];

  async function target(name: string, mode: PbxMode): Promise<{ peer: SipPeer; seen: ReturnType<typeof actAsPbx> }> {
    const peer = await SipPeer.start(name);
    peers.push(peer);
    return { peer, seen: actAsPbx(peer, () => mode) };
  }

  function groupFlow(strategy: string, targets: Record<string, unknown>[], ringTimeoutSeconds = 30): Record<string, unknown> {
    return {
      entryStepId: 'group',
      steps: [
        { id: 'group', app: 'RING_GROUP', ringGroup: { strategy, targets, ringTimeoutSeconds }, exits: [{ on: 'noAnswer', stepId: 'busy' }] },
        { id: 'busy', app: 'HANGUP', hangup: { status: 486 } },
      ],
    };
  }

  /** Sends `request` from `peer` and resolves with its final response. */
  function finalOf(peer: SipPeer, request: SipRequest): Promise<SipResponse> {
    return new Promise((resolve) => peer.send(request, (response) => response.status >= 200 && resolve(response)));
  }

  /** The caller's PRACK for a reliable 1xx (RFC 3262 section 7.2), within that 1xx's early dialog. */
  function prack(call: CarrierCall, provisional: SipResponse): SipRequest {
    return {
      method: 'PRACK',
      uri: Array.isArray(provisional.headers.contact) ? provisional.headers.contact[0].uri : call.invite.uri,
      headers: {
        to: provisional.headers.to,
        from: call.invite.headers.from,
        'call-id': call.callId,
        cseq: { seq: 2, method: 'PRACK' },
        via: [],
        rack: `${String(provisional.headers.rseq)} 1 INVITE`,
        route: (provisional.headers['record-route'] ?? []).slice().reverse(),
      },
    };
  }

  before(async () => {
    h = await SipHarness.start();
  });
  after(async () => {
    for (const peer of peers) peer.stop();
    await h.stop();
  });

  it('PARALLEL: both ring at once, the second answers, the first gets CANCEL; the caller gets the 2xx', async () => {
    const DID = '+442079467001';
    const first = await target('desk-a', { kind: 'ring' });
    const second = await target('desk-b', { kind: 'answer', afterMs: 200 });
    await h.trunk({ username: 'group-parallel', number: DID, flow: groupFlow('PARALLEL', [{ target: first.peer.uri }, { target: second.peer.uri }]) });
    const call = placeCall(h.carrier, h.proxy, DID);
    expect((await call.final()).status).to.equal(200);
    expect(first.seen.invites).to.have.length(1);
    expect(second.seen.invites).to.have.length(1);
    await waitUntil(() => first.seen.cancels.length > 0, 3000, 'CANCEL at the first target');
    expect(second.seen.cancels).to.have.length(0);
    await waitUntil(() => second.seen.acks.length > 0, 3000, 'ACK at the answering target');
    const record = await h.record(call.callId);
    expect(record).to.include({ outcome: 'FAILED_OVER', failover_reason: 'NOT_REGISTERED', final_status: 200 });
    expect((record.attempts as { target: string }[]).map((attempt) => attempt.target)).to.deep.equal([first.peer.uri, second.peer.uri]);
    await call.bye();
    await waitUntil(() => second.seen.byes.length > 0, 3000, 'BYE at the answering target');
  });

  it('PARALLEL to trunk:<id>: the other trunk of the company is rung at its registration', async () => {
    const DID = '+442079467002';
    const pbx = await target('other-pbx', { kind: 'answer' });
    const trunk = await h.trunk({ username: 'group-trunk-a', number: DID, flow: groupFlow('PARALLEL', [{ target: 'sip:nobody@127.0.0.1:9' }]) });
    // The second trunk must reach the workers before its PBX can register.
    const { createTrunk } = await h.applying(
      () =>
        h.api.ok<{ createTrunk: { id: string } }>(trunk.key, `mutation ($input: CreateTrunkInput!) { createTrunk(input: $input) { id } }`, {
          input: { companyId: trunk.companyId, name: 'Second site', sipUsername: 'group-trunk-b', sipPassword: TRUNK_PASSWORD, inboundNumbers: ['+442079467003'], maxConcurrentCalls: 2 },
        }),
      'did',
      '+442079467003',
    );
    await h.registerPbx(pbx.peer, 'group-trunk-b');
    await h.applying(
      () => h.api.ok(trunk.key, `mutation ($id: ID!, $input: UpdateDialPlanInput!) { updateDialPlan(id: $id, input: $input) { id } }`, { id: trunk.planId, input: { flow: groupFlow('PARALLEL', [{ target: `trunk:${createTrunk.id}` }]) } }),
      'dial_plan',
      trunk.planId,
    );
    const call = placeCall(h.carrier, h.proxy, DID);
    expect((await call.final()).status).to.equal(200);
    expect(pbx.seen.invites).to.have.length(1);
    expect(pbx.seen.invites[0].uri).to.equal(pbx.peer.uri);
    await call.bye();
  });

  it("PARALLEL: the caller's CANCEL reaches every ringing target, the caller gets 487 and the record says CANCELLED", async () => {
    const DID = '+442079467005';
    const first = await target('cancel-a', { kind: 'ring' });
    const second = await target('cancel-b', { kind: 'ring' });
    await h.trunk({ username: 'group-cancelled', number: DID, flow: groupFlow('PARALLEL', [{ target: first.peer.uri }, { target: second.peer.uri }]) });
    const call = placeCall(h.carrier, h.proxy, DID);
    await call.status(180);
    await waitUntil(() => first.seen.invites.length > 0 && second.seen.invites.length > 0, 3000, 'INVITEs at both targets');
    call.cancel();
    expect((await call.final()).status).to.equal(487);
    await waitUntil(() => first.seen.cancels.length > 0 && second.seen.cancels.length > 0, 3000, 'CANCEL at both targets');
    expect(await h.record(call.callId)).to.include({ outcome: 'CANCELLED', final_status: 487 });
  });

  it('PARALLEL with reliable 183s: each PRACK reaches the target whose 183 it acknowledges, a target\'s UPDATE reaches the caller', async () => {
    const DID = '+442079467006';
    const first = await target('early-a', { kind: 'early' });
    const second = await target('early-b', { kind: 'early' });
    await h.trunk({ username: 'group-early', number: DID, flow: groupFlow('PARALLEL', [{ target: first.peer.uri }, { target: second.peer.uri }]) });
    h.carrier.handler = (request) => {
      if (request.method === 'UPDATE') h.carrier.reply(request, 200, 'OK');
    };
    try {
      const call = placeCall(h.carrier, h.proxy, DID);
      const progress = await waitUntil(() => {
        const early = call.responses.filter((response) => response.status === 183);
        return early.length >= 2 && early;
      }, 3000, 'a 183 from each target');
      const contactOf = (response: SipResponse) => (Array.isArray(response.headers.contact) ? response.headers.contact[0].uri : '');
      const fromSecond = progress.find((response) => contactOf(response) === second.peer.uri);
      const fromFirst = progress.find((response) => contactOf(response) === first.peer.uri);
      if (fromFirst === undefined || fromSecond === undefined) throw new Error('a 183 of each target');
      expect(fromFirst.headers.to.params.tag).to.not.equal(fromSecond.headers.to.params.tag);

      expect((await finalOf(h.carrier, prack(call, fromSecond))).status).to.equal(200);
      expect(second.peer.received('PRACK').map((request) => request.headers.to.params.tag)).to.deep.equal([fromSecond.headers.to.params.tag]);
      expect(first.peer.received('PRACK')).to.deep.equal([]);
      expect((await finalOf(h.carrier, prack(call, fromFirst))).status).to.equal(200);
      expect(first.peer.received('PRACK').map((request) => request.headers.to.params.tag)).to.deep.equal([fromFirst.headers.to.params.tag]);
      expect(second.peer.received('PRACK')).to.have.length(1);

      // The second target's UPDATE in its early dialog (RFC 3311): its From tag is its own, To the caller's.
      const invite = second.seen.invites[0];
      const update = await finalOf(second.peer, {
        method: 'UPDATE',
        uri: Array.isArray(invite.headers.contact) ? invite.headers.contact[0].uri : '',
        headers: {
          from: { uri: invite.headers.to.uri, params: { tag: fromSecond.headers.to.params.tag } },
          to: invite.headers.from,
          'call-id': invite.headers['call-id'],
          cseq: { seq: 1, method: 'UPDATE' },
          via: [],
          route: invite.headers['record-route'],
        },
      });
      expect(update.status).to.equal(200);
      expect(h.carrier.received('UPDATE').map((request) => request.headers['call-id'])).to.deep.equal([call.callId]);

      call.cancel();
      expect((await call.final()).status).to.equal(487);
      await waitUntil(() => first.seen.cancels.length > 0 && second.seen.cancels.length > 0, 3000, 'CANCEL at both targets');
      expect(await h.record(call.callId)).to.include({ outcome: 'CANCELLED', final_status: 487 });
    } finally {
      h.carrier.handler = null;
    }
  });

  it('SEQUENTIAL: the first target rings its 5 s, gets CANCEL, and the next one answers', async () => {
    const DID = '+442079467004';
    const first = await target('seq-a', { kind: 'ring' });
    const second = await target('seq-b', { kind: 'answer' });
    await h.trunk({ username: 'group-sequential', number: DID, flow: groupFlow('SEQUENTIAL', [{ target: first.peer.uri, ringTimeoutSeconds: 5 }, { target: second.peer.uri }]) });
    const started = Date.now();
    const call = placeCall(h.carrier, h.proxy, DID);
    await waitUntil(() => first.seen.invites.length > 0, 3000, 'INVITE at the first target');
    expect(second.seen.invites).to.have.length(0);
    expect((await call.final(10_000)).status).to.equal(200);
    expect(Date.now() - started).to.be.within(4900, 8000);
    expect(first.seen.cancels).to.have.length(1);
    expect(second.seen.invites).to.have.length(1);
    expect(call.statuses()).to.include(180);
    await call.bye();
  });
});

import { expect } from 'chai';
import { SipHarness, TRUNK_PASSWORD } from '../../support/sip-harness';
import { actAsPbx, placeCall, SipPeer, waitUntil, type PbxMode } from '../../support/sip-peer';

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

import { expect } from 'chai';
import { SipHarness } from '../../support/sip-harness';
import { actAsPbx, placeCall, silentSink, SipPeer, uriText, waitUntil, type PbxMode } from '../../support/sip-peer';
import type { SipResponse } from '../../../worker/sip/message';

/**
 * Inbound calls through the SIP role, with real `sip` stacks on loopback as carrier, PBX and
 * the failover dial plan's forward target ("mobile"). Timeouts are trunk settings, kept short.
 */
describe('inbound calls and failover (real SIP on loopback)', function () {
  this.timeout(30_000);
  let h: SipHarness;
  let pbx: SipPeer;
  let mobile: SipPeer;
  let pbxMode: PbxMode = { kind: 'answer' };
  let mobileMode: PbxMode = { kind: 'answer' };
  let pbxSeen: ReturnType<typeof actAsPbx>;
  let mobileSeen: ReturnType<typeof actAsPbx>;
  let trunk: { trunkId: string; key: string; planId: string; companyId: string };
  const DID = '+442079462001';

  before(async () => {
    h = await SipHarness.start({ timerCMs: 1000 });
    pbx = await SipPeer.start('pbx');
    mobile = await SipPeer.start('mobile');
    pbxSeen = actAsPbx(pbx, () => pbxMode);
    mobileSeen = actAsPbx(mobile, () => mobileMode);
    trunk = await h.trunk({
      username: 'call-pbx',
      number: DID,
      failover: { noProvisionalTimeoutSeconds: 1 },
      flow: {
        entryStepId: 'mobile',
        steps: [
          { id: 'mobile', app: 'FORWARD', forward: { target: mobile.uri, ringTimeoutSeconds: 5 }, exits: [{ on: 'noAnswer', stepId: 'busy' }] },
          { id: 'busy', app: 'HANGUP', hangup: { status: 486 } },
        ],
      },
    });
    // These tests fail the PBX on purpose, one after another: a health threshold of 10 failures in a
    // row keeps the trunk out of PBX_DOWN (test/integration/sip/trunk-health.test.ts covers that).
    await h.applying(() => h.api.dataSource.query('UPDATE trunk SET health_check_failures_to_down = 10 WHERE id = $1', [trunk.trunkId]), 'trunk', trunk.trunkId);
    await h.registerPbx(pbx, 'call-pbx');
  });
  after(async () => {
    pbx.stop();
    mobile.stop();
    await h.stop();
  });
  beforeEach(() => {
    pbxMode = { kind: 'answer' };
    mobileMode = { kind: 'answer' };
    for (const seen of [pbxSeen, mobileSeen]) for (const list of Object.values(seen)) list.length = 0;
  });

  async function setTrunk(input: string): Promise<void> {
    await h.applying(() => h.api.ok(trunk.key, `mutation ($id: ID!) { updateTrunk(id: $id, input: ${input}) { id } }`, { id: trunk.trunkId }), 'trunk', trunk.trunkId);
  }

  it('delivers to the registered PBX: 100, 180, 200 relayed, record-routed, BYE passes and the channel is freed', async () => {
    const call = placeCall(h.carrier, h.proxy, DID);
    const answer = await call.status(200);
    expect(call.statuses()).to.include.members([100, 180, 200]);
    const invite = pbxSeen.invites[0];
    expect(invite.uri).to.equal(pbx.uri, 'sent to the registered Contact');
    expect(Number(invite.headers['max-forwards'])).to.equal(69);
    expect(uriText(invite.headers['record-route']?.[0].uri)).to.equal(`sip:127.0.0.1:${h.proxy.port};lr`);
    expect(uriText(answer.headers['record-route']?.[0].uri)).to.equal(`sip:127.0.0.1:${h.proxy.port};lr`);
    await waitUntil(() => pbxSeen.acks.length > 0, 3000, 'the ACK at the PBX');
    await waitUntil(async () => (await activeCalls()) === 1 || undefined, 3000, 'activeCalls 1');
    const bye = await call.bye();
    expect(bye.status).to.equal(200);
    expect(pbxSeen.byes).to.have.length(1);
    const record = await h.record(call.callId);
    expect(record).to.include({ outcome: 'DELIVERED', failover_reason: null, final_status: 200, trunk_id: trunk.trunkId, did: DID });
    await waitUntil(async () => (await activeCalls()) === 0 || undefined, 3000, 'activeCalls 0');
  });

  it('fails over when the PBX answers 503, and records both attempts', async () => {
    pbxMode = { kind: 'reject', status: 503 };
    const call = placeCall(h.carrier, h.proxy, DID);
    expect((await call.final()).status).to.equal(200);
    expect(mobileSeen.invites).to.have.length(1);
    const record = await h.record(call.callId);
    expect(record).to.include({ outcome: 'FAILED_OVER', failover_reason: 'PBX_SERVER_ERROR', final_status: 200 });
    expect((record.attempts as { status: number }[]).map((attempt) => attempt.status)).to.deep.equal([503, 200]);
    await call.bye();
  });

  it('relays 486 from the PBX and does not fail over', async () => {
    pbxMode = { kind: 'reject', status: 486 };
    const call = placeCall(h.carrier, h.proxy, DID);
    expect((await call.final()).status).to.equal(486);
    expect(mobileSeen.invites).to.have.length(0);
    expect(await h.record(call.callId)).to.include({ outcome: 'DELIVERED', final_status: 486, failover_reason: null });
  });

  it('fails over when the PBX stays silent past the no-1xx timeout, and stops retransmitting to it', async () => {
    const sink = await silentSink();
    try {
      await h.applying(() => h.api.dataSource.query('UPDATE registration SET source_port = $2 WHERE trunk_id = $1', [trunk.trunkId, sink.port]), 'registration');
      const call = placeCall(h.carrier, h.proxy, DID);
      expect((await call.final(5000)).status).to.equal(200);
      expect(await h.record(call.callId)).to.include({ outcome: 'FAILED_OVER', failover_reason: 'NO_PROVISIONAL_RESPONSE' });
      const sent = sink.received();
      expect(sent).to.be.within(2, 3, 'INVITE at 0 and 0.5 s (Timer A), maybe 1.5 s');
      await new Promise((resolve) => setTimeout(resolve, 2000));
      expect(sink.received()).to.equal(sent, 'no retransmission after the branch was abandoned');
      await call.bye();
    } finally {
      sink.close();
      await h.registerPbx(pbx, 'call-pbx');
    }
  });

  it('does not fail over once the PBX rang: Timer C cancels the branch and the caller gets 408', async () => {
    pbxMode = { kind: 'ring' };
    const call = placeCall(h.carrier, h.proxy, DID);
    expect((await call.final(5000)).status).to.equal(408);
    expect(pbxSeen.cancels).to.have.length(1);
    expect(mobileSeen.invites).to.have.length(0);
  });

  it("honours the caller's CANCEL while the PBX rings: 487, the PBX gets CANCEL, no failover", async () => {
    pbxMode = { kind: 'ring' };
    const call = placeCall(h.carrier, h.proxy, DID);
    await call.status(180);
    call.cancel();
    expect((await call.final()).status).to.equal(487);
    await waitUntil(() => pbxSeen.cancels.length > 0, 3000, 'CANCEL at the PBX');
    expect(await h.record(call.callId)).to.include({ outcome: 'CANCELLED', final_status: 487 });
    expect(mobileSeen.invites).to.have.length(0);
  });

  it('passes a PRACK in the early dialog of a ringing PBX (reliable 183)', async () => {
    pbxMode = { kind: 'early' };
    const call = placeCall(h.carrier, h.proxy, DID);
    const progress = await call.status(183);
    const prack = await new Promise<SipResponse>((resolve) =>
      h.carrier.send(
        {
          method: 'PRACK',
          uri: Array.isArray(progress.headers.contact) ? progress.headers.contact[0].uri : pbx.uri,
          headers: {
            to: progress.headers.to,
            from: call.invite.headers.from,
            'call-id': call.callId,
            cseq: { seq: 2, method: 'PRACK' },
            via: [],
            rack: '1 1 INVITE',
            route: (progress.headers['record-route'] ?? []).slice().reverse(),
          },
        },
        (response) => response.status >= 200 && resolve(response),
      ),
    );
    expect(prack.status).to.equal(200);
    expect(pbx.received('PRACK')).to.have.length(1);
    call.cancel();
    expect((await call.final()).status).to.equal(487);
  });

  it("honours the caller's CANCEL before the PBX said anything, and never fails over", async () => {
    pbxMode = { kind: 'silent' };
    const call = placeCall(h.carrier, h.proxy, DID);
    await waitUntil(() => pbxSeen.invites.length > 0, 3000, 'INVITE at the PBX');
    call.cancel();
    expect((await call.final()).status).to.equal(487);
    // Past the trunk's 1 s no-1xx timeout: it must not fire a failover after the cancel.
    await new Promise((resolve) => setTimeout(resolve, 1300));
    expect(mobileSeen.invites).to.have.length(0);
    expect(await h.record(call.callId)).to.include({ outcome: 'CANCELLED', failover_reason: null, final_status: 487 });
  });

  it("honours the caller's CANCEL while the failover target rings", async () => {
    pbxMode = { kind: 'reject', status: 500 };
    mobileMode = { kind: 'ring' };
    const call = placeCall(h.carrier, h.proxy, DID);
    await waitUntil(() => mobileSeen.invites.length > 0, 3000, 'INVITE at the mobile');
    await call.status(180);
    call.cancel();
    expect((await call.final()).status).to.equal(487);
    await waitUntil(() => mobileSeen.cancels.length > 0, 3000, 'CANCEL at the mobile');
    expect(await h.record(call.callId)).to.include({ outcome: 'CANCELLED', failover_reason: 'PBX_SERVER_ERROR' });
  });

  it('follows noAnswer to HANGUP when the failover target does not answer', async () => {
    pbxMode = { kind: 'reject', status: 503 };
    mobileMode = { kind: 'reject', status: 480 };
    const call = placeCall(h.carrier, h.proxy, DID);
    expect((await call.final()).status).to.equal(486);
    const record = await h.record(call.callId);
    expect(record).to.include({ outcome: 'FAILED_OVER', failover_reason: 'PBX_SERVER_ERROR', final_status: 486 });
    const steps = record.steps as { dialPlanId: string; stepId: string; app: string; exit: string | null; at: string }[];
    expect(steps.map(({ dialPlanId, stepId, app, exit }) => ({ dialPlanId, stepId, app, exit }))).to.deep.equal([
      { dialPlanId: trunk.planId, stepId: 'mobile', app: 'FORWARD', exit: 'noAnswer' },
      { dialPlanId: trunk.planId, stepId: 'busy', app: 'HANGUP', exit: null },
    ]);
    expect(Date.parse(steps[0].at)).to.be.at.most(Date.parse(steps[1].at));
  });

  it('ACKs and BYEs a 2xx that arrives after the branch was abandoned', async () => {
    pbxMode = { kind: 'silent' };
    const call = placeCall(h.carrier, h.proxy, DID);
    await waitUntil(() => pbxSeen.invites.length > 0, 3000, 'INVITE at the PBX');
    const invite = pbxSeen.invites[0];
    expect((await call.final(5000)).status).to.equal(200, 'failed over to the mobile');
    // The PBX wakes up and answers the INVITE it had ignored.
    pbx.reply({ ...invite, headers: { ...invite.headers } }, 200, 'OK', { headers: { contact: [{ uri: pbx.uri, params: {} }] } });
    await waitUntil(() => pbxSeen.byes.some((bye) => bye.headers['call-id'] === call.callId), 3000, 'BYE for the late 2xx');
    expect(pbxSeen.acks.some((ack) => ack.headers['call-id'] === call.callId)).to.equal(true, 'ACK for the late 2xx');
    await call.bye();
  });

  it('fails over without touching the PBX when the channels are full, and delivers again after a BYE', async () => {
    await setTrunk('{ maxConcurrentCalls: 1 }');
    const first = placeCall(h.carrier, h.proxy, DID);
    await first.status(200);
    const second = placeCall(h.carrier, h.proxy, DID);
    expect((await second.final()).status).to.equal(200);
    expect(pbxSeen.invites.map((invite) => invite.headers['call-id'])).to.deep.equal([first.callId]);
    expect(await h.record(second.callId)).to.include({ outcome: 'FAILED_OVER', failover_reason: 'CONCURRENCY_LIMIT' });
    await second.bye();
    await first.bye();
    const third = placeCall(h.carrier, h.proxy, DID);
    expect((await third.final()).status).to.equal(200);
    expect(await h.record(third.callId)).to.include({ outcome: 'DELIVERED' });
    await third.bye();
    await setTrunk('{ maxConcurrentCalls: 10 }');
  });

  it('fails over as unreachable when sending to the PBX fails', async () => {
    await h.applying(() => h.api.dataSource.query(`UPDATE registration SET source_address = '::1' WHERE trunk_id = $1`, [trunk.trunkId]), 'registration');
    const call = placeCall(h.carrier, h.proxy, DID);
    expect((await call.final()).status).to.equal(200);
    expect(await h.record(call.callId)).to.include({ outcome: 'FAILED_OVER', failover_reason: 'PBX_UNREACHABLE' });
    await call.bye();
    await h.registerPbx(pbx, 'call-pbx');
  });

  it('takes a configuration change made through the API for the next call', async () => {
    await setTrunk('{ failover: { enabled: false } }');
    pbxMode = { kind: 'reject', status: 503 };
    const off = placeCall(h.carrier, h.proxy, DID);
    expect((await off.final()).status).to.equal(503, 'failover off: the caller gets the 5xx');
    expect(await h.record(off.callId)).to.include({ outcome: 'REJECTED', failover_reason: 'PBX_SERVER_ERROR', final_status: 503 });
    await setTrunk('{ failover: { enabled: true } }');
    const on = placeCall(h.carrier, h.proxy, DID);
    expect((await on.final()).status).to.equal(200);
    await on.bye();
  });

  it('fails over when the trunk is not registered, and answers 404 with failover off', async () => {
    await h.applying(() => h.api.dataSource.query('DELETE FROM registration WHERE trunk_id = $1', [trunk.trunkId]), 'registration');
    const call = placeCall(h.carrier, h.proxy, DID);
    expect((await call.final()).status).to.equal(200);
    expect(await h.record(call.callId)).to.include({ outcome: 'FAILED_OVER', failover_reason: 'NOT_REGISTERED' });
    expect(pbxSeen.invites).to.have.length(0);
    await call.bye();
    await setTrunk('{ failover: { enabled: false } }');
    const off = placeCall(h.carrier, h.proxy, DID);
    expect((await off.final()).status).to.equal(404);
    await setTrunk('{ failover: { enabled: true } }');
    await h.registerPbx(pbx, 'call-pbx');
  });

  it('answers 404 for a number nobody has', async () => {
    const call = placeCall(h.carrier, h.proxy, '+442079469999');
    expect((await call.final()).status).to.equal(404);
    expect(await h.record(call.callId)).to.include({ outcome: 'REJECTED', final_status: 404, trunk_id: null });
  });

  it('refuses an INVITE from a source that is no carrier with 403', async () => {
    const stranger = await SipPeer.start('stranger', '127.0.0.2');
    try {
      const call = placeCall(stranger, h.proxy, DID);
      expect((await call.final()).status).to.equal(403);
      expect(pbxSeen.invites).to.have.length(0);
    } finally {
      stranger.stop();
    }
  });

  it('answers Max-Forwards 0 with 483', async () => {
    const call = placeCall(h.carrier, h.proxy, DID, { maxForwards: 0 });
    expect((await call.final()).status).to.equal(483);
    expect(pbxSeen.invites).to.have.length(0);
  });

  const activeCalls = () => h.activeCalls(trunk);
});

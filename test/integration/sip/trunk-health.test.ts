import { expect } from 'chai';
import { TEST_REALM } from '../../support/api';
import { SipHarness, TRUNK_PASSWORD } from '../../support/sip-harness';
import { actAsPbx, placeCall, register, SipPeer, waitUntil, type PbxMode } from '../../support/sip-peer';

/**
 * Passive trunk health on a real node: a silent PBX goes DOWN after 3 failed calls, the next calls
 * fail over at once with PBX_DOWN, and the 10th call after DOWN tries the PBX and brings it back.
 */
describe('trunk health from calls (real SIP on loopback)', function () {
  this.timeout(60_000);
  let h: SipHarness;
  let pbx: SipPeer;
  let mobile: SipPeer;
  let pbxMode: PbxMode = { kind: 'silent' };
  let pbxSeen: ReturnType<typeof actAsPbx>;
  let trunk: { trunkId: string };
  const DID = '+442079462101';

  before(async () => {
    h = await SipHarness.start({ timerCMs: 1000, workers: 2 });
    pbx = await SipPeer.start('pbx');
    mobile = await SipPeer.start('mobile');
    pbxSeen = actAsPbx(pbx, () => pbxMode);
    actAsPbx(mobile, () => ({ kind: 'answer' }));
    trunk = await h.trunk({
      username: 'health-pbx',
      number: DID,
      failover: { noProvisionalTimeoutSeconds: 1 },
      flow: { entryStepId: 'mobile', steps: [{ id: 'mobile', app: 'FORWARD', forward: { target: mobile.uri, ringTimeoutSeconds: 5 }, exits: [] }] },
    });
    // The REGISTER's Registration evidence reaches trunk_health a batch later: wait for it to be in effect.
    await h.applying(async () => {
      await h.registerPbx(pbx, 'health-pbx');
      await waitUntil(async () => ((await h.api.dataSource.query('SELECT registered FROM trunk_health WHERE trunk_id = $1', [trunk.trunkId])) as { registered: boolean }[])[0].registered, 3000, 'registered in trunk_health');
    }, 'trunk_health', trunk.trunkId);
  });
  after(async () => {
    pbx.stop();
    mobile.stop();
    await h.stop();
  });

  const state = async () => ((await h.api.dataSource.query('SELECT state FROM trunk_health WHERE trunk_id = $1', [trunk.trunkId])) as { state: string }[])[0].state;
  const events = async () => ((await h.api.dataSource.query('SELECT type, reason FROM trunk_event WHERE trunk_id = $1 ORDER BY id', [trunk.trunkId])) as { type: string; reason: string | null }[]).map((event) => `${event.type}:${event.reason ?? ''}`);

  it('goes DOWN after 3 silent calls, fails over at once with PBX_DOWN, and comes back on the 10th call', async () => {
    pbxMode = { kind: 'silent' };
    await h.applying(async () => {
      const silent = [0, 1, 2].map(() => placeCall(h.carrier, h.proxy, DID));
      for (const call of silent) expect((await call.final()).status).to.equal(200, 'failed over to the mobile');
      await waitUntil(async () => (await state()) === 'DOWN', 3000, 'the trunk DOWN');
    }, 'trunk_health', trunk.trunkId);
    const invitesBefore = pbxSeen.invites.length;
    const started = performance.now();
    const fast = placeCall(h.carrier, h.proxy, DID);
    expect((await fast.final()).status).to.equal(200);
    const failoverMs = performance.now() - started;
    expect(await h.record(fast.callId)).to.include({ outcome: 'FAILED_OVER', failover_reason: 'PBX_DOWN' });
    expect(failoverMs).to.be.below(100);
    expect(pbxSeen.invites.length).to.equal(invitesBefore, 'no INVITE reached the PBX');

    pbxMode = { kind: 'reject', status: 486 };
    for (let i = 2; i <= 9; i++) {
      const call = placeCall(h.carrier, h.proxy, DID);
      await call.final();
      expect(await h.record(call.callId)).to.include({ failover_reason: 'PBX_DOWN' }, `call ${i} after DOWN`);
    }
    expect(pbxSeen.invites.length).to.equal(invitesBefore);
    await h.applying(async () => {
      const trial = placeCall(h.carrier, h.proxy, DID);
      expect((await trial.final()).status).to.equal(486, 'the 10th call reached the PBX');
      await waitUntil(async () => (await state()) === 'UP', 3000, 'the trunk UP');
    }, 'trunk_health', trunk.trunkId);
    const after = placeCall(h.carrier, h.proxy, DID);
    expect((await after.final()).status).to.equal(486, 'calls reach the PBX again');
    expect(await events()).to.deep.equal(['FAILOVER_STARTED:CALLS_FAILING', 'FAILOVER_ENDED:']);
  });

  it('registration lost (Expires 0) and restored give their events', async () => {
    const options = { proxy: h.proxy, username: 'health-pbx', password: TRUNK_PASSWORD, realm: TEST_REALM, contact: pbx.uri };
    await register(pbx, { ...options, expires: 0 });
    await waitUntil(async () => (await events()).length >= 4, 3000, 'REGISTRATION_LOST');
    await register(pbx, options);
    await waitUntil(async () => (await events()).length >= 6, 3000, 'REGISTRATION_RESTORED');
    expect((await events()).slice(2)).to.deep.equal(['REGISTRATION_LOST:', 'FAILOVER_STARTED:NOT_REGISTERED', 'REGISTRATION_RESTORED:', 'FAILOVER_ENDED:']);
  });
});

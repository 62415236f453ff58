import { expect } from 'chai';
import { OPERATOR_KEY } from '../../support/api';
import { SipHarness } from '../../support/sip-harness';
import { actAsPbx, CarrierCall, placeCall, SipPeer, waitUntil, type PbxMode } from '../../support/sip-peer';
import type { SipRequest, SipResponse } from '../../../worker/sip/message';

/** One second of a session interval or of the maximum call length lasts this long here: 90 s is 1.8 s. */
const SECOND_MS = 20;
/** A session of 90 s with no refresh is ended 90 + 30 s after its last 2xx (session-timer.ts). */
const REAP_90_MS = 120 * SECOND_MS;
/** The maximum call length set for this file: the setting's minimum. */
const MAX_CALL_LENGTH_S = 60;
/** Leeway for the loopback round trips between what the worker timed and what the peers saw. */
const SLACK_MS = 150;

/**
 * Dead calls (RFC 4028 session timers, and the maximum call length where neither end supports
 * them) through the SIP role, with real `sip` stacks on loopback as carrier, PBX and a failover
 * target. Timers run in shortened seconds (the SIP role's `dialogSecondMs`).
 */
describe('session timers and the maximum call length (real SIP on loopback)', function () {
  this.timeout(30_000);
  let h: SipHarness;
  let pbx: SipPeer;
  let mobile: SipPeer;
  let pbxMode: PbxMode = { kind: 'answer' };
  let mobileMode: PbxMode = { kind: 'answer' };
  let pbxSeen: ReturnType<typeof actAsPbx>;
  let mobileSeen: ReturnType<typeof actAsPbx>;
  let trunk: { trunkId: string; key: string };
  /** BYEs the carrier received, with when. */
  const carrierByes: { request: SipRequest; at: number }[] = [];
  const DID = '+442079465001';
  const UNREGISTERED_DID = '+442079465002';

  before(async () => {
    h = await SipHarness.start({ dialogSecondMs: SECOND_MS });
    pbx = await SipPeer.start('pbx');
    mobile = await SipPeer.start('mobile');
    pbxSeen = actAsPbx(pbx, () => pbxMode);
    mobileSeen = actAsPbx(mobile, () => mobileMode);
    h.carrier.handler = (request) => {
      if (request.method !== 'BYE') return;
      carrierByes.push({ request, at: Date.now() });
      h.carrier.reply(request, 200, 'OK');
    };
    const forwardToMobile = { entryStepId: 'mobile', steps: [{ id: 'mobile', app: 'FORWARD', forward: { target: mobile.uri, ringTimeoutSeconds: 5 } }] };
    trunk = await h.trunk({ username: 'timer-pbx', number: DID, flow: forwardToMobile });
    await h.trunk({ username: 'timer-absent-pbx', number: UNREGISTERED_DID, flow: forwardToMobile });
    await h.registerPbx(pbx, 'timer-pbx');
    await h.applying(() => h.api.ok(OPERATOR_KEY, `mutation { setMaxCallLengthSeconds(seconds: ${MAX_CALL_LENGTH_S}) }`), 'call_limits');
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

  const byesFor = (list: SipRequest[], callId: string) => list.filter((request) => request.headers['call-id'] === callId);
  const carrierByeFor = (callId: string) => carrierByes.find((entry) => entry.request.headers['call-id'] === callId);
  const activeCalls = () => h.activeCalls(trunk);

  /** The record's end, once written. */
  async function endedAt(callId: string): Promise<{ startedAt: number; endedAt: number }> {
    return waitUntil(
      async () => {
        const record = await h.record(callId);
        return record.ended_at === null ? undefined : { startedAt: (record.started_at as Date).getTime(), endedAt: (record.ended_at as Date).getTime() };
      },
      3000,
      `the end of ${callId} on its record`,
    );
  }

  /** A re-INVITE from the carrier within the answered call, ACKed; resolves with its final response. */
  function reinvite(call: CarrierCall, answer: SipResponse, seq: number, headers: Record<string, unknown>): Promise<SipResponse> {
    const contact = Array.isArray(answer.headers.contact) ? answer.headers.contact[0].uri : call.invite.uri;
    const route = (answer.headers['record-route'] ?? []).slice().reverse();
    const dialog = { to: answer.headers.to, from: call.invite.headers.from, 'call-id': call.callId, via: [], route };
    return new Promise((resolve) => {
      h.carrier.send({ method: 'INVITE', uri: contact, headers: { ...dialog, cseq: { seq, method: 'INVITE' }, contact: [{ uri: h.carrier.uri, params: {} }], ...headers } }, (response) => {
        if (response.status < 200) return;
        if (response.status < 300) h.carrier.send({ method: 'ACK', uri: contact, headers: { ...dialog, cseq: { seq, method: 'ACK' } } });
        resolve(response);
      });
    });
  }

  it('reaps a dialog with no BYE when its session timer (90 s, never refreshed) expires: BYE to carrier and PBX, channel back, end recorded', async () => {
    pbxMode = { kind: 'answer', headers: { 'session-expires': '90;refresher=uac', require: 'timer' } };
    const call = placeCall(h.carrier, h.proxy, DID, { headers: { supported: 'timer', 'session-expires': '90' } });
    const answer = await call.status(200);
    const answeredAt = Date.now();
    expect(answer.headers['session-expires']).to.equal('90;refresher=uac');
    expect(pbxSeen.invites[0].headers['session-expires']).to.equal('90', "the caller's interval, respected");
    await waitUntil(async () => (await activeCalls()) === 1, 3000, 'activeCalls 1');

    const pbxBye = await waitUntil(() => byesFor(pbxSeen.byes, call.callId)[0], 6000, 'the BYE at the PBX');
    const carrierBye = await waitUntil(() => carrierByeFor(call.callId), 3000, 'the BYE at the carrier');
    expect(carrierBye.at - answeredAt).to.be.within(REAP_90_MS - SLACK_MS, REAP_90_MS + 1500);
    // Each BYE is sent in the other end's name within that end's dialog.
    expect(carrierBye.request.headers.from.params.tag).to.equal(answer.headers.to.params.tag);
    expect(carrierBye.request.headers.to.params.tag).to.equal(call.invite.headers.from.params.tag);
    expect(carrierBye.request.uri).to.equal(h.carrier.uri, "the carrier's Contact");
    expect(pbxBye.headers.from.params.tag).to.equal(call.invite.headers.from.params.tag);
    expect(pbxBye.headers.to.params.tag).to.equal(answer.headers.to.params.tag);
    for (const bye of [carrierBye.request, pbxBye]) {
      expect(bye.headers.cseq.seq).to.be.greaterThan(call.invite.headers.cseq.seq);
      expect(bye.headers.reason).to.equal('SIP;cause=408;text="Session expired"');
    }
    await waitUntil(async () => (await activeCalls()) === 0, 3000, 'the channel back: activeCalls 0');
    const record = await endedAt(call.callId);
    expect(record.endedAt - record.startedAt).to.be.at.least(REAP_90_MS - SLACK_MS);
  });

  it('keeps a call refreshed by re-INVITE up past its first interval, and reaps it once the refreshes stop', async () => {
    pbxMode = { kind: 'answer', headers: { 'session-expires': '90;refresher=uac', require: 'timer' } };
    const call = placeCall(h.carrier, h.proxy, DID, { headers: { supported: 'timer', 'session-expires': '90' } });
    const answer = await call.status(200);
    const answeredAt = Date.now();
    // The refresher refreshes at half the interval (RFC 4028 section 7.2).
    await new Promise((resolve) => setTimeout(resolve, 45 * SECOND_MS));
    const refreshed = await reinvite(call, answer, 2, { supported: 'timer', 'session-expires': '90;refresher=uac' });
    const refreshedAt = Date.now();
    expect([refreshed.status, refreshed.headers['session-expires']]).to.deep.equal([200, '90;refresher=uac']);
    await new Promise((resolve) => setTimeout(resolve, answeredAt + REAP_90_MS + 300 - Date.now()));
    expect(byesFor(pbxSeen.byes, call.callId)).to.deep.equal([], 'up past the first expiry');
    expect(carrierByeFor(call.callId)).to.equal(undefined);
    expect(await activeCalls()).to.equal(1);

    const carrierBye = await waitUntil(() => carrierByeFor(call.callId), 4000, 'the BYE at the carrier once refreshes stopped');
    expect(carrierBye.at - refreshedAt).to.be.at.least(REAP_90_MS - SLACK_MS);
    expect(carrierBye.request.headers.cseq.seq).to.be.greaterThan(2);
    await waitUntil(() => byesFor(pbxSeen.byes, call.callId).length === 1, 3000, 'the BYE at the PBX');
    await endedAt(call.callId);
  });

  it('ends a call where neither end supports timers at the maximum call length, BYE to both', async () => {
    const call = placeCall(h.carrier, h.proxy, DID);
    const answer = await call.status(200);
    const answeredAt = Date.now();
    // We asked the PBX for a session timer (RFC 4028 section 8.1); it answered without one.
    expect([pbxSeen.invites[0].headers['session-expires'], pbxSeen.invites[0].headers['min-se']]).to.deep.equal(['1800', '90']);
    expect(answer.headers['session-expires']).to.equal(undefined);
    const pbxBye = await waitUntil(() => byesFor(pbxSeen.byes, call.callId)[0], 4000, 'the BYE at the PBX');
    const carrierBye = await waitUntil(() => carrierByeFor(call.callId), 3000, 'the BYE at the carrier');
    expect(carrierBye.at - answeredAt).to.be.within(MAX_CALL_LENGTH_S * SECOND_MS - SLACK_MS, MAX_CALL_LENGTH_S * SECOND_MS + 1500);
    for (const bye of [carrierBye.request, pbxBye]) expect(bye.headers.reason).to.equal('Q.850;cause=102;text="Maximum call length"');
    await waitUntil(async () => (await activeCalls()) === 0, 3000, 'activeCalls 0');
    await endedAt(call.callId);
  });

  it('completes the 2xx for a caller that supports timers when the PBX does not (refresher=uac, Require: timer), and reaps it unrefreshed', async () => {
    const call = placeCall(h.carrier, h.proxy, DID, { headers: { supported: 'timer', 'session-expires': '90' } });
    const answer = await call.status(200);
    const answeredAt = Date.now();
    expect([answer.headers['session-expires'], answer.headers.require]).to.deep.equal(['90;refresher=uac', 'timer']);
    const carrierBye = await waitUntil(() => carrierByeFor(call.callId), 6000, 'the BYE at the carrier');
    expect(carrierBye.at - answeredAt).to.be.at.least(REAP_90_MS - SLACK_MS);
    await waitUntil(() => byesFor(pbxSeen.byes, call.callId).length === 1, 3000, 'the BYE at the PBX');
  });

  it('answers 422 with Min-SE 90 to an INVITE asking for less, and the same Call-ID asking again gets through', async () => {
    const first = placeCall(h.carrier, h.proxy, DID, { headers: { supported: 'timer', 'session-expires': '60' } });
    const refused = await first.final();
    expect([refused.status, refused.headers['min-se']]).to.deep.equal([422, '90']);
    expect(pbxSeen.invites).to.deep.equal([], 'nothing reached the PBX');
    // RFC 4028 section 7.4: the same Call-ID, a higher CSeq, an interval at least the Min-SE.
    const again = new CarrierCall(h.carrier, { ...first.invite, headers: { ...first.invite.headers, via: [], cseq: { seq: 2, method: 'INVITE' }, 'session-expires': '90' } }).start();
    expect((await again.final()).status).to.equal(200);
    expect(pbxSeen.invites.map((invite) => invite.headers['session-expires'])).to.deep.equal(['90']);
    expect((await again.bye()).status).to.equal(200);
    await endedAt(again.callId);
    expect(await h.api.dataSource.query('SELECT outcome, final_status FROM call_record WHERE call_id = $1', [again.callId])).to.deep.equal([{ outcome: 'DELIVERED', final_status: 200 }], 'one record: the 422 is no call');
  });

  it('gives a dial plan target the same session timer, and reaps its call the same way', async () => {
    mobileMode = { kind: 'answer', headers: { 'session-expires': '90;refresher=uas' } };
    const call = placeCall(h.carrier, h.proxy, UNREGISTERED_DID);
    const answer = await call.status(200);
    const answeredAt = Date.now();
    expect([mobileSeen.invites[0].headers['session-expires'], mobileSeen.invites[0].headers['min-se']]).to.deep.equal(['1800', '90']);
    expect(answer.headers['session-expires']).to.equal('90;refresher=uas');
    const carrierBye = await waitUntil(() => carrierByeFor(call.callId), 6000, 'the BYE at the carrier');
    expect(carrierBye.at - answeredAt).to.be.at.least(REAP_90_MS - SLACK_MS);
    await waitUntil(() => byesFor(mobileSeen.byes, call.callId).length === 1, 3000, 'the BYE at the forward target');
    expect(await h.record(call.callId)).to.include({ outcome: 'FAILED_OVER', failover_reason: 'NOT_REGISTERED' });
    await endedAt(call.callId);
  });
});

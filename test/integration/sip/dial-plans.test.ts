import { expect } from 'chai';
import { OPERATOR_KEY } from '../../support/api';
import { SipHarness } from '../../support/sip-harness';
import { actAsPbx, placeCall, SipPeer, waitUntil } from '../../support/sip-peer';
import type { SipRequest, SipResponse } from '../../../worker/sip/message';

describe('dial plans and dialogs (real SIP on loopback)', function () {
  this.timeout(30_000);
  let h: SipHarness;
  let pbx: SipPeer;
  let gateway: SipPeer;
  let gatewaySeen: ReturnType<typeof actAsPbx>;
  let pbxSeen: ReturnType<typeof actAsPbx>;
  const DID = '+442079464001';

  before(async () => {
    h = await SipHarness.start();
    pbx = await SipPeer.start('pbx3');
    gateway = await SipPeer.start('gateway');
    pbxSeen = actAsPbx(pbx, () => ({ kind: 'answer' }));
    gatewaySeen = actAsPbx(gateway, () => ({ kind: 'answer' }));
    await h.applying(() => h.api.ok(OPERATOR_KEY, `mutation ($uri: String) { setOutboundGateway(uri: $uri) { uri } }`, { uri: `sip:127.0.0.1:${gateway.port}` }), 'outbound_gateway');
    await h.trunk({
      username: 'plan-pbx',
      number: DID,
      flow: { entryStepId: 'mobile', steps: [{ id: 'mobile', app: 'FORWARD', forward: { target: '+447911123456', ringTimeoutSeconds: 5 } }] },
    });
  });
  after(async () => {
    pbx.stop();
    gateway.stop();
    await h.stop();
  });

  it('forwards an E.164 target through the outbound gateway, the number in the user part', async () => {
    const call = placeCall(h.carrier, h.proxy, DID);
    expect((await call.final()).status).to.equal(200);
    expect(gatewaySeen.invites[0].uri).to.equal(`sip:+447911123456@127.0.0.1:${gateway.port}`);
    expect(await h.record(call.callId)).to.include({ outcome: 'FAILED_OVER', failover_reason: 'NOT_REGISTERED' });
    await call.bye();
    await waitUntil(() => gatewaySeen.byes.length > 0, 3000, 'BYE at the gateway');
  });

  it("runs a dial plan called at its own external number, without failover", async () => {
    const company = await h.api.company('Direct Co');
    await h.applying(
      () =>
        h.api.ok(company.key, `mutation ($input: CreateDialPlanInput!) { createDialPlan(input: $input) { id } }`, {
          input: {
            companyId: company.id,
            name: 'Closed',
            internalNumber: '1',
            externalNumber: '+442079464002',
            flow: { entryStepId: 'closed', steps: [{ id: 'closed', app: 'HANGUP', hangup: { status: 480 } }] },
          },
        }),
      'did',
      '+442079464002',
    );
    const call = placeCall(h.carrier, h.proxy, '+442079464002');
    expect((await call.final()).status).to.equal(480);
    expect(await h.record(call.callId)).to.include({ outcome: 'DELIVERED', failover_reason: null, final_status: 480, company_id: company.id });
  });

  it('passes a re-INVITE from the caller and a BYE from the PBX through the dialog', async () => {
    await h.registerPbx(pbx, 'plan-pbx');
    const call = placeCall(h.carrier, h.proxy, DID);
    const answer = await call.status(200);
    await waitUntil(() => pbxSeen.acks.length > 0, 3000, 'ACK at the PBX');
    const route = (answer.headers['record-route'] ?? []).slice().reverse();
    const contact = Array.isArray(answer.headers.contact) ? answer.headers.contact[0].uri : pbx.uri;
    const reinvite: SipRequest = {
      method: 'INVITE',
      uri: contact,
      headers: {
        to: answer.headers.to,
        from: call.invite.headers.from,
        'call-id': call.callId,
        cseq: { seq: 5, method: 'INVITE' },
        via: [],
        route,
        contact: [{ uri: h.carrier.uri, params: {} }],
      },
    };
    const reinviteAnswer = await new Promise<SipResponse>((resolve) => h.carrier.send(reinvite, (response) => response.status >= 200 && resolve(response)));
    expect(reinviteAnswer.status).to.equal(200);
    expect(pbxSeen.invites.filter((invite) => invite.headers['call-id'] === call.callId)).to.have.length(2);

    // The PBX hangs up: its BYE goes to the caller through us.
    const pbxInvite = pbxSeen.invites[0];
    const carrierByes: SipRequest[] = [];
    h.carrier.handler = (request) => {
      if (request.method === 'BYE') {
        carrierByes.push(request);
        h.carrier.reply(request, 200, 'OK');
      }
    };
    const bye: SipRequest = {
      method: 'BYE',
      uri: h.carrier.uri,
      headers: {
        to: call.invite.headers.from,
        from: { ...pbxInvite.headers.to, params: { tag: String(answer.headers.to.params.tag) } },
        'call-id': call.callId,
        cseq: { seq: 1, method: 'BYE' },
        via: [],
        route: pbxInvite.headers['record-route'],
      },
    };
    const byeAnswer = await new Promise<SipResponse>((resolve) => pbx.send(bye, (response) => response.status >= 200 && resolve(response)));
    expect(byeAnswer.status).to.equal(200);
    expect(carrierByes).to.have.length(1);
    const record = await waitUntil(async () => {
      const row = await h.record(call.callId);
      return row.ended_at !== null ? row : undefined;
    }, 3000, 'the end time on the record');
    expect(record).to.include({ outcome: 'DELIVERED', final_status: 200 });
  });
});

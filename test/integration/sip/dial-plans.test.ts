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
    // KEEP_CALLER (the default): the caller as the carrier sent it.
    expect(gatewaySeen.invites[0].headers.from.uri).to.equal('sip:+4930901820@carrier.test');
    expect(gatewaySeen.invites[0].headers['p-asserted-identity']).to.equal(undefined);
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

  it('fails over FORWARD -> noAnswer -> HANGUP presenting the plan number, and the record lists both steps', async () => {
    const office = await SipPeer.start('office');
    try {
      const officeSeen = actAsPbx(office, () => ({ kind: 'reject', status: 480 }));
      const company = await h.api.company('Presenting Co');
      const { createDialPlan: plan } = await h.api.ok<{ createDialPlan: { id: string } }>(company.key, `mutation ($input: CreateDialPlanInput!) { createDialPlan(input: $input) { id } }`, {
        input: {
          companyId: company.id,
          name: 'Office',
          internalNumber: '1',
          externalNumber: '+442079464010',
          flow: {
            entryStepId: 'office',
            steps: [
              { id: 'office', app: 'FORWARD', forward: { target: office.uri, ringTimeoutSeconds: 5, callerId: 'DIAL_PLAN_NUMBER' }, exits: [{ on: 'noAnswer', stepId: 'closed' }] },
              { id: 'closed', app: 'HANGUP', hangup: { status: 486 } },
            ],
          },
        },
      });
      // The trunk's number is written after the plan's: once it reached the workers, so did the plan's number.
      await h.applying(
        () =>
          h.api.ok(company.key, `mutation ($input: CreateTrunkInput!) { createTrunk(input: $input) { id } }`, {
            input: { companyId: company.id, name: 'present-pbx', sipUsername: 'present-pbx', sipPassword: 'long enough secret', inboundNumbers: ['+442079464011'], maxConcurrentCalls: 5, failover: { enabled: true, dialPlanId: plan.id } },
          }),
        'did',
        '+442079464011',
      );
      const call = placeCall(h.carrier, h.proxy, '+442079464011');
      expect((await call.final()).status).to.equal(486);
      const invite = officeSeen.invites[0];
      expect(invite.headers['p-asserted-identity']).to.equal('<tel:+442079464010>');
      expect(invite.headers.from.uri).to.equal('sip:+442079464010@carrier.test');
      expect(invite.headers.from.params.tag).to.be.a('string').and.not.equal('');
      expect(invite.headers['call-id']).to.equal(call.callId, 'still the proxied leg');
      const record = await h.record(call.callId);
      expect(record).to.include({ outcome: 'FAILED_OVER', failover_reason: 'NOT_REGISTERED', final_status: 486 });
      expect((record.steps as Record<string, unknown>[]).map(({ dialPlanId, stepId, app, exit }) => ({ dialPlanId, stepId, app, exit }))).to.deep.equal([
        { dialPlanId: plan.id, stepId: 'office', app: 'FORWARD', exit: 'noAnswer' },
        { dialPlanId: plan.id, stepId: 'closed', app: 'HANGUP', exit: null },
      ]);
      const { calls } = await h.api.ok<{ calls: { edges: { node: { callId: string; steps: { stepId: string; exit: string | null }[] } }[] } }>(company.key, `{ calls(first: 5) { edges { node { callId steps { stepId exit } } } } }`);
      expect(calls.edges.find((edge) => edge.node.callId === call.callId)?.node.steps).to.deep.equal([{ stepId: 'office', exit: 'noAnswer' }, { stepId: 'closed', exit: null }]);
    } finally {
      office.stop();
    }
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

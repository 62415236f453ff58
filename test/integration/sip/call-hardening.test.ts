import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import * as sip from 'sip';
import { SipHarness } from '../../support/sip-harness';
import { actAsPbx, CarrierCall, newTag, SipPeer, waitUntil, type PbxMode } from '../../support/sip-peer';
import type { SipRequest, SipResponse } from '../../../worker/sip/message';

/**
 * Call-path hardening through the SIP role, with real `sip` stacks on loopback as carrier and
 * PBX: 2xx retransmissions, CANCEL matching, relayed 5xx, out-of-dialog BYE, SIP version.
 */
describe('call path: retransmissions, CANCEL matching and odd requests (real SIP on loopback)', function () {
  this.timeout(30_000);
  let h: SipHarness;
  let pbx: SipPeer;
  let pbxMode: PbxMode = { kind: 'answer' };
  let pbxSeen: ReturnType<typeof actAsPbx>;
  let pbxAsUsual: SipPeer['handler'];
  let trunk: { trunkId: string; key: string; planId: string; companyId: string };
  const DID = '+442079463001';

  before(async () => {
    h = await SipHarness.start();
    pbx = await SipPeer.start('pbx');
    pbxSeen = actAsPbx(pbx, () => pbxMode);
    pbxAsUsual = pbx.handler;
    trunk = await h.trunk({
      username: 'hardening-pbx',
      number: DID,
      failover: { noProvisionalTimeoutSeconds: 2 },
      flow: { entryStepId: 'busy', steps: [{ id: 'busy', app: 'HANGUP', hangup: { status: 486 } }] },
    });
    await h.registerPbx(pbx, 'hardening-pbx');
  });
  after(async () => {
    pbx.stop();
    await h.stop();
  });
  beforeEach(() => {
    pbxMode = { kind: 'answer' };
    pbx.handler = pbxAsUsual;
    for (const list of Object.values(pbxSeen)) list.length = 0;
  });

  const activeCalls = () => h.activeCalls(trunk);

  function inviteTo(did: string): SipRequest {
    return {
      method: 'INVITE',
      uri: `sip:${did}@${h.proxy.address}:${h.proxy.port}`,
      headers: {
        to: { uri: `sip:${did}@${h.proxy.address}`, params: {} },
        from: { uri: 'sip:+4930901820@carrier.test', params: { tag: newTag() } },
        'call-id': `${randomBytes(8).toString('hex')}@carrier.test`,
        cseq: { seq: 1, method: 'INVITE' },
        contact: [{ uri: h.carrier.uri, params: {} }],
        via: [],
        'max-forwards': 70,
      },
    };
  }

  describe('a late ACK with a retransmitted 200 (RFC 3261 13.3.1.4, 16.7)', () => {
    it('passes the retransmission to the caller and keeps the call up; the channel is given back at BYE', async () => {
      // The PBX retransmits its 200 on T1 doubling until the ACK comes (RFC 3261 13.3.1.4).
      const retransmitted: number[] = [];
      pbx.handler = (request) => {
        if (request.method === 'ACK') pbxSeen.acks.push(request);
        if (request.method === 'BYE') {
          pbxSeen.byes.push(request);
          pbx.reply(request, 200, 'OK');
        }
        if (request.method !== 'INVITE') return;
        pbxSeen.invites.push(request);
        const ok = sip.makeResponse(request as never, 200, 'OK') as unknown as SipResponse;
        ok.headers.to = { ...ok.headers.to, params: { ...ok.headers.to.params, tag: 'pbx-tag' } };
        ok.headers['record-route'] = request.headers['record-route'];
        ok.headers.contact = [{ uri: pbx.uri, params: {} }];
        pbx.respond(ok);
        const acked = () => pbxSeen.acks.some((ack) => ack.headers['call-id'] === request.headers['call-id']);
        const again = (interval: number) =>
          setTimeout(() => {
            if (acked() || interval > 4000) return;
            retransmitted.push(Date.now());
            pbx.respond(ok);
            again(interval * 2);
          }, interval);
        again(500);
      };
      // The caller ACKs 700 ms after the first 200, and every 200 after that (RFC 3261 13.2.2.4).
      const invite = inviteTo(DID);
      const call = new CarrierCall(h.carrier, invite);
      let firstOkAt: number | null = null;
      let ackDue = false;
      const ack = (response: SipResponse) => {
        const route = (response.headers['record-route'] ?? []).slice().reverse();
        h.carrier.send({
          method: 'ACK',
          uri: Array.isArray(response.headers.contact) ? response.headers.contact[0].uri : invite.uri,
          headers: { to: response.headers.to, from: invite.headers.from, 'call-id': invite.headers['call-id'], cseq: { seq: 1, method: 'ACK' }, via: [], route },
        });
      };
      h.carrier.send(invite, (response) => {
        call.responses.push(response);
        if (response.status < 200 || response.status >= 300) return;
        if (firstOkAt === null) {
          firstOkAt = Date.now();
          setTimeout(() => {
            ackDue = true;
            ack(response);
          }, 700);
        } else if (ackDue) {
          ack(response);
        }
      });
      await waitUntil(() => pbxSeen.acks.length > 0, 5000, 'the late ACK at the PBX');
      expect(retransmitted.length).to.be.at.least(1, 'the PBX retransmitted its 200 before the ACK');
      expect(call.responses.filter((response) => response.status === 200).length).to.be.at.least(2, 'the retransmitted 200 reached the caller');
      // Past the next retransmission the PBX would have sent (1.5 s): nothing hung the call up.
      await new Promise((resolve) => setTimeout(resolve, 1200));
      expect(pbxSeen.byes, 'no BYE to the PBX').to.have.length(0);
      expect(await activeCalls()).to.equal(1);
      const bye = await call.bye();
      expect(bye.status).to.equal(200);
      expect(pbxSeen.byes).to.have.length(1);
      expect(await h.record(call.callId)).to.include({ outcome: 'DELIVERED', final_status: 200 });
      await waitUntil(async () => (await activeCalls()) === 0 || undefined, 3000, 'activeCalls 0');
    });
  });

});

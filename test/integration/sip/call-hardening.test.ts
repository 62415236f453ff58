import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { expect } from 'chai';
import * as sip from 'sip';
import { SipHarness } from '../../support/sip-harness';
import { actAsPbx, CarrierCall, newBranch, newTag, placeCall, SipPeer, waitUntil, type PbxMode } from '../../support/sip-peer';
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

  describe('CANCEL matched by the INVITE transaction and its source (RFC 3261 9.2)', () => {
    const cancelOf = (call: CarrierCall, branch: string, sentBy: { host: string; port: number }): SipRequest => ({
      method: 'CANCEL',
      uri: call.invite.uri,
      headers: {
        via: [{ version: '2.0', protocol: 'UDP', host: sentBy.host, port: sentBy.port, params: { branch } }],
        to: call.invite.headers.to,
        from: call.invite.headers.from,
        'call-id': call.callId,
        cseq: { seq: call.invite.headers.cseq.seq, method: 'CANCEL' },
        'max-forwards': 70,
      },
    });
    /** The INVITE's top Via as the carrier sent it: below ours in what the PBX got. */
    const carrierVia = async (call: CarrierCall) => {
      const seen = await waitUntil(() => pbxSeen.invites.find((invite) => invite.headers['call-id'] === call.callId), 3000, 'INVITE at the PBX');
      const via = seen.headers.via[1];
      return { branch: String(via.params.branch), sentBy: { host: via.host, port: via.port ?? 5060 } };
    };

    it('answers 481 to a CANCEL with the right Call-ID but another branch, from anywhere, and the call rings on', async () => {
      pbxMode = { kind: 'ring' };
      const call = placeCall(h.carrier, h.proxy, DID);
      await call.status(180);
      const { sentBy } = await carrierVia(call);
      const guessed = await rawRequest('127.0.0.2', cancelOf(call, newBranch(), { host: '127.0.0.2', port: 5060 }));
      expect(guessed.status).to.equal(481, 'another branch, from an untrusted address');
      const sameSource = await new Promise<SipResponse>((resolve) => h.carrier.send(cancelOf(call, newBranch(), sentBy), (response) => response.status >= 200 && resolve(response)));
      expect(sameSource.status).to.equal(481, 'from the caller, but another branch');
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(call.statuses()).not.to.include(487);
      expect(pbxSeen.cancels).to.have.length(0, 'the PBX was left ringing');
      call.cancel();
      expect((await call.final()).status).to.equal(487);
      await waitUntil(() => pbxSeen.cancels.length === 1, 3000, 'the real CANCEL at the PBX');
      expect(await h.record(call.callId)).to.include({ outcome: 'CANCELLED', final_status: 487 });
    });

    it("answers 481 to a CANCEL with the INVITE's own branch and sent-by from another address, and the call is answered", async () => {
      pbxMode = { kind: 'answer', afterMs: 600 };
      const call = placeCall(h.carrier, h.proxy, DID);
      await call.status(180);
      const { branch, sentBy } = await carrierVia(call);
      const spoofed = await rawRequest('127.0.0.2', cancelOf(call, branch, sentBy));
      expect(spoofed.status).to.equal(481);
      expect((await call.final()).status).to.equal(200, 'not cancelled');
      expect(pbxSeen.cancels).to.have.length(0);
      expect((await call.bye()).status).to.equal(200);
    });
  });

  describe("the PBX's own response with failover off (DESIGN section 1)", () => {
    it("relays the PBX's own 5xx with failover off: reason phrase, To tag and Retry-After kept", async () => {
      await setTrunk('{ failover: { enabled: false } }');
      try {
        pbx.handler = (request) => {
          if (request.method !== 'INVITE') return;
          pbxSeen.invites.push(request);
          pbx.reply(request, 100, 'Trying');
          const busy = sip.makeResponse(request as never, 503, 'Down For Maintenance') as unknown as SipResponse;
          busy.headers.to = { ...busy.headers.to, params: { ...busy.headers.to.params, tag: 'pbx-tag' } };
          busy.headers['retry-after'] = '120';
          pbx.respond(busy);
        };
        const call = placeCall(h.carrier, h.proxy, DID);
        const final = await call.final();
        expect(final).to.deep.include({ status: 503, reason: 'Down For Maintenance' });
        expect(final.headers['retry-after']).to.equal('120');
        expect(final.headers.to.params.tag).to.equal('pbx-tag');
        expect(await h.record(call.callId)).to.include({ outcome: 'REJECTED', failover_reason: 'PBX_SERVER_ERROR', final_status: 503 });
      } finally {
        await setTrunk('{ failover: { enabled: true } }');
      }
    });
  });

  describe('odd requests', () => {
    it('answers a BYE outside any dialog (no To tag) with 481, and a method we do not allow with 405', async () => {
      const request = (method: string): SipRequest => ({
        method,
        uri: `sip:${DID}@${h.proxy.address}:${h.proxy.port}`,
        headers: {
          to: { uri: `sip:${DID}@${h.proxy.address}`, params: {} },
          from: { uri: 'sip:+4930901820@carrier.test', params: { tag: newTag() } },
          'call-id': `${randomBytes(8).toString('hex')}@carrier.test`,
          cseq: { seq: 1, method },
          via: [],
          'max-forwards': 70,
        },
      });
      const answer = (method: string) => new Promise<SipResponse>((resolve) => h.carrier.send(request(method), (response) => response.status >= 200 && resolve(response)));
      expect((await answer('BYE')).status).to.equal(481);
      expect((await answer('INFO')).status).to.equal(481);
      const publish = await answer('PUBLISH');
      expect(publish.status).to.equal(405);
      expect(publish.headers.allow).to.include('BYE');
    });

    it('answers an INVITE in SIP/7.0 with 505 and connects nothing', async () => {
      const invite = { ...inviteTo(DID), version: '7.0' };
      const response = await rawRequest('127.0.0.1', invite);
      expect(response.status).to.equal(505);
      expect(response.version).to.equal('2.0', 'the 505 itself speaks SIP/2.0');
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(pbxSeen.invites).to.have.length(0);
    });
  });

  async function setTrunk(input: string): Promise<void> {
    await h.applying(() => h.api.ok(trunk.key, `mutation ($id: ID!) { updateTrunk(id: $id, input: ${input}) { id } }`, { id: trunk.trunkId }), 'trunk', trunk.trunkId);
  }

  /** Sends one request as a raw datagram from `address` (any port), resolves with its first final response. */
  async function rawRequest(address: string, request: SipRequest): Promise<SipResponse & { version?: string }> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, address, () => resolve()));
    try {
      const { port } = socket.address();
      const message = { ...request, headers: { ...request.headers } };
      if (message.headers.via.length === 0) message.headers.via = [{ version: '2.0', protocol: 'UDP', host: address, port, params: { branch: newBranch() } }];
      const text = sip.stringify(message as never);
      const final = new Promise<SipResponse>((resolve) =>
        socket.on('message', (data) => {
          const parsed = sip.parse(data) as unknown as SipResponse | undefined;
          if (parsed !== undefined && parsed.status >= 200) resolve(parsed);
        }),
      );
      socket.send(Buffer.from(text, 'binary'), h.proxy.port, h.proxy.address);
      return await Promise.race([final, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no final response to ${request.method}`)), 3000))]);
    } finally {
      socket.close();
    }
  }
});

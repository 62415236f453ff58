import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { expect } from 'chai';
import { SipHarness } from '../../support/sip-harness';
import { CarrierCall, newBranch, newTag, placeCall, waitUntil } from '../../support/sip-peer';
import type { SipRequest } from '../../../worker/sip/message';

/**
 * A NUL from the wire (RFC 4475 section 3.1.2.6 `escnull`, a %00 or a raw NUL byte in the
 * Call-ID) must not stop a worker's call records: the hostile call is recorded with the NUL
 * escaped, and every call after it is recorded too.
 */
describe('call records survive NULs from the wire (one worker, real SIP and PostgreSQL)', function () {
  this.timeout(20_000);
  const did = '+442079463001';
  let h: SipHarness;

  before(async () => {
    h = await SipHarness.start({ workers: 1 });
    // Not registered and no failover: each call is answered 404 at once and recorded as REJECTED.
    await h.trunk({ username: 'nul-pbx', number: did, failover: { enabled: false } });
  });
  after(async () => {
    await h.stop();
  });

  /** The call record whose Call-ID was stored as `storedCallId`. */
  const recordOf = (storedCallId: string) =>
    waitUntil(async () => {
      const rows: Record<string, unknown>[] = await h.api.dataSource.query('SELECT * FROM call_record WHERE call_id = $1', [storedCallId]);
      return rows[0];
    }, 5000, `a call record for ${storedCallId}`);

  it('records an escnull From and a %00 in the Call-ID, and the calls after them', async () => {
    const callId = `nul-%00-${randomBytes(4).toString('hex')}@carrier.test`;
    const invite: SipRequest = {
      method: 'INVITE',
      uri: `sip:${did}@${h.proxy.address}:${h.proxy.port}`,
      headers: {
        to: { uri: `sip:${did}@${h.proxy.address}`, params: {} },
        from: { uri: 'sip:null-%00-null@example.com', params: { tag: newTag() } },
        'call-id': callId,
        cseq: { seq: 1, method: 'INVITE' },
        contact: [{ uri: h.carrier.uri, params: {} }],
        via: [],
        'max-forwards': 70,
      },
    };
    const hostile = new CarrierCall(h.carrier, invite).start();
    expect((await hostile.final()).status).to.equal(404);
    const normal = Array.from({ length: 5 }, () => placeCall(h.carrier, h.proxy, did));
    for (const call of normal) expect((await call.final()).status).to.equal(404);

    // The calls after it first: before the fix they were the ones lost.
    for (const call of normal) expect((await recordOf(call.callId)).outcome).to.equal('REJECTED');
    expect(await recordOf(callId)).to.include({ caller: 'null-%00-null', outcome: 'REJECTED' });
  });

  it('records a raw NUL byte in the Call-ID and the From user, and the calls after them', async () => {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    const statuses: string[] = [];
    socket.on('message', (message) => statuses.push(message.toString('latin1').split('\r\n')[0]));
    try {
      const token = randomBytes(4).toString('hex');
      const { port } = socket.address();
      const lines = [
        `INVITE sip:${did}@${h.proxy.address}:${h.proxy.port} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=${newBranch()}`,
        'Max-Forwards: 70',
        `To: <sip:${did}@${h.proxy.address}>`,
        `From: <sip:raw-\u0000-nul@example.com>;tag=${newTag()}`,
        `Call-ID: raw-\u0000-${token}@carrier.test`,
        'CSeq: 1 INVITE',
        `Contact: <sip:carrier@127.0.0.1:${port}>`,
        'Content-Length: 0',
        '',
        '',
      ];
      socket.send(Buffer.from(lines.join('\r\n'), 'latin1'), h.proxy.port, h.proxy.address);
      await waitUntil(() => statuses.some((line) => / 404 /.test(line)), 5000, 'a 404 to the raw INVITE');
      const normal = Array.from({ length: 5 }, () => placeCall(h.carrier, h.proxy, did));
      for (const call of normal) expect((await call.final()).status).to.equal(404);

      for (const call of normal) expect((await recordOf(call.callId)).outcome).to.equal('REJECTED');
      expect(await recordOf(`raw-%00-${token}@carrier.test`)).to.include({ caller: 'raw-%00-nul', outcome: 'REJECTED' });
    } finally {
      socket.close();
    }
  });

  it('records the DID in E.164 and what the carrier dialled as it came: an international prefix, a %-escaped NUL, a user that is no number', async () => {
    const international = placeCall(h.carrier, h.proxy, `00${did.slice(1)}`);
    const escaped = placeCall(h.carrier, h.proxy, 'not-%00-a-number');
    for (const call of [international, escaped]) expect((await call.final()).status).to.equal(404);
    expect(await recordOf(international.callId)).to.include({ did, dialled: `00${did.slice(1)}`, failover_reason: 'NOT_REGISTERED', outcome: 'REJECTED' });
    expect(await recordOf(escaped.callId)).to.include({ did: null, dialled: 'not-%00-a-number', trunk_id: null, final_status: 404 });
  });
});

import dgram from 'node:dgram';
import { expect } from 'chai';
import { SipHarness } from '../../support/sip-harness';
import { actAsPbx, placeCall, SipPeer, waitUntil, type CarrierCall } from '../../support/sip-peer';

/**
 * Two worker threads behind one edge: the channel limit holds across them, a killed worker is
 * restarted and its channels given back, and bad datagrams crash nothing.
 */
describe('SIP workers (two threads, real SIP on loopback)', function () {
  this.timeout(30_000);
  let h: SipHarness;
  let pbx: SipPeer;
  let mobile: SipPeer;
  let pbxSeen: ReturnType<typeof actAsPbx>;
  let trunk: { trunkId: string; key: string };
  const DID = '+442079463001';

  before(async () => {
    h = await SipHarness.start({ workers: 2 });
    pbx = await SipPeer.start('pbx2');
    mobile = await SipPeer.start('mobile2');
    pbxSeen = actAsPbx(pbx, () => ({ kind: 'answer' }));
    actAsPbx(mobile, () => ({ kind: 'answer' }));
    trunk = await h.trunk({
      username: 'two-workers',
      number: DID,
      maxConcurrentCalls: 1,
      flow: { entryStepId: 'm', steps: [{ id: 'm', app: 'FORWARD', forward: { target: mobile.uri, ringTimeoutSeconds: 5 } }] },
    });
    await h.registerPbx(pbx, 'two-workers');
  });
  after(async () => {
    pbx.stop();
    mobile.stop();
    await h.stop();
  });

  const workerOf = async (call: CarrierCall) => String((await h.record(call.callId)).worker);
  const activeCalls = () => h.activeCalls(trunk);

  it('holds the channel limit across workers', async () => {
    pbxSeen.invites.length = 0;
    const first = placeCall(h.carrier, h.proxy, DID);
    expect((await first.final()).status).to.equal(200);
    const holder = await workerOf(first);
    const others: CarrierCall[] = [];
    for (let i = 0; i < 4; i++) {
      const call = placeCall(h.carrier, h.proxy, DID);
      expect((await call.final()).status).to.equal(200);
      expect(await h.record(call.callId)).to.include({ outcome: 'FAILED_OVER', failover_reason: 'CONCURRENCY_LIMIT' });
      others.push(call);
    }
    const workers = new Set(await Promise.all(others.map(workerOf)));
    expect([...workers].some((worker) => worker !== holder), 'some refused calls ran on the other worker').to.equal(true);
    expect(pbxSeen.invites).to.have.length(1);
    for (const call of [first, ...others]) await call.bye();
  });

  it('restarts a killed worker and gives back the channels its calls held', async () => {
    const call = placeCall(h.carrier, h.proxy, DID);
    expect((await call.final()).status).to.equal(200);
    const holder = await workerOf(call);
    const index = Number(/w(\d+)$/.exec(holder)?.[1]);
    await waitUntil(async () => (await activeCalls()) === 1, 3000, 'activeCalls 1');
    const restartsBefore = h.sip.supervisor.health()[index].restarts;
    await h.sip.supervisor.kill(index);
    await waitUntil(() => {
      const worker = h.sip.supervisor.health()[index];
      return worker.state === 'ready' && worker.restarts === restartsBefore + 1;
    }, 10_000, 'the worker to be restarted');
    expect(h.sip.counter.entries().find((entry) => entry.trunkId === trunk.trunkId)?.active).to.equal(0);
    await waitUntil(async () => (await activeCalls()) === 0, 3000, 'activeCalls 0');
    const next = placeCall(h.carrier, h.proxy, DID);
    expect((await next.final()).status).to.equal(200);
    expect(await h.record(next.callId)).to.include({ outcome: 'DELIVERED' }, 'the channel is free again');
    await next.bye();
  });

  it('survives garbage, oversized and headless datagrams, and answers bad requests', async () => {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    const replies: string[] = [];
    socket.on('message', (message) => replies.push(message.toString('latin1')));
    const send = (text: string | Buffer) => new Promise<void>((resolve) => socket.send(typeof text === 'string' ? Buffer.from(text, 'latin1') : text, h.proxy.port, '127.0.0.1', () => resolve()));
    const request = (method: string, callId: string, extra = '') =>
      `${method} sip:+442079463001@127.0.0.1:${h.proxy.port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${socket.address().port};branch=z9hG4bK${callId}\r\n` +
      `From: <sip:a@carrier.test>;tag=1\r\nTo: <sip:+442079463001@127.0.0.1>\r\nCall-ID: ${callId}\r\nCSeq: 1 ${method}\r\nMax-Forwards: 70\r\n${extra}Content-Length: 0\r\n\r\n`;
    try {
      await send('garbage that is not SIP at all\r\n\r\n');
      await send(Buffer.alloc(65_000, 0x20));
      await send(`INVITE sip:x@127.0.0.1 SIP/2.0\r\nCall-ID: headless\r\n\r\n`);
      await send(`${' '.repeat(60_000)}INVITE sip:x@127.0.0.1 SIP/2.0\r\nCall-ID: spaces\r\n`);
      await send(request('FOO', 'unknown-method'));
      await send(request('OPTIONS', 'options-probe'));
      await send(request('BYE', 'no-such-dialog').replace('To: <sip:+442079463001@127.0.0.1>', 'To: <sip:+442079463001@127.0.0.1>;tag=x'));
      await waitUntil(() => replies.length >= 3, 3000, 'three answers');
      const statusOf = (callId: string) => /^SIP\/2\.0 (\d{3})/.exec(replies.find((reply) => reply.includes(`Call-ID: ${callId}`)) ?? '')?.[1];
      expect(statusOf('unknown-method')).to.equal('405');
      expect(statusOf('options-probe')).to.equal('200');
      expect(statusOf('no-such-dialog')).to.equal('481');
      expect(h.sip.supervisor.health().map((worker) => worker.state)).to.deep.equal(['ready', 'ready']);
      expect(h.sip.edge.stats().dropped['no-call-id']).to.be.greaterThan(0);
      const call = placeCall(h.carrier, h.proxy, DID);
      expect((await call.final()).status).to.equal(200);
      await call.bye();
    } finally {
      socket.close();
    }
  });

  it('scales down to one worker and keeps serving', async () => {
    await h.sip.supervisor.resize(1);
    expect(h.sip.supervisor.health().filter((worker) => worker.state === 'ready')).to.have.length(1);
    const call = placeCall(h.carrier, h.proxy, DID);
    expect((await call.final()).status).to.equal(200);
    await call.bye();
  });
});

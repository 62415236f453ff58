import dgram from 'node:dgram';
import { expect } from 'chai';
import type { CountersReport } from '../../../worker/calls/counters';
import { SipHarness } from '../../support/sip-harness';
import { actAsPbx, placeCall, SipPeer, waitUntil, type CarrierCall, type Remote } from '../../support/sip-peer';

const FLOOD = 20_000;
/** Datagrams sent per turn of the event loop: the edge reads about 32 a turn, this test's process is also the node. */
const BATCH = 16;
const TRUSTED_INTERVAL_MS = 20;
const T1_MS = 500;

/** INVITEs from a stranger, each with a fresh Call-ID, and every response counted by Call-ID. */
class Flooder {
  readonly answers = new Map<string, number>();
  readonly statuses = new Map<number, number>();
  private readonly socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 8 * 1024 * 1024 });

  async open(address: string): Promise<this> {
    this.socket.on('message', (msg) => {
      const text = msg.toString('latin1');
      const callId = /\r\nCall-ID: ([^\r]+)\r\n/.exec(text)?.[1] ?? '?';
      const status = Number(text.slice(8, 11));
      this.answers.set(callId, (this.answers.get(callId) ?? 0) + 1);
      this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
    });
    await new Promise<void>((resolve) => this.socket.bind(0, address, resolve));
    return this;
  }

  async flood(target: Remote, count: number): Promise<void> {
    const { address, port } = this.socket.address();
    for (let sent = 0; sent < count; ) {
      for (const end = Math.min(count, sent + BATCH); sent < end; sent++) {
        const callId = `flood-${sent}@${address}`;
        const invite =
          `INVITE sip:+442079465001@${target.address}:${target.port} SIP/2.0\r\nVia: SIP/2.0/UDP ${address}:${port};rport;branch=z9hG4bK-f${sent}\r\n` +
          `Max-Forwards: 70\r\nFrom: <sip:+15550100@stranger.test>;tag=s${sent}\r\nTo: <sip:+442079465001@${target.address}>\r\nCall-ID: ${callId}\r\n` +
          `CSeq: 1 INVITE\r\nContact: <sip:x@${address}:${port}>\r\nContent-Length: 0\r\n\r\n`;
        this.socket.send(invite, target.port, target.address);
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  close(): void {
    this.socket.close();
  }
}

describe('an untrusted flood beside trusted calls (real SIP on loopback)', function () {
  this.timeout(60_000);
  let h: SipHarness;
  let pbx: SipPeer;
  let pbxSeen: ReturnType<typeof actAsPbx>;
  const DID = '+442079465001';
  /** The latest counters each worker reported (every 10 s). */
  const reports = new Map<number, { at: number; report: CountersReport }>();

  before(async () => {
    h = await SipHarness.start({ workers: 2 });
    h.sip.supervisor.on('message', (index, message) => {
      const payload = message.type === 'event' ? (message.payload as { kind?: string } & CountersReport) : null;
      if (payload?.kind === 'counters') reports.set(index, { at: Date.now(), report: payload });
    });
    pbx = await SipPeer.start('pbx');
    pbxSeen = actAsPbx(pbx, () => ({ kind: 'answer' }));
    await h.trunk({ username: 'flood-pbx', number: DID, maxConcurrentCalls: 1000 });
    await h.registerPbx(pbx, 'flood-pbx');
    await waitUntil(() => h.sip.edge.stats().carrierCidrCount === 1, 3000, 'the carriers at the edge');
  });
  after(async () => {
    pbx.stop();
    await h.stop();
  });

  it('answers each stranger\'s INVITE at most once at the edge, never reaching a worker or pin a Call-ID, while every carrier call is delivered', async () => {
    const flooder = await new Flooder().open('127.0.0.3');
    try {
      const before = h.sip.edge.stats();
      const calls: CarrierCall[] = [];
      const trusted = setInterval(() => calls.push(placeCall(h.carrier, h.proxy, DID)), TRUSTED_INTERVAL_MS);
      const started = Date.now();
      await flooder.flood(h.proxy, FLOOD);
      const floodMs = Date.now() - started;
      // Trusted calls for at least a second, however fast the flood went.
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 1000 - floodMs)));
      clearInterval(trusted);
      const finals = await Promise.all(calls.map((call) => call.final(10_000)));
      expect(finals.map((response) => response.status)).to.deep.equal(calls.map(() => 200), 'every carrier call answered');
      await Promise.all(calls.map((call) => call.bye()));
      const floodEnded = Date.now();
      // A worker's INVITE server transaction would have retransmitted its 403 after T1 and 2*T1 (RFC 3261 section 17.2.1).
      await new Promise((resolve) => setTimeout(resolve, 3 * T1_MS + 200));

      const after = h.sip.edge.stats();
      const refused = after.refused['untrusted-source'] - before.refused['untrusted-source'];
      const unanswered = after.refusedUnanswered - before.refusedUnanswered;
      expect(refused, 'the kernel may drop what the edge cannot read in time, never more').to.be.within(FLOOD * 0.5, FLOOD);
      expect([...flooder.answers.values()].every((count) => count === 1), 'no INVITE answered twice').to.equal(true);
      expect(flooder.answers.size, 'one 403 per INVITE, unless the edge was flooded').to.equal(refused - unanswered);
      expect([...flooder.statuses.keys()]).to.deep.equal([403]);
      expect(pbxSeen.invites).to.have.length(calls.length);
      // The workers see the carrier's calls (INVITE, ACK, BYE and the PBX's answers), never the flood.
      expect(after.dispatched - before.dispatched).to.be.below(calls.length * 10);
      expect(after.pins - before.pins, 'no Call-ID of the flood bound').to.be.at.most(calls.length);
      // The workers' own counters agree: INVITEs from carriers only.
      await waitUntil(() => [0, 1].every((index) => (reports.get(index)?.at ?? 0) > floodEnded), 12_000, 'a counters report from each worker');
      const invites = [0, 1].reduce((sum, index) => sum + (reports.get(index)?.report.requests.INVITE ?? 0), 0);
      const untrusted = [0, 1].reduce((sum, index) => sum + (reports.get(index)?.report.drops['untrusted-source'] ?? 0), 0);
      expect(invites).to.equal(calls.length);
      expect(untrusted).to.equal(0);
      process.stdout.write(
        `      flood: ${FLOOD} sent in ${floodMs} ms, ${refused} read by the edge, ${flooder.answers.size} answered, ${unanswered} unanswered (flooded); ` +
          `${calls.length} carrier calls all delivered; pins ${before.pins} -> ${after.pins}\n`,
      );
    } finally {
      flooder.close();
    }
  });
});

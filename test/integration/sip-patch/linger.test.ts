import { EventEmitter } from 'node:events';
import { expect } from 'chai';
import * as sip from 'sip';
import { collected } from '../../support/collected';
import { rawRequest, request } from './harness';

/**
 * Finished transactions, on a fake clock (the patched `timers` option) and an in-memory socket. A transaction
 * that has its final response waits out a timer to absorb retransmissions (RFC 3261 17.1.1.2 Timer D,
 * 17.1.2.2 Timer K, 17.2.1 Timers G, H and I, 17.2.2 Timer J; RFC 6026 Timers L and M): patched, it keeps
 * only the text it repeats, its connection, a 2xx callback for an INVITE, and the timer, and lets the request
 * and response objects go (unpatched: about 5 KB per transaction, and the whole call's state through the
 * callbacks, for 32 s). Here: a retransmission gets the same bytes again, the objects are collectable while the
 * transaction lingers, and the timer ends it.
 */
const US = { address: '192.0.2.1', port: 5060 };
const PEER = { address: '192.0.2.9', port: 5070 };

/** What the stack sends, as text, and a way to hand it datagrams from PEER. */
class WireSocket extends EventEmitter {
  readonly sent: string[] = [];
  send(buffer: Buffer, offset: number, length: number): void {
    this.sent.push(buffer.toString('binary', offset, offset + length));
  }
  close(): void {}
  receive(text: string): void {
    this.emit('message', Buffer.from(text, 'binary'), PEER);
  }
}

/**
 * A clock for the stack's `timers` option that moves only when told. A cleared timer is forgotten (as Node's
 * are), so that what it would have called is no reference that keeps a transaction's objects alive.
 */
class FakeTimers implements sip.Timers {
  private time = 0;
  private next = 0;
  private readonly due = new Map<number, { at: number; run: () => void }>();

  setTimeout(callback: (arg: unknown) => void, ms: number, arg?: unknown): unknown {
    const id = ++this.next;
    this.due.set(id, { at: this.time + ms, run: () => callback(arg) });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.due.delete(handle as number);
  }

  /** Moves time forward, running due timers in order. */
  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      const [id, timer] = [...this.due].filter(([, t]) => t.at <= until).sort(([, a], [, b]) => a.at - b.at)[0] ?? [];
      if (id === undefined || timer === undefined) break;
      this.due.delete(id);
      this.time = timer.at;
      timer.run();
    }
    this.time = until;
  }

  pending(): number {
    return this.due.size;
  }
}

/** The response `status` to a request the stack sent, as the peer writes it. */
function answer(sent: string, status: number, reason: string): string {
  const response = sip.makeResponse(sip.parse(sent) as sip.SipRequest, status, reason);
  response.headers.to.params.tag = 'peer';
  return sip.stringify(response);
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('sip patch: finished transactions keep only what absorbs retransmissions', () => {
  let clock: FakeTimers;
  let socket: WireSocket;
  let stack: sip.SipStack;
  let requests: number;
  const refs: WeakRef<object>[] = [];

  /** A stack whose request callback answers with `status` (nothing for ACK), keeping weak references only. */
  function start(status: number): void {
    stack = sip.create({ ...US, tcp: false, udpSocket: socket, timers: clock }, (rq) => {
      requests++;
      if (rq.method === 'ACK') return;
      const rs = sip.makeResponse(rq, status, 'Reason');
      rs.headers.to.params.tag = 'us';
      refs.push(new WeakRef(rq), new WeakRef(rs));
      stack.send(rs);
    });
  }

  beforeEach(() => {
    clock = new FakeTimers();
    socket = new WireSocket();
    requests = 0;
    refs.length = 0;
  });
  afterEach(() => stack.destroy());

  it('non-INVITE server, Completed: the same 200 again for a retransmission, until Timer J (64*T1)', async () => {
    start(200);
    const options = rawRequest('OPTIONS', `sip:b@${US.address}`, PEER.port, 'z9hG4bKlingerJ');

    socket.receive(options);
    expect(socket.sent).to.have.length(1);
    for (const ref of refs) expect(await collected(ref), 'request and response let go').to.equal(true);

    socket.receive(options);
    clock.advance(31_999);
    socket.receive(options);
    expect(socket.sent).to.deep.equal([socket.sent[0], socket.sent[0], socket.sent[0]]);
    expect(requests).to.equal(1);

    clock.advance(1);
    expect(clock.pending()).to.equal(0);
    socket.receive(options);
    expect(requests, 'a new transaction after Timer J').to.equal(2);
  });

  it('INVITE server, Completed then Confirmed: Timer G repeats the 486 until the ACK, Timer I absorbs the rest', async () => {
    start(486);
    const invite = rawRequest('INVITE', `sip:b@${US.address}`, PEER.port, 'z9hG4bKlingerH');
    const ack = invite.replace(/^INVITE /, 'ACK ').replace('CSeq: 1 INVITE', 'CSeq: 1 ACK');

    socket.receive(invite);
    const busy = socket.sent[0];
    expect(busy).to.match(/^SIP\/2.0 486 /);
    for (const ref of refs) expect(await collected(ref)).to.equal(true);

    socket.receive(invite);
    clock.advance(500);
    clock.advance(1000);
    expect(socket.sent).to.deep.equal([busy, busy, busy, busy]);

    socket.receive(ack);
    clock.advance(4000);
    socket.receive(invite);
    expect(socket.sent, 'nothing after the ACK').to.have.length(4);
    expect(requests, 'the ACK is the transaction\'s').to.equal(1);
    clock.advance(1000);
    expect(clock.pending(), 'Timer I (T4) ended it').to.equal(0);
  });

  it('INVITE server, Accepted: absorbs the retransmitted INVITE, sends further 2xx only, until Timer L', async () => {
    start(200);
    const invite = rawRequest('INVITE', `sip:b@${US.address}`, PEER.port, 'z9hG4bKlingerL');

    socket.receive(invite);
    for (const ref of refs) expect(await collected(ref)).to.equal(true);
    socket.receive(invite);
    expect(socket.sent).to.have.length(1);

    const again = sip.parse(socket.sent[0]) as sip.SipResponse;
    expect(stack.send(again)).to.equal(true);
    expect(stack.send({ ...again, status: 500, reason: 'Too late' })).to.equal(true);
    expect(socket.sent.map((text) => text.slice(0, 12))).to.deep.equal(['SIP/2.0 200 ', 'SIP/2.0 200 ']);
    clock.advance(32_000);
    expect(clock.pending()).to.equal(0);
  });

  describe('client', () => {
    beforeEach(() => start(200));

    /** Sends `method` to PEER with a request that only the stack refers to; responses go to `responses`. */
    async function send(method: string, responses: number[]): Promise<WeakRef<object>> {
      const rq = request(method, `sip:b@${PEER.address}:${PEER.port}`);
      stack.send(rq, (rs) => responses.push(rs.status), PEER);
      await tick(); // the request goes out on the next tick
      return new WeakRef(rq);
    }

    it('non-INVITE, Completed: absorbs retransmitted responses until Timer K (T4)', async () => {
      const responses: number[] = [];
      const ref = await send('OPTIONS', responses);
      const ok = answer(socket.sent[0], 200, 'OK');

      socket.receive(ok);
      socket.receive(ok);
      expect(responses).to.deep.equal([200]);
      expect(await collected(ref), 'request let go').to.equal(true);
      expect(clock.pending(), 'Timer K only').to.equal(1);
      clock.advance(5000);
      expect(clock.pending()).to.equal(0);
      expect(socket.sent).to.have.length(1);
    });

    it('INVITE, Completed: the same ACK again for a retransmitted non-2xx, until Timer D', async () => {
      const responses: number[] = [];
      const ref = await send('INVITE', responses);
      const busy = answer(socket.sent[0], 486, 'Busy Here');

      socket.receive(busy);
      const ackText = socket.sent[1];
      expect(ackText).to.match(/^ACK /);
      socket.receive(busy);
      expect(socket.sent).to.deep.equal([socket.sent[0], ackText, ackText]);
      expect(responses).to.deep.equal([486]);
      expect(await collected(ref)).to.equal(true);
      clock.advance(32_000);
      expect(clock.pending()).to.equal(0);
    });

    it('INVITE, Accepted: each retransmitted 2xx reaches the callback (RFC 6026 7.2) until Timer M', async () => {
      const responses: number[] = [];
      const ref = await send('INVITE', responses);
      const ok = answer(socket.sent[0], 200, 'OK');

      socket.receive(ok);
      socket.receive(ok);
      expect(responses).to.deep.equal([200, 200]);
      expect(await collected(ref)).to.equal(true);
      clock.advance(32_000);
      expect(clock.pending()).to.equal(0);
      socket.receive(ok);
      expect(responses).to.have.length(2);
    });
  });
});

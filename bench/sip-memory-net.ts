import { EventEmitter } from 'node:events';
import type * as Sip from 'sip';

/**
 * An in-memory datagram network for `sip.create()` stacks (their `udpSocket` option), so a benchmark measures
 * the stacks and not the kernel: each send copies the bytes (as the worker's message channel does) and they
 * arrive on the next turn of the event loop, in order.
 */
export class MemoryNetwork {
  private readonly sockets = new Map<string, MemorySocket>();
  private queue: { to: MemorySocket; bytes: Buffer; from: { address: string; port: number } }[] = [];
  private scheduled = false;
  datagrams = 0;

  socket(address: string, port: number): MemorySocket {
    const socket = new MemorySocket(this, address, port);
    this.sockets.set(`${address}:${port}`, socket);
    return socket;
  }

  deliver(from: MemorySocket, bytes: Buffer, port: number, address: string): void {
    const to = this.sockets.get(`${address}:${port}`);
    if (to === undefined) return;
    this.datagrams++;
    this.queue.push({ to, bytes, from: { address: from.address, port: from.port } });
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  private drain(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    for (const { to, bytes, from } of batch) to.emit('message', bytes, from);
  }
}

export class MemorySocket extends EventEmitter {
  constructor(
    private readonly network: MemoryNetwork,
    readonly address: string,
    readonly port: number,
  ) {
    super();
  }

  send(buffer: Buffer, offset: number, length: number, port: number, address: string): void {
    this.network.deliver(this, Buffer.from(buffer.subarray(offset, offset + length)), port, address);
  }

  close(): void {
    this.removeAllListeners();
  }
}

type SipModule = typeof Sip;

const CARRIER = { address: '10.0.0.1', port: 5060 };
const PROXY = { address: '10.0.0.2', port: 5060 };
const PBX = { address: '10.0.0.3', port: 5060 };

const SDP = 'v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\n';

/**
 * Three stacks on one in-memory network: a carrier, a record-routing stateful proxy and a PBX. One call is
 * INVITE / 100 / 180 / 200 / ACK / BYE / 200, 13 datagrams; it leaves 8 transactions lingering (carrier: INVITE
 * and BYE client; proxy: INVITE and BYE server and client; PBX: INVITE and BYE server).
 */
export class ProxiedCalls {
  readonly network = new MemoryNetwork();
  private readonly carrier: Sip.SipStack;
  private readonly proxy: Sip.SipStack;
  private readonly pbx: Sip.SipStack;
  private calls = 0;

  constructor(private readonly sip: SipModule) {
    const create = (at: { address: string; port: number }, onRequest: (rq: Sip.SipRequest) => void): Sip.SipStack =>
      sip.create({ address: at.address, publicAddress: at.address, port: at.port, tcp: false, udpSocket: this.network.socket(at.address, at.port) }, onRequest);
    this.carrier = create(CARRIER, () => undefined);
    this.proxy = create(PROXY, (rq) => this.proxyRequest(rq));
    this.pbx = create(PBX, (rq) => this.pbxRequest(rq));
  }

  /** Runs `count` calls, at most `concurrency` at once; resolves when every BYE has its 200. */
  run(count: number, concurrency: number): Promise<void> {
    return new Promise((resolve) => {
      let started = 0;
      let ended = 0;
      const next = (): void => {
        if (started === count) {
          if (ended === count) resolve();
          return;
        }
        started++;
        this.call(() => {
          ended++;
          next();
        });
      };
      for (let k = 0; k < Math.min(concurrency, count); k++) next();
    });
  }

  destroy(): void {
    for (const stack of [this.carrier, this.proxy, this.pbx]) stack.destroy();
  }

  private call(done: () => void): void {
    const n = ++this.calls;
    const invite: Sip.SipRequest = {
      method: 'INVITE',
      uri: `sip:+4930${n}@${PROXY.address}`,
      headers: {
        via: [],
        to: { uri: `sip:+4930${n}@${PROXY.address}`, params: {} },
        from: { name: '"Caller"', uri: 'sip:+4917612345678@carrier.example.com', params: { tag: `c${n}` } },
        'call-id': `call-${n}@carrier.example.com`,
        cseq: { seq: 1, method: 'INVITE' },
        contact: [{ uri: `sip:carrier@${CARRIER.address}`, params: {} }],
        'max-forwards': 70,
        'content-type': 'application/sdp',
      },
      content: SDP,
    };
    this.carrier.send(invite, (rs) => {
      if (rs.status !== 200) return;
      const contact = rs.headers.contact;
      const inDialog = (method: string, seq: number): Sip.SipRequest => ({
        method,
        uri: Array.isArray(contact) && contact.length > 0 ? contact[0].uri : invite.uri,
        headers: {
          via: [],
          to: rs.headers.to,
          from: invite.headers.from,
          'call-id': invite.headers['call-id'],
          cseq: { seq, method: method === 'ACK' ? 'INVITE' : method },
          route: (rs.headers['record-route'] ?? []).slice().reverse(),
          'max-forwards': 70,
        },
      });
      const ack = inDialog('ACK', 1);
      ack.headers.cseq = { seq: 1, method: 'ACK' };
      this.carrier.send(ack, undefined, PROXY);
      this.carrier.send(inDialog('BYE', 2), (bye) => bye.status >= 200 && done(), PROXY);
    }, PROXY);
  }

  private proxyRequest(rq: Sip.SipRequest): void {
    if (rq.method === 'INVITE') this.proxy.send(this.sip.makeResponse(rq, 100, 'Trying'));
    const forward = this.sip.copyMessage(rq);
    forward.headers['max-forwards'] = Number(rq.headers['max-forwards'] ?? 70) - 1;
    const route = forward.headers.route;
    if (Array.isArray(route) && route.length > 0) forward.headers.route = route.slice(1);
    if (rq.method === 'INVITE') forward.headers['record-route'] = [{ uri: `sip:${PROXY.address};lr`, params: {} }];
    if (rq.method === 'ACK') {
      this.proxy.send(forward, undefined, PBX);
      return;
    }
    this.proxy.send(
      forward,
      (rs) => {
        if (rs.status === 100) return;
        rs.headers.via.shift();
        this.proxy.send(rs);
      },
      PBX,
    );
  }

  private pbxRequest(rq: Sip.SipRequest): void {
    if (rq.method === 'ACK') return;
    const tag = { ...rq.headers.to, params: { ...rq.headers.to.params, tag: 'pbx' } };
    if (rq.method === 'INVITE') {
      const ringing = this.sip.makeResponse(rq, 180, 'Ringing');
      ringing.headers.to = tag;
      this.pbx.send(ringing);
      const ok = this.sip.makeResponse(rq, 200, 'OK', { headers: { contact: [{ uri: `sip:pbx@${PBX.address}`, params: {} }], 'content-type': 'application/sdp' }, content: SDP });
      ok.headers.to = tag;
      ok.headers['record-route'] = rq.headers['record-route'];
      this.pbx.send(ok);
      return;
    }
    const ok = this.sip.makeResponse(rq, 200, 'OK');
    ok.headers.to = tag;
    this.pbx.send(ok);
  }
}

/** Final status the answering stack gives, by the kind of transaction pair. */
const PAIRS = { 'OPTIONS 200 (K, J)': ['OPTIONS', 200], 'INVITE 486 (D, H then I)': ['INVITE', 486], 'INVITE 200 (M, L)': ['INVITE', 200] } as const;
export type PairKind = keyof typeof PAIRS;
export const PAIR_KINDS = Object.keys(PAIRS) as PairKind[];

/**
 * Two stacks on one in-memory network: one sends requests of a kind, the other answers each with one final
 * response, so every request leaves one client and one server transaction lingering.
 */
export class TransactionPairs {
  readonly network = new MemoryNetwork();
  private readonly client: Sip.SipStack;
  private readonly server: Sip.SipStack;
  private sent = 0;

  constructor(
    sip: SipModule,
    private readonly kind: PairKind,
  ) {
    const [, status] = PAIRS[kind];
    const create = (at: { address: string; port: number }, onRequest: (rq: Sip.SipRequest) => void): Sip.SipStack =>
      sip.create({ address: at.address, publicAddress: at.address, port: at.port, tcp: false, udpSocket: this.network.socket(at.address, at.port) }, onRequest);
    this.client = create(CARRIER, () => undefined);
    this.server = create(PBX, (rq) => {
      if (rq.method === 'ACK') return;
      const response = sip.makeResponse(rq, status, 'Final');
      response.headers.to = { ...rq.headers.to, params: { ...rq.headers.to.params, tag: 'uas' } };
      this.server.send(response);
    });
  }

  /** Runs `count` requests to their final responses, 100 at once. */
  async run(count: number): Promise<void> {
    const [method] = PAIRS[this.kind];
    for (let done = 0; done < count; done += 100) {
      await Promise.all(
        Array.from({ length: Math.min(100, count - done) }, () => {
          const n = ++this.sent;
          return new Promise<void>((resolve) => {
            this.client.send(
              {
                method,
                uri: `sip:pbx@${PBX.address}`,
                headers: {
                  via: [],
                  to: { uri: `sip:pbx@${PBX.address}`, params: {} },
                  from: { uri: `sip:carrier@${CARRIER.address}`, params: { tag: `t${n}` } },
                  'call-id': `pair-${n}@${CARRIER.address}`,
                  cseq: { seq: 1, method },
                  'max-forwards': 70,
                },
              },
              (rs) => rs.status >= 200 && resolve(),
              PBX,
            );
          });
        }),
      );
    }
  }

  destroy(): void {
    this.client.destroy();
    this.server.destroy();
  }
}

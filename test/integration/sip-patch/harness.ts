import dgram from 'node:dgram';
import * as sip from 'sip';

/**
 * Shared pieces of the tests of `patches/sip+0.0.6.patch`: real stacks and raw UDP peers on 127.0.0.1, a
 * resource check against leaked sockets and timers, and a time scale for the RFC 3261 timers the stack
 * hard-codes (T1, T2, 64*T1).
 */
export const HOST = '127.0.0.1';

/**
 * The name stacks advertise in Via by default. Not 127.0.0.1: the unpatched stack took any next hop on its own
 * host for itself (whatever the port), which would hide every other defect behind a local 404.
 */
export const PUBLIC_NAME = 'stack.invalid';

/** Captured before any test scales time: the tests' own waits always run on real time. */
const realSetTimeout = globalThis.setTimeout;

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => realSetTimeout(resolve, ms));
}

/** Polls `probe` until it gives a value, or fails after `timeoutMs` (real time). */
export async function waitFor<T>(probe: () => T | undefined | null | false, what: string, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(5);
  }
}

/** A port that was free a moment ago (`sip.create` treats port 0 as 5060, so it cannot pick one itself). */
export function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, HOST, () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

/**
 * Runs `body` with every timer the `sip` stack starts shortened by `factor` (1/20: Timer F's 32 s take 1.6 s).
 * The stack reads the global `setTimeout` each time it arms a timer, so this scales its clock and nothing
 * else: mocha keeps its own references, and the helpers here use the real one.
 */
export async function withTimeScale<T>(factor: number, body: () => Promise<T>): Promise<T> {
  const scaled = (callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) =>
    realSetTimeout(callback, Math.round((ms ?? 0) * factor), ...args);
  globalThis.setTimeout = scaled as unknown as typeof setTimeout;
  try {
    return await body();
  } finally {
    globalThis.setTimeout = realSetTimeout;
  }
}

interface Counts {
  timers: number;
  sockets: number;
}

function activeCounts(): Counts {
  const info = process.getActiveResourcesInfo();
  return {
    timers: info.filter((kind) => kind === 'Timeout').length,
    sockets: info.filter((kind) => kind === 'UDPWRAP' || kind === 'TCPServerWrap' || kind === 'TCPWRAP').length,
  };
}

/**
 * Creates stacks and raw peers for one test and checks, after it, that destroying them left no socket and no
 * timer behind. Use `fixture = await Fixture.create()` in `beforeEach` and `await fixture.close()` in
 * `afterEach`: both hooks return promises, so mocha runs one timeout timer in each, and the counts compare.
 */
export class Fixture {
  private readonly baseline = activeCounts();
  private readonly stacks: sip.SipStack[] = [];
  private readonly peers: RawPeer[] = [];

  private constructor() {}

  static async create(): Promise<Fixture> {
    await delay(0); // mocha starts the hook's timeout timer once the hook has returned its promise
    return new Fixture();
  }

  /** A stack on 127.0.0.1 at a free port, advertising `PUBLIC_NAME`, TCP off unless `options` says otherwise. */
  async stack(
    onRequest: (request: sip.SipRequest, remote: sip.Remote) => void = () => undefined,
    options: sip.CreateOptions = {},
  ): Promise<{ stack: sip.SipStack; port: number }> {
    const port = options.port ?? (await freeUdpPort());
    const stack = sip.create({ address: HOST, publicAddress: PUBLIC_NAME, port, tcp: false, ...options }, onRequest);
    this.stacks.push(stack);
    await delay(10); // the bind is asynchronous
    return { stack, port };
  }

  /** A stack that answers every request but ACK with `status`. */
  async answering(status: number, reason: string): Promise<{ stack: sip.SipStack; port: number }> {
    const holder: { stack?: sip.SipStack } = {};
    const created = await this.stack((request) => {
      if (request.method !== 'ACK') holder.stack?.send(sip.makeResponse(request, status, reason));
    });
    holder.stack = created.stack;
    return created;
  }

  async peer(): Promise<RawPeer> {
    const peer = await RawPeer.open();
    this.peers.push(peer);
    return peer;
  }

  async close(): Promise<void> {
    for (const stack of this.stacks.splice(0)) stack.destroy();
    await Promise.all(this.peers.splice(0).map((peer) => peer.close()));
    const deadline = Date.now() + 500;
    let now = activeCounts();
    while ((now.sockets > this.baseline.sockets || now.timers > this.baseline.timers) && Date.now() < deadline) {
      await delay(10);
      now = activeCounts();
    }
    if (now.sockets > this.baseline.sockets) throw new Error(`leaked ${now.sockets - this.baseline.sockets} socket(s)`);
    if (now.timers > this.baseline.timers) throw new Error(`leaked ${now.timers - this.baseline.timers} timer(s)`);
  }
}

export interface Received {
  message: sip.SipMessage;
  text: string;
  from: { address: string; port: number };
  at: number;
}

/** A bare UDP socket speaking SIP text: it sees exactly what a stack puts on the wire. */
export class RawPeer {
  readonly received: Received[] = [];
  private onReceive: ((received: Received) => void) | undefined;

  private constructor(
    private readonly socket: dgram.Socket,
    readonly port: number,
  ) {
    socket.on('message', (data, rinfo) => {
      const text = data.toString('binary');
      const message = sip.parse(data);
      if (message === undefined) return;
      const received = { message, text, from: { address: rinfo.address, port: rinfo.port }, at: Date.now() };
      this.received.push(received);
      this.onReceive?.(received);
    });
  }

  static open(): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket('udp4');
      socket.once('error', reject);
      socket.bind(0, HOST, () => resolve(new RawPeer(socket, socket.address().port)));
    });
  }

  /** Called for each message as it arrives (after it is recorded), e.g. to answer it. */
  onMessage(handler: (received: Received) => void): void {
    this.onReceive = handler;
  }

  requests(method: string): Received[] {
    return this.received.filter((r) => 'method' in r.message && r.message.method === method);
  }

  responses(status?: number): Received[] {
    return this.received.filter((r) => 'status' in r.message && (status === undefined || r.message.status === status));
  }

  send(message: sip.SipMessage | string, port: number): void {
    const text = typeof message === 'string' ? message : sip.stringify(message);
    this.socket.send(Buffer.from(text, 'binary'), port, HOST);
  }

  /** Answers a received request with `status`, To tag added for a final response. */
  reply(request: sip.SipRequest, status: number, reason: string, to: number, extension?: { headers?: Partial<sip.SipHeaders> }): sip.SipResponse {
    const response = sip.makeResponse(request, status, reason, extension);
    if (status > 100 && response.headers.to.params.tag == null) response.headers.to.params.tag = 'uas-tag';
    this.send(response, to);
    return response;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

let calls = 0;

/** A request to `uri` as a UA hands it to the stack: an empty Via list (the stack adds its own), a fresh Call-ID. */
export function request(method: string, uri: string, extra: Partial<sip.SipHeaders> = {}): sip.SipRequest {
  calls += 1;
  return {
    method,
    uri,
    headers: {
      via: [],
      to: { uri, params: {} },
      from: { uri: 'sip:caller@example.test', params: { tag: `from-${calls}` } },
      'call-id': `sip-patch-${process.pid}-${calls}-${Date.now()}`,
      cseq: { seq: 1, method },
      'max-forwards': 70,
      ...extra,
    },
  };
}

/** The request as text, from a raw peer at `viaPort` (it carries its own Via). */
export function rawRequest(method: string, uri: string, viaPort: number, branch: string, extraHeaders = ''): string {
  calls += 1;
  return [
    `${method} ${uri} SIP/2.0`,
    `Via: SIP/2.0/UDP ${HOST}:${viaPort};branch=${branch}`,
    `To: <${uri}>`,
    `From: <sip:raw@${HOST}>;tag=raw-${calls}`,
    `Call-ID: raw-${process.pid}-${calls}-${Date.now()}`,
    `CSeq: 1 ${method}`,
    'Max-Forwards: 70',
    ...(extraHeaders === '' ? [] : [extraHeaders]),
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

export function isRequest(message: sip.SipMessage): message is sip.SipRequest {
  return 'method' in message;
}

/** Intervals between consecutive arrival times, in ms. */
export function intervals(received: readonly Received[]): number[] {
  return received.slice(1).map((r, i) => r.at - received[i].at);
}

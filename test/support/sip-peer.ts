import { createHash, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import * as sip from 'sip';
import type { SipRequest, SipResponse } from '../../worker/sip/message';

/**
 * Real `sip` stacks on 127.0.0.1 playing carrier and PBX in component tests. Digest answers are
 * computed here with node:crypto, independently of the product's digest code.
 */
export interface Remote {
  address: string;
  port: number;
}

export function freeUdpPort(address = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, address, () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

/** Polls `probe` (sync or async) until it gives a value, or fails after `timeoutMs`. */
export async function waitUntil<T>(probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 3000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A URI as text, whether the parser left it a string or took it apart (Route, Record-Route). */
export function uriText(uri: unknown): string {
  return typeof uri === 'string' ? uri : sip.stringifyUri(uri as never);
}

/** A UDP socket that only counts what it receives: a PBX that never answers, not even retransmissions. */
export async function silentSink(): Promise<{ port: number; received: () => number; close: () => void }> {
  const socket = dgram.createSocket('udp4');
  let count = 0;
  socket.on('message', () => count++);
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  return { port: socket.address().port, received: () => count, close: () => socket.close() };
}

const tag = () => randomBytes(4).toString('hex');
const branch = () => `z9hG4bK${randomBytes(8).toString('hex')}`;

type Handler = (request: SipRequest, remote: Remote) => void;

export class SipPeer {
  readonly requests: { request: SipRequest; remote: Remote }[] = [];
  handler: Handler | null = null;

  private constructor(
    readonly name: string,
    readonly address: string,
    readonly port: number,
    private readonly stack: ReturnType<typeof sip.create>,
    private readonly setHandler: (handler: Handler) => void,
  ) {}

  static async start(name: string, address = '127.0.0.1'): Promise<SipPeer> {
    const port = await freeUdpPort(address);
    let onRequest: Handler = () => undefined;
    const stack = sip.create({ port, address, publicAddress: address, tcp: false, logger: {} }, (request, remote) =>
      onRequest(request as unknown as SipRequest, { address: remote.address, port: remote.port }),
    );
    const peer = new SipPeer(name, address, port, stack, (handler) => (onRequest = handler));
    peer.setHandler((request, remote) => {
      peer.requests.push({ request, remote });
      peer.handler?.(request, remote);
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    return peer;
  }

  get uri(): string {
    return `sip:${this.name}@${this.address}:${this.port}`;
  }

  send(request: SipRequest, onResponse?: (response: SipResponse) => void): { cancel(): void; abandon(): void } {
    return this.stack.send(request as never, onResponse === undefined ? undefined : (response) => onResponse(response as unknown as SipResponse)) as never;
  }

  reply(request: SipRequest, status: number, reason = '', extension: { headers?: Record<string, unknown>; content?: string } = {}): SipResponse {
    const response = sip.makeResponse(request as never, status, reason, extension as never) as unknown as SipResponse;
    this.stack.send(response as never);
    return response;
  }

  respond(response: SipResponse): void {
    this.stack.send(response as never);
  }

  received(method: string): SipRequest[] {
    return this.requests.filter((entry) => entry.request.method === method).map((entry) => entry.request);
  }

  stop(): void {
    this.stack.destroy();
  }
}

/** A call placed by a carrier peer, with every response it got. */
export class CarrierCall {
  readonly responses: SipResponse[] = [];
  private handle: { cancel(): void; abandon(): void } | null = null;

  constructor(
    readonly peer: SipPeer,
    readonly invite: SipRequest,
  ) {}

  start(): this {
    this.handle = this.peer.send(this.invite, (response) => {
      this.responses.push(response);
      if (response.status >= 200 && response.status < 300) this.ack(response);
    });
    return this;
  }

  get callId(): string {
    return this.invite.headers['call-id'];
  }

  statuses(): number[] {
    return this.responses.map((response) => response.status);
  }

  async final(timeoutMs = 5000): Promise<SipResponse> {
    return waitUntil(() => this.responses.find((response) => response.status >= 200), timeoutMs, `a final response to ${this.callId}`);
  }

  async status(status: number, timeoutMs = 5000): Promise<SipResponse> {
    return waitUntil(() => this.responses.find((response) => response.status === status), timeoutMs, `${status} on ${this.callId}`);
  }

  cancel(): void {
    this.handle?.cancel();
  }

  private ack(response: SipResponse): void {
    const contact = Array.isArray(response.headers.contact) ? response.headers.contact[0].uri : this.invite.uri;
    const route = (response.headers['record-route'] ?? []).slice().reverse();
    this.peer.send({
      method: 'ACK',
      uri: contact,
      headers: {
        to: response.headers.to,
        from: this.invite.headers.from,
        'call-id': this.callId,
        cseq: { seq: this.invite.headers.cseq.seq, method: 'ACK' },
        via: [],
        route: route.length > 0 ? route : undefined,
      },
    });
  }

  /** Hangs up an answered call; resolves with the BYE's response. */
  bye(): Promise<SipResponse> {
    const answer = this.responses.find((response) => response.status >= 200 && response.status < 300);
    if (answer === undefined) throw new Error('not answered');
    const contact = Array.isArray(answer.headers.contact) ? answer.headers.contact[0].uri : this.invite.uri;
    const route = (answer.headers['record-route'] ?? []).slice().reverse();
    return new Promise((resolve) => {
      this.peer.send(
        {
          method: 'BYE',
          uri: contact,
          headers: {
            to: answer.headers.to,
            from: this.invite.headers.from,
            'call-id': this.callId,
            cseq: { seq: this.invite.headers.cseq.seq + 1, method: 'BYE' },
            via: [],
            route: route.length > 0 ? route : undefined,
          },
        },
        (response) => {
          if (response.status >= 200) resolve(response);
        },
      );
    });
  }
}

/** A carrier INVITE to `did` through the proxy at `proxy`, from `caller` (the From user part, default +4930901820), with extra `headers`. */
export function placeCall(carrier: SipPeer, proxy: Remote, did: string, options: { callId?: string; maxForwards?: number; caller?: string; headers?: Record<string, unknown> } = {}): CarrierCall {
  const invite: SipRequest = {
    method: 'INVITE',
    uri: `sip:${did}@${proxy.address}:${proxy.port}`,
    headers: {
      to: { uri: `sip:${did}@${proxy.address}`, params: {} },
      from: { uri: `sip:${options.caller ?? '+4930901820'}@carrier.test`, params: { tag: tag() } },
      'call-id': options.callId ?? `${randomBytes(8).toString('hex')}@carrier.test`,
      cseq: { seq: 1, method: 'INVITE' },
      contact: [{ uri: carrier.uri, params: {} }],
      via: [],
      'max-forwards': options.maxForwards ?? 70,
      'content-type': 'application/sdp',
      ...options.headers,
    },
    content: 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n',
  };
  return new CarrierCall(carrier, invite).start();
}

export type PbxMode =
  /** 180, then 200 (after `afterMs`), with `headers` added to the 200 (Session-Expires ...). */
  | { readonly kind: 'answer'; readonly afterMs?: number; readonly headers?: Record<string, unknown> }
  | { readonly kind: 'reject'; readonly status: number }
  | { readonly kind: 'silent' }
  | { readonly kind: 'ring' }
  /** 183 with a Contact (an early dialog, as with reliable provisional responses), then nothing. */
  | { readonly kind: 'early' }
  | { readonly kind: 'trying-only' };

/** Makes a peer behave as a PBX (or a forward target) towards the INVITEs it receives. */
export function actAsPbx(peer: SipPeer, mode: () => PbxMode): { invites: SipRequest[]; byes: SipRequest[]; acks: SipRequest[]; cancels: SipRequest[] } {
  const seen = { invites: [] as SipRequest[], byes: [] as SipRequest[], acks: [] as SipRequest[], cancels: [] as SipRequest[] };
  const pending = new Map<string, SipRequest>();
  const toTag = tag();
  peer.handler = (request) => {
    switch (request.method) {
      case 'INVITE': {
        seen.invites.push(request);
        const current = mode();
        const withTag = (status: number, reason: string, extra: Record<string, unknown> = {}) => {
          const response = sip.makeResponse(request as never, status, reason) as unknown as SipResponse;
          response.headers.to = { ...response.headers.to, params: { ...response.headers.to.params, tag: toTag } };
          // A UAS copies Record-Route into its dialog-creating responses (RFC 3261 section 12.1.1).
          if (status > 100 && status < 300 && request.headers['record-route'] !== undefined) response.headers['record-route'] = request.headers['record-route'];
          Object.assign(response.headers, extra);
          peer.respond(response);
        };
        if (current.kind === 'silent') return;
        peer.reply(request, 100, 'Trying');
        if (current.kind === 'trying-only') return;
        if (current.kind === 'reject') {
          withTag(current.status, 'Rejected');
          return;
        }
        if (current.kind === 'early') {
          withTag(183, 'Session Progress', { contact: [{ uri: peer.uri, params: {} }], require: '100rel', rseq: '1' });
          pending.set(request.headers['call-id'], request);
          return;
        }
        withTag(180, 'Ringing');
        if (current.kind === 'ring') {
          pending.set(request.headers['call-id'], request);
          return;
        }
        setTimeout(() => withTag(200, 'OK', { contact: [{ uri: peer.uri, params: {} }], 'content-type': 'application/sdp', ...current.headers }), current.afterMs ?? 0);
        return;
      }
      case 'CANCEL': {
        seen.cancels.push(request);
        peer.reply(request, 200, 'OK');
        const invite = pending.get(request.headers['call-id']);
        if (invite !== undefined) {
          const response = sip.makeResponse(invite as never, 487, 'Request Terminated') as unknown as SipResponse;
          response.headers.to = { ...response.headers.to, params: { ...response.headers.to.params, tag: toTag } };
          peer.respond(response);
        }
        return;
      }
      case 'BYE':
        seen.byes.push(request);
        peer.reply(request, 200, 'OK');
        return;
      case 'ACK':
        seen.acks.push(request);
        return;
      default:
        peer.reply(request, 200, 'OK');
    }
  };
  return seen;
}

export interface RegisterOptions {
  readonly proxy: Remote;
  readonly username: string;
  readonly password: string;
  readonly realm: string;
  readonly expires?: number;
  /** Which offered algorithm to answer: the first offered (as PBXs do) by default. */
  readonly algorithm?: 'MD5' | 'SHA-256';
  readonly contact?: string;
  /** The address-of-record user in To/From, when it should differ from the digest username. */
  readonly aorUser?: string;
}

function digest(algorithm: string, text: string): string {
  return createHash(algorithm === 'SHA-256' ? 'sha256' : 'md5').update(text).digest('hex');
}

/** The Request-URI our REGISTERs carry: the registrar itself. */
export function registrarUri(options: RegisterOptions): string {
  return `sip:${options.proxy.address}:${options.proxy.port}`;
}

function registerRequest(options: RegisterOptions, callId: string, fromTag: string, seq: number, authorization?: Record<string, string>): SipRequest {
  return {
    method: 'REGISTER',
    uri: registrarUri(options),
    headers: {
      to: { uri: `sip:${options.aorUser ?? options.username}@${options.realm}`, params: {} },
      from: { uri: `sip:${options.aorUser ?? options.username}@${options.realm}`, params: { tag: fromTag } },
      'call-id': callId,
      cseq: { seq, method: 'REGISTER' },
      contact: [{ uri: options.contact ?? `sip:${options.username}@10.0.0.5:5060`, params: {} }],
      expires: String(options.expires ?? 300),
      via: [],
      'user-agent': 'TestPBX/1.0',
      ...(authorization === undefined ? {} : { authorization: [authorization] }),
    },
  };
}

function sendRequest(peer: SipPeer, request: SipRequest): Promise<SipResponse> {
  return new Promise<SipResponse>((resolve) => {
    peer.send(request, (response) => {
      if (response.status >= 200) resolve(response);
    });
  });
}

/**
 * A Digest `Authorization` for `options` answering `nonce` (quoted or not) with qop=auth, computed
 * here with node:crypto. Any nonce will do: tests use it to answer with nonces the registrar did not
 * issue to the sender.
 */
export function digestAuthorization(options: RegisterOptions, nonce: string, algorithm: string = options.algorithm ?? 'MD5', realm = `"${options.realm}"`): Record<string, string> {
  const unquote = (value: string) => value.replace(/^"|"$/g, '');
  const uri = registrarUri(options);
  const cnonce = randomBytes(8).toString('hex');
  const ha1 = digest(algorithm, `${options.username}:${unquote(realm)}:${options.password}`);
  const ha2 = digest(algorithm, `REGISTER:${uri}`);
  const response = digest(algorithm, `${ha1}:${unquote(nonce)}:00000001:${cnonce}:auth:${ha2}`);
  return {
    scheme: 'Digest',
    username: `"${options.username}"`,
    realm,
    nonce: `"${unquote(nonce)}"`,
    uri: `"${uri}"`,
    response: `"${response}"`,
    algorithm,
    qop: 'auth',
    nc: '00000001',
    cnonce: `"${cnonce}"`,
  };
}

/** One REGISTER on a Call-ID of its own, with `authorization` (or none), answering no challenge: the final response. */
export function sendRegister(peer: SipPeer, options: RegisterOptions, authorization?: Record<string, string>): Promise<SipResponse> {
  return sendRequest(peer, registerRequest(options, `${randomBytes(8).toString('hex')}@pbx.test`, tag(), 1, authorization));
}

/** REGISTERs a peer, answering the challenge; resolves with the final response. */
export async function register(
  peer: SipPeer,
  options: RegisterOptions,
): Promise<{ challenge: SipResponse | null; response: SipResponse; authorization?: Record<string, string> }> {
  const callId = `${randomBytes(8).toString('hex')}@pbx.test`;
  const fromTag = tag();
  const first = await sendRequest(peer, registerRequest(options, callId, fromTag, 1));
  if (first.status !== 401) return { challenge: null, response: first };
  const challenges = (first.headers['www-authenticate'] as Record<string, string>[]) ?? [];
  const wanted = challenges.find((challenge) => (options.algorithm === undefined ? true : (challenge.algorithm ?? 'MD5').toUpperCase() === options.algorithm)) ?? challenges[0];
  // An algorithm that was not offered is still used when asked for: the registrar must refuse it.
  const algorithm = options.algorithm ?? (wanted.algorithm ?? 'MD5').toUpperCase();
  const authorization = digestAuthorization(options, wanted.nonce, algorithm, wanted.realm);
  const second = await sendRequest(peer, registerRequest(options, callId, fromTag, 2, authorization));
  return { challenge: first, response: second, authorization };
}

export { branch as newBranch, tag as newTag };

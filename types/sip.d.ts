/**
 * Types for `sip` 0.0.6 (kirm/sip.js) as patched by `patches/sip+0.0.6.patch`: only the parts this project
 * uses. The package ships no types and DefinitelyTyped has none. Messages are plain objects; header names are
 * lower case, compact forms expanded (`v` is `via`).
 */
declare module 'sip' {
  import type { TlsOptions } from 'node:tls';

  /** URI and header parameters: `null` for a parameter with no value (`;lr`). */
  export type SipParams = Record<string, string | null | undefined>;

  /**
   * A SIP or SIPS URI taken apart (patched: any case of the scheme, RFC 3261 19.1.4). `schema` is in lower case.
   * An IPv6 reference host (RFC 5118) is kept without its brackets (`2001:db8::1`); `stringifyUri` adds them.
   */
  export interface SipUri {
    schema?: string;
    user?: string;
    password?: string;
    host: string;
    /** `NaN`, not `undefined`, when `parseUri` found no port. */
    port?: number;
    params: SipParams;
    headers?: Record<string, string>;
  }

  /** `host`: an IPv6 sent-by without its brackets, as in `SipUri` (patched). */
  export interface Via {
    version: string;
    protocol: string;
    host: string;
    port?: number;
    params: SipParams;
  }

  /** To, From, Contact: the URI stays a string. `name` keeps its quotes (`"Alice"`). */
  export interface NameAddr {
    name?: string;
    uri: string;
    params: SipParams;
  }

  /**
   * Route, Record-Route, Path: the URI taken apart when it is a SIP or SIPS URI, else the text it was (tel:,
   * urn:, one that does not parse: patched, it was `undefined`). A string when built by hand; `undefined`
   * serialises as `<>`.
   */
  export interface RouteEntry {
    name?: string;
    uri: SipUri | string | undefined;
    params: SipParams;
  }

  export interface CSeq {
    seq: number;
    method: string;
  }

  export interface SipHeaders {
    via: Via[];
    to: NameAddr;
    from: NameAddr;
    'call-id': string;
    cseq: CSeq;
    /** `'*'` for `Contact: *` (patched: it was one entry with the URI `*`). */
    contact?: NameAddr[] | '*';
    route?: RouteEntry[];
    'record-route'?: RouteEntry[];
    path?: RouteEntry[];
    /** A string when parsed (the header has no parser), a number when built. */
    'max-forwards'?: number | string;
    /** Rewritten by `stringify` from the content. */
    'content-length'?: number;
    'content-type'?: string;
    /** Other headers: a string when parsed (repeated headers joined with ','), auth headers are objects. */
    [name: string]: unknown;
  }

  export interface SipRequest {
    method: string;
    /** A string when received; `send` may rewrite it to a `SipUri` (strict routing). */
    uri: string | SipUri;
    version?: string;
    headers: SipHeaders;
    content?: string;
    /** Where a received request came from (patched; not enumerable), as the request callback's `remote`. */
    readonly remote?: Remote;
  }

  export interface SipResponse {
    status: number;
    reason: string;
    version?: string;
    headers: SipHeaders;
    content?: string;
    /**
     * Where a received response came from (patched; not enumerable, so never serialised or copied). A response
     * the stack made itself (408 of Timer B, F or C; 503 for a send that failed; 404 for no address) has none.
     */
    readonly remote?: Remote;
  }

  export type SipMessage = SipRequest | SipResponse;

  /** Where a message came from, and on which local socket. Also what a flow URI encodes. */
  export interface Remote {
    protocol: string;
    address: string;
    port: number;
    local: { address: string; port: number };
  }

  /** An explicit next hop for `send` (patched). */
  export interface Destination {
    /** Default 'UDP'. */
    protocol?: string;
    address: string;
    /** Default 5060. */
    port?: number;
  }

  /**
   * What `send` returns for a request: its client transaction.
   */
  export interface ClientHandle {
    /**
     * INVITE only, once, never after a final response: sends CANCEL (same address, same branch) now if a 1xx has
     * arrived, else as soon as the first one does (RFC 3261 section 9.1). The INVITE then ends with the 487, or
     * whatever final response crosses the CANCEL.
     */
    cancel(): void;
    /**
     * Stops the request quietly, for a caller that makes its own final response: no more retransmissions, next
     * addresses or callbacks (no 408). For an INVITE, a 2xx that still arrives within 64*T1 reaches the callback
     * (the caller must ACK and BYE it); late non-2xx finals are ACKed by the stack, and a late 1xx, or one that
     * had already arrived, gets a CANCEL.
     */
    abandon(): void;
  }

  /**
   * An injected dgram-like socket (`udpSocket`), e.g. a worker thread's end of a message channel. The stack
   * neither binds it nor listens for 'error'; `port` and `address` still set what Via advertises.
   */
  export interface UdpSocketLike {
    on(event: 'message', listener: (message: Buffer | Uint8Array | ArrayBuffer, remote: { address: string; port: number }) => void): unknown;
    /** Called by `destroy()` if present. */
    removeListener?(event: 'message', listener: (message: Buffer, remote: { address: string; port: number }) => void): unknown;
    /** `buffer` may be a slice of Node's shared Buffer pool: copy the bytes before transferring them. */
    send(buffer: Buffer, offset: number, length: number, port: number, address: string): void;
    close(): void;
  }

  export interface Logger {
    recv?(message: SipMessage, remote: Remote): void;
    /** Each message as it is sent (patched: not the repeats of a response or an ACK that a transaction sends again). */
    send?(message: SipMessage, target: Destination): void;
    error?(error: unknown): void;
  }

  export type TransportProtocol = 'UDP' | 'TCP' | 'TLS' | 'WS';

  export interface CreateOptions {
    /** UDP and TCP port to bind, and the port Via advertises. Default 5060 (0 also means 5060). */
    port?: number;
    /** Address to bind; also the Via host when `publicAddress` is absent. Default 0.0.0.0. */
    address?: string;
    /** The Via host, and the host that "is this hop us?" compares with. */
    publicAddress?: string;
    hostname?: string;
    /** Default on. */
    udp?: boolean;
    /** Default ON: pass `false` unless TCP is wanted (it binds the same port). */
    tcp?: boolean;
    tls?: TlsOptions;
    /** Adds `;rport` to our Via on UDP. Default on. */
    rport?: boolean;
    logger?: Logger;
    /** Use this socket instead of binding one (patched). */
    udpSocket?: UdpSocketLike;
    /** Timer C in ms, from the first 1xx and reset by each later one above 100; default 180000 (patched). */
    timerC?: number;
    /**
     * A socket or server 'error' (EADDRINUSE at bind, which happens after `create` returned), an exception
     * while handling one received datagram, or one while serialising or sending a message (patched: the message
     * is not sent, and a client transaction reports a 503). Without it, such errors go to `logger.error`.
     */
    onTransportError?: (error: Error, protocol: TransportProtocol) => void;
    /**
     * A received datagram dropped before any transaction saw it (patched): `unparsable` (no SIP message) or
     * `missing-headers` (no Via, Call-ID, To, From or CSeq). Not for a keep-alive (CRLFs only, RFC 5626 4.4.1).
     */
    onMessageDropped?: (reason: 'unparsable' | 'missing-headers', remote: { address: string; port: number }) => void;
    /** Max-Forwards of the ACK the stack sends for a non-2xx final response. Default 70. */
    'max-forwards'?: number;
    /**
     * The timers of every transaction (patched), e.g. a test's fake clock. Default: the global `setTimeout` and
     * `clearTimeout`, looked up at each call.
     */
    timers?: Timers;
  }

  /** As Node's functions: `setTimeout` calls `callback(arg)` after `ms`; `clearTimeout` may be given `undefined`. */
  export interface Timers {
    setTimeout(callback: (arg: unknown) => void, ms: number, arg?: unknown): unknown;
    clearTimeout(handle: unknown): void;
  }

  export interface SipStack {
    /**
     * Sends a request on a new client transaction. The stack puts its own Via on top (an ACK for a 2xx too) with
     * a fresh branch. The next hop is `destination` if given (patched; the Request-URI and Route are then left as
     * they are), else the first Route or the Request-URI, resolved (RFC 3263, but SRV records are not ordered by
     * priority). Several addresses are tried in turn, moving on after a 503 or a transport error. The callback
     * gets every response, including synthetic ones: 408 (Timer B, F or C), 503 (transport, or a request that
     * cannot be serialised), 404 (no address; also a next hop that is no SIP URI, e.g. tel:).
     */
    send(request: SipRequest, callback?: (response: SipResponse) => void, destination?: Destination | readonly Destination[]): ClientHandle;
    /** Sends a response through the server transaction its top Via names; false when there is none. */
    send(response: SipResponse): boolean;
    encodeFlowUri(flow: Remote): SipUri;
    decodeFlowUri(uri: string | SipUri): Remote | undefined;
    isFlowUri(uri: string | SipUri): boolean;
    hostname(): string;
    /** Ends every transaction (and its timers) and closes the sockets. */
    destroy(): void;
  }

  export function create(options: CreateOptions, onRequest: (request: SipRequest, remote: Remote) => void): SipStack;

  export function makeResponse(
    request: SipRequest,
    status: number,
    reason?: string,
    extension?: { headers?: Partial<SipHeaders>; content?: string },
  ): SipResponse;

  /** `undefined` for anything but a SIP or SIPS URI. */
  export function parseUri(uri: string | SipUri | undefined): SipUri | undefined;
  /** A string is returned as it is; `undefined` gives '' (patched: it threw). */
  export function stringifyUri(uri: string | SipUri | undefined): string;
  /** Parses one message (a datagram); `undefined` when it does not parse. Headers that fail to parse are dropped. */
  export function parse(data: string | Buffer): SipMessage | undefined;
  export function stringify(message: SipMessage): string;
  /** Shallow unless `deep`: headers are copied one level, the Via array is always copied. */
  export function copyMessage<M extends SipMessage>(message: M, deep?: boolean): M;
  /** 'z9hG4bK' and 96 random bits in hex (patched: from `randomHex`). */
  export function generateBranch(): string;
  /** `bytes` (1 to 4096) cryptographically random bytes in hex, from a pool refilled 4 KB at a time (patched). */
  export function randomHex(bytes: number): string;
}

/** The parts of the package's digest helpers the tests use; the product has its own (domain/digest.ts). */
declare module 'sip/digest' {
  import type { SipRequest, SipResponse } from 'sip';

  export interface DigestContext {
    realm?: string;
    /** 'MD5' (default), 'MD5-sess', 'SHA-256', 'SHA-256-sess', 'SHA-512-256', 'SHA-512-256-sess'. */
    algorithm?: string;
    qop?: string;
    nonce?: string;
    cnonce?: string;
    nc?: number;
    opaque?: string;
    proxy?: boolean;
    [key: string]: unknown;
  }

  export interface DigestCredentials {
    user: string;
    password?: string;
    /** HA1, specific to the algorithm. */
    hash?: string;
    realm?: string;
  }

  /** Adds a (Proxy-|WWW-)Authenticate challenge to `response` (a 401 or 407); a fresh random nonce each time. */
  export function challenge(ctx: DigestContext, response: SipResponse): SipResponse;
  export function authenticateRequest(ctx: DigestContext, request: SipRequest, credentials: DigestCredentials): boolean;
  /** Adds Authentication-Info to a response of an authenticated request. */
  export function signResponse(ctx: DigestContext, response: SipResponse): SipResponse;
  /** Signs `request`, answering `challengeResponse` if given; returns the client context (patched: always). */
  export function signRequest(
    ctx: DigestContext | null | undefined,
    request: SipRequest,
    challengeResponse?: SipResponse,
    credentials?: DigestCredentials,
  ): DigestContext;
  /** `undefined` when the response carries no Authentication-Info. */
  export function authenticateResponse(ctx: DigestContext, response: SipResponse): boolean | undefined;
}

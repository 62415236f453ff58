/**
 * SIP messages as plain data, in the shape the `sip` package parses them into. Everything
 * outside `worker/sip/stack.ts` works on these types and never imports `sip` itself.
 */
export interface Via {
  version?: string;
  protocol?: string;
  host: string;
  port?: number;
  params: Record<string, string | null | undefined>;
}

export interface NameAddr {
  name?: string;
  uri: string;
  params: Record<string, string | null | undefined>;
}

/** A URI the parser took apart (Route and Record-Route entries); `schema` is the package's spelling. */
export interface ParsedUri {
  schema: string;
  user?: string;
  host: string;
  port?: number;
  params: Record<string, string | null | undefined>;
}

/** A Route or Record-Route entry: its URI as text when we built it, taken apart when parsed. */
export interface RouteEntry {
  name?: string;
  uri: string | ParsedUri;
  params: Record<string, string | null | undefined>;
}

export interface SipHeaders {
  via: Via[];
  to: NameAddr;
  from: NameAddr;
  'call-id': string;
  cseq: { seq: number; method: string };
  contact?: NameAddr[] | '*';
  route?: RouteEntry[];
  'record-route'?: RouteEntry[];
  'max-forwards'?: number | string;
  'content-length'?: number;
  'content-type'?: string;
  [name: string]: unknown;
}

export interface SipRequest {
  method: string;
  uri: string;
  version?: string;
  headers: SipHeaders;
  content?: string;
}

export interface SipResponse {
  status: number;
  reason: string;
  version?: string;
  headers: SipHeaders;
  content?: string;
}

export type SipMessage = SipRequest | SipResponse;

/** Where a datagram came from or goes to. */
export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

export function isRequest(message: SipMessage): message is SipRequest {
  return (message as SipRequest).method !== undefined;
}

/** A header value as text, or undefined: header parsers give strings for unknown headers. */
export function headerText(headers: SipHeaders, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' ? value : Array.isArray(value) && typeof value[0] === 'string' ? value[0] : undefined;
}

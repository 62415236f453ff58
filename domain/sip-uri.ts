import { isIP } from 'node:net';

export interface SipUri {
  readonly scheme: 'sip' | 'sips';
  readonly user: string | undefined;
  readonly host: string;
  readonly port: number | undefined;
  readonly params: string;
}

const HOSTNAME = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const USER = /^[A-Za-z0-9\-_.!~*'()&=+$,;?/%]{1,64}$/;
const PARAMS = /^(;[A-Za-z0-9\-_.!~*'%]+(=[A-Za-z0-9\-_.!~*'%[\]/:&+$]+)?)*$/;

/** A DNS name whose top label is not all digits (RFC 1123 section 2.1): `999.1.1.1` is no host. */
function isHostname(host: string): boolean {
  return HOSTNAME.test(host) && !/^[0-9]+$/.test(host.slice(host.lastIndexOf('.') + 1));
}

/**
 * Parses the subset of RFC 3261 section 19.1 SIP URIs that configuration accepts as a call
 * target or gateway: `sip:[user@]host[:port][;params]`, no headers, no password.
 */
export function parseSipUri(input: string): SipUri | null {
  const match = /^(sips?):(?:([^@]+)@)?(\[[0-9A-Fa-f:.]+\]|[^:;@]+)(?::(\d{1,5}))?(.*)$/i.exec(input.trim());
  if (match === null) return null;
  const [, scheme, user, rawHost, rawPort, params] = match;
  if (user !== undefined && (!USER.test(user) || user.includes(':'))) return null;
  const host = rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost;
  if (rawHost.startsWith('[') ? isIP(host) !== 6 : isIP(host) !== 4 && !isHostname(host)) return null;
  const port = rawPort === undefined ? undefined : Number(rawPort);
  if (port !== undefined && (port < 1 || port > 65535)) return null;
  if (!PARAMS.test(params)) return null;
  // The scheme is case-insensitive (RFC 3261 section 19.1.4).
  return { scheme: scheme.toLowerCase() as 'sip' | 'sips', user, host, port, params };
}

/** A parsed URI's `host[:port]` as a URI writes it: an IPv6 host in brackets (RFC 5118 section 4.1). */
export function uriHostPort(uri: Pick<SipUri, 'host' | 'port'>): string {
  const host = uri.host.includes(':') ? `[${uri.host}]` : uri.host;
  return uri.port === undefined ? host : `${host}:${uri.port}`;
}

/**
 * A SIP URI's user part as text: percent-escapes decoded (RFC 3261 section 19.1.2, `%2B` is `+`).
 * Null when an escape is malformed: no user can be read from it. Shared by the worker, reading
 * Request-URI and From users, and `simulateCall`, reading its caller as a From header carries it.
 */
export function decodeUserPart(user: string): string | null {
  try {
    return decodeURIComponent(user);
  } catch {
    return null;
  }
}

import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import type { Endpoint } from './message';

/** The port of a SIP URI or Via sent-by that names none, over UDP (RFC 3261 sections 19.1.2, 18.2.1). */
export const DEFAULT_SIP_PORT = 5060;

/**
 * A host as compared: brackets off an IPv6 reference (RFC 5118), lower case (host names compare
 * case-insensitively, RFC 3261 section 19.1.4), an IP literal in its canonical form, so
 * `2001:DB8::0:1` and `2001:db8::1` are one address.
 */
export function canonicalHost(host: string): string {
  const bare = (host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host).toLowerCase();
  // Node's isIP takes only the canonical dotted quad for IPv4 (no leading zeros): only IPv6 has
  // other spellings to fold. Every Route and Record-Route entry of every request comes here.
  return isIP(bare) === 6 ? ipaddr.parse(bare).toString() : bare;
}

/**
 * The test for "is this us": a function true when `host` and `port` name this proxy (`own`: our
 * public address and port), for Route entries we remove (section 16.4) and Vias that mean a loop
 * (16.3 step 4). `own` is canonicalised once, here, not on every Via of every request.
 */
export function ownAddressMatcher(own: Endpoint): (host: string, port: number | undefined) => boolean {
  const ownHost = canonicalHost(own.address);
  const ownPort = own.port;
  return (host, port) => {
    const effectivePort = port !== undefined && Number.isFinite(port) ? port : DEFAULT_SIP_PORT;
    return effectivePort === ownPort && canonicalHost(host) === ownHost;
  };
}

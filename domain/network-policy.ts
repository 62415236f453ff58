import ipaddr from 'ipaddr.js';

/**
 * Where the platform may send a request a customer configured (a WEBHOOK step's URL): public
 * unicast addresses only, unless an operator allowed a network. Pure; the SIP worker applies it
 * to every address a host name resolves to, and the API to a URL whose host is an IP literal.
 *
 * Decisions (see docs/decisions.md, "Webhook destinations"):
 * - The ranges below are written out here rather than taken from ipaddr.js's range names, so a
 *   library update cannot widen what is allowed.
 * - An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is judged as the IPv4 address it maps: a socket
 *   connecting to it reaches that IPv4 address.
 * - IPv6 is allowed only inside global unicast 2000::/3, minus the special-purpose blocks there.
 *   Addresses that embed or translate to an IPv4 address (NAT64 64:ff9b::/96, 6to4 2002::/16,
 *   Teredo 2001::/32) are refused outright: the IPv4 address behind them is not reliably known.
 * - An operator CIDR allows every address it contains, whatever range it is in (a test lab's
 *   127.0.0.0/8, an intranet's 10.0.0.0/8).
 * - Anything that does not parse as a plain address (a zone id, inet_aton shorthand) is refused.
 */

/** A named IPv4 or IPv6 block that is never a public destination. */
interface RefusedRange {
  readonly name: string;
  readonly cidr: string;
}

const REFUSED_IPV4: readonly RefusedRange[] = [
  { name: 'this network (RFC 791)', cidr: '0.0.0.0/8' },
  { name: 'private (RFC 1918)', cidr: '10.0.0.0/8' },
  { name: 'shared address space, CGNAT (RFC 6598)', cidr: '100.64.0.0/10' },
  { name: 'loopback (RFC 1122)', cidr: '127.0.0.0/8' },
  { name: 'link-local, incl. cloud metadata (RFC 3927)', cidr: '169.254.0.0/16' },
  { name: 'private (RFC 1918)', cidr: '172.16.0.0/12' },
  { name: 'IETF protocol assignments (RFC 6890)', cidr: '192.0.0.0/24' },
  { name: 'documentation (RFC 5737)', cidr: '192.0.2.0/24' },
  { name: '6to4 relay anycast (RFC 7526)', cidr: '192.88.99.0/24' },
  { name: 'private (RFC 1918)', cidr: '192.168.0.0/16' },
  { name: 'benchmarking (RFC 2544)', cidr: '198.18.0.0/15' },
  { name: 'documentation (RFC 5737)', cidr: '198.51.100.0/24' },
  { name: 'documentation (RFC 5737)', cidr: '203.0.113.0/24' },
  { name: 'multicast (RFC 5771)', cidr: '224.0.0.0/4' },
  { name: 'reserved and broadcast (RFC 1112, RFC 919)', cidr: '240.0.0.0/4' },
];

/** The special-purpose blocks inside 2000::/3; everything outside 2000::/3 is refused anyway. */
const REFUSED_IPV6_IN_GLOBAL: readonly RefusedRange[] = [
  { name: 'IETF protocol assignments, incl. Teredo and benchmarking (RFC 6890)', cidr: '2001::/23' },
  { name: 'documentation (RFC 3849)', cidr: '2001:db8::/32' },
  { name: '6to4 (RFC 3056)', cidr: '2002::/16' },
  { name: 'documentation (RFC 9637)', cidr: '3fff::/20' },
];

const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3') as [ipaddr.IPv6, number];

/** The names of the blocks outside 2000::/3, for the reason a refusal gives. */
const OUTSIDE_GLOBAL_V6: readonly RefusedRange[] = [
  { name: 'unspecified', cidr: '::/128' },
  { name: 'loopback', cidr: '::1/128' },
  { name: 'NAT64 (RFC 6052, RFC 8215)', cidr: '64:ff9b::/32' },
  { name: 'discard (RFC 6666)', cidr: '100::/64' },
  { name: 'unique local (RFC 4193)', cidr: 'fc00::/7' },
  { name: 'link-local (RFC 4291)', cidr: 'fe80::/10' },
  { name: 'site-local, deprecated (RFC 3879)', cidr: 'fec0::/10' },
  { name: 'multicast (RFC 4291)', cidr: 'ff00::/8' },
];

type Network = readonly [ipaddr.IPv4 | ipaddr.IPv6, number];

function compile(ranges: readonly RefusedRange[]): readonly (readonly [string, Network])[] {
  return ranges.map((range) => [range.name, ipaddr.parseCIDR(range.cidr)] as const);
}

const REFUSED_V4 = compile(REFUSED_IPV4);
const REFUSED_V6_GLOBAL = compile(REFUSED_IPV6_IN_GLOBAL);
const NAMED_V6_OUTSIDE = compile(OUTSIDE_GLOBAL_V6);

export type DestinationVerdict = { readonly allowed: true } | { readonly allowed: false; readonly reason: string };

/**
 * Reads an address as a connection would reach it: plain dotted-quad IPv4 or IPv6 without a zone
 * id; an IPv4-mapped IPv6 address becomes its IPv4 address. Null for anything else.
 */
export function parseDestinationAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  if (text.includes('%')) return null;
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text);
  if (!ipaddr.IPv6.isValid(text)) return null;
  const address = ipaddr.IPv6.parse(text);
  return address.isIPv4MappedAddress() ? address.toIPv4Address() : address;
}

function contains(network: Network, address: ipaddr.IPv4 | ipaddr.IPv6): boolean {
  return network[0].kind() === address.kind() && address.match(network as [ipaddr.IPv4 | ipaddr.IPv6, number]);
}

/** The operator's networks that parse; the API stores only canonical ones, so none is dropped in practice. */
function parseAllowed(allowedCidrs: readonly string[]): Network[] {
  const networks: Network[] = [];
  for (const cidr of allowedCidrs) {
    try {
      networks.push(ipaddr.parseCIDR(cidr));
    } catch {
      // An unreadable entry allows nothing.
    }
  }
  return networks;
}

/** Why an address is not a public unicast destination, or null when it is one. */
function refusedRange(address: ipaddr.IPv4 | ipaddr.IPv6): string | null {
  if (address.kind() === 'ipv4') return REFUSED_V4.find(([, network]) => contains(network, address))?.[0] ?? null;
  if (!address.match(GLOBAL_UNICAST_V6)) {
    return NAMED_V6_OUTSIDE.find(([, network]) => contains(network, address))?.[0] ?? 'not global unicast (outside 2000::/3)';
  }
  return REFUSED_V6_GLOBAL.find(([, network]) => contains(network, address))?.[0] ?? null;
}

/** The verdict on one address, with the range that refuses it. */
export function judgeDestination(addressText: string, allowedCidrs: readonly string[]): DestinationVerdict {
  const address = parseDestinationAddress(addressText);
  if (address === null) return { allowed: false, reason: 'not a plain IP address' };
  if (parseAllowed(allowedCidrs).some((network) => contains(network, address))) return { allowed: true };
  const refused = refusedRange(address);
  return refused === null ? { allowed: true } : { allowed: false, reason: `${refused}, not in the allowed networks` };
}

/** True when a request may be sent to `address`: public unicast, or inside an operator's CIDR. */
export function isAllowedDestination(address: string, allowedCidrs: readonly string[]): boolean {
  return judgeDestination(address, allowedCidrs).allowed;
}

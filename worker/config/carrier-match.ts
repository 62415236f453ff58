// Runs in the worker threads (the snapshot) and on the main thread (the edge's admission).
import ipaddr from 'ipaddr.js';
import type { CarrierConfig } from './snapshot';

/** Which configured carrier a source address belongs to; null when none (the INVITE gets 403). */
export type CarrierMatcher = (address: string) => CarrierConfig | null;

const NO_CARRIER: CarrierMatcher = () => null;

/** `::ffff:0:0/96` (RFC 4291 section 2.5.5.2): an IPv4 address carried in IPv6. */
const MAPPED_PREFIX = '::ffff:';

interface Ipv6Range {
  readonly parts: readonly number[];
  readonly prefix: number;
  readonly carrier: CarrierConfig;
}

/**
 * Precompiles the carriers' source CIDRs into integer ranges so that the check on every new
 * INVITE is a few integer comparisons, with no allocation for IPv4 sources. Carriers are
 * tried in the order given and the first that matches wins.
 *
 * An IPv4-mapped IPv6 source (`::ffff:192.0.2.1`, what a dual-stack socket reports for an IPv4
 * peer) is matched as the IPv4 address it carries; a mapped CIDR (`::ffff:c000:200/120`) is
 * likewise compiled as the IPv4 network it denotes. A stored CIDR that does not parse matches
 * nothing (fail closed): the API validates CIDRs, so only a hand-made row can hold one.
 */
export function compileCarrierMatcher(carriers: readonly CarrierConfig[]): CarrierMatcher {
  const v4Carriers: CarrierConfig[] = [];
  const v4Networks: number[] = [];
  const v4Masks: number[] = [];
  const v6: Ipv6Range[] = [];
  for (const carrier of carriers) {
    for (const cidr of carrier.sourceCidrs) {
      const range = parseRange(cidr);
      if (range === null) continue;
      if (range.kind === 'ipv4') {
        const mask = maskOf(range.prefix);
        v4Carriers.push(carrier);
        v4Networks.push((range.address & mask) >>> 0);
        v4Masks.push(mask);
      } else {
        v6.push({ parts: range.parts, prefix: range.prefix, carrier });
      }
    }
  }
  if (v4Carriers.length === 0 && v6.length === 0) return NO_CARRIER;
  const networks = Uint32Array.from(v4Networks);
  const masks = Uint32Array.from(v4Masks);
  const matchV4 = (address: number): CarrierConfig | null => {
    for (let index = 0; index < networks.length; index++) {
      if ((address & masks[index]) >>> 0 === networks[index]) return v4Carriers[index];
    }
    return null;
  };
  return (address: string): CarrierConfig | null => {
    const v4 = parseDottedQuad(address, 0);
    if (v4 >= 0) return matchV4(v4);
    if (address.length > MAPPED_PREFIX.length && address.slice(0, MAPPED_PREFIX.length).toLowerCase() === MAPPED_PREFIX) {
      const mapped = parseDottedQuad(address, MAPPED_PREFIX.length);
      if (mapped >= 0) return matchV4(mapped);
    }
    if (!address.includes(':')) return null;
    let parsed: ipaddr.IPv6;
    try {
      parsed = ipaddr.IPv6.parse(address);
    } catch {
      return null;
    }
    if (parsed.isIPv4MappedAddress()) return matchV4(octetsToNumber(parsed.toIPv4Address().octets));
    for (const range of v6) {
      if (inRange(parsed.parts, range)) return range.carrier;
    }
    return null;
  };
}

type ParsedRange = { kind: 'ipv4'; address: number; prefix: number } | { kind: 'ipv6'; parts: readonly number[]; prefix: number };

function parseRange(cidr: string): ParsedRange | null {
  try {
    let address: ipaddr.IPv4 | ipaddr.IPv6;
    let prefix: number;
    if (cidr.includes('/')) {
      [address, prefix] = ipaddr.parseCIDR(cidr);
    } else {
      address = ipaddr.parse(cidr);
      prefix = address.kind() === 'ipv4' ? 32 : 128;
    }
    if (address.kind() === 'ipv4') return { kind: 'ipv4', address: octetsToNumber((address as ipaddr.IPv4).octets), prefix };
    const v6 = address as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress() && prefix >= 96) {
      return { kind: 'ipv4', address: octetsToNumber(v6.toIPv4Address().octets), prefix: prefix - 96 };
    }
    return { kind: 'ipv6', parts: [...v6.parts], prefix };
  } catch {
    return null;
  }
}

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

function octetsToNumber(octets: readonly number[]): number {
  return ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0;
}

function inRange(parts: readonly number[], range: Ipv6Range): boolean {
  let bits = range.prefix;
  for (let index = 0; index < 8 && bits > 0; index++, bits -= 16) {
    const mask = bits >= 16 ? 0xffff : (0xffff << (16 - bits)) & 0xffff;
    if (((parts[index] ^ range.parts[index]) & mask) !== 0) return false;
  }
  return true;
}

/**
 * A plain dotted quad (what sockets report) as an unsigned 32-bit number, or -1. Leading zeros
 * and the inet_aton short forms are refused, as `domain/cidr.ts` refuses them in CIDRs.
 */
function parseDottedQuad(text: string, start: number): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let index = start; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code >= 48 && code <= 57) {
      if (digits > 0 && octet === 0) return -1;
      octet = octet * 10 + (code - 48);
      digits++;
      if (octet > 255) return -1;
    } else if (code === 46 && digits > 0 && dots < 3) {
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else {
      return -1;
    }
  }
  return digits > 0 && dots === 3 ? value * 256 + octet : -1;
}

import ipaddr from 'ipaddr.js';
import { quoteInput } from './quote-input';

export type CidrResult = { ok: true; cidr: string } | { ok: false; reason: string };

/**
 * Parses an IPv4 or IPv6 network in CIDR notation (a bare address means a single host) and
 * returns its canonical text. A prefix with host bits set is refused rather than silently
 * widened: `10.0.0.1/8` is almost always a typing mistake for `/32` or `10.0.0.0/8`.
 */
export function parseCidr(input: string): CidrResult {
  const text = input.trim();
  const addressText = text.split('/')[0];
  // ipaddr.js also reads the inet_aton forms ("10", "10.1", "0xa.0.0.1", "010.0.0.1" as octal 8.0.0.1):
  // for an allow-list, only a plain dotted quad is unambiguous.
  // A zone id (fe80::1%eth0) names an interface of one host, not a network a carrier sends from.
  if (addressText.includes('%') || (ipaddr.IPv4.isValid(addressText) && !ipaddr.IPv4.isValidFourPartDecimal(addressText))) {
    return { ok: false, reason: `${quoteInput(text)} is not an IP address or CIDR network` };
  }
  try {
    if (!text.includes('/')) {
      const address = ipaddr.parse(text);
      return { ok: true, cidr: `${address.toString()}/${address.kind() === 'ipv4' ? 32 : 128}` };
    }
    const [address, prefix] = ipaddr.parseCIDR(text);
    const network =
      address.kind() === 'ipv4'
        ? ipaddr.IPv4.networkAddressFromCIDR(text)
        : ipaddr.IPv6.networkAddressFromCIDR(text);
    if (network.toString() !== address.toString()) {
      return { ok: false, reason: `${quoteInput(text)} has host bits set; the network is ${network.toString()}/${prefix}` };
    }
    return { ok: true, cidr: `${network.toString()}/${prefix}` };
  } catch {
    return { ok: false, reason: `${quoteInput(text)} is not an IP address or CIDR network` };
  }
}

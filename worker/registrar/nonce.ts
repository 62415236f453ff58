import { createHmac, timingSafeEqual } from 'node:crypto';
import ipaddr from 'ipaddr.js';
import type { Clock } from '../clock';
import { type RandomPool, threadRandomPool } from '../sip/random-pool';

/** RFC 7616 section 3.3: a nonce the server can check without keeping state. */
export const NONCE_LIFETIME_MS = 5 * 60 * 1000;

/** `invalid`: not issued by us, or issued to another source address; nothing about the sender is proven. */
export type NonceCheck = 'valid' | 'stale' | 'invalid';

/**
 * Nonces are `time · random · HMAC(secret, time · random · source address)`, so any worker holding
 * the secret (all workers of a SIP process share it) can check one, and an expired one is told apart
 * from a forged one: expired gets `stale=true` (the PBX retries at once with the new nonce).
 *
 * The MAC covers the address the challenge was sent to (RFC 7616 section 3.3 lets the nonce include
 * the client's IP address). UDP source addresses are spoofed at no cost, but a nonce that checks for
 * an address proves its sender received our 401 there; only such a REGISTER may count against that
 * address in the failure throttle, so a blind attacker cannot get a real PBX blocked. The address is
 * not carried in the nonce (its length and format are unchanged), only in the MAC.
 *
 * The address, not the port: the throttle counts per address, so that is what must be proven; and a
 * NAT may give the answering REGISTER, or a refresh that reuses the nonce, another port (a new
 * mapping after its UDP timeout), which must not turn a PBX's own nonce into someone else's.
 */
export class NonceService {
  constructor(
    private readonly secret: Buffer,
    private readonly clock: Clock,
    private readonly lifetimeMs = NONCE_LIFETIME_MS,
    private readonly random: RandomPool = threadRandomPool,
  ) {}

  /** A nonce for a challenge sent to `source` (the request's source IP address). */
  issue(source: string): string {
    const body = Buffer.alloc(16);
    body.writeBigUInt64BE(BigInt(this.clock.now()), 0);
    this.random.copyTo(body, 8, 8);
    return Buffer.concat([body, this.mac(body, source)]).toString('base64url');
  }

  /** Whether `nonce` is one we issued to `source`, and whether it is still fresh. */
  check(nonce: string, source: string): NonceCheck {
    const raw = Buffer.from(nonce, 'base64url');
    if (raw.length !== 32 || raw.toString('base64url') !== nonce) return 'invalid';
    const body = raw.subarray(0, 16);
    if (!timingSafeEqual(raw.subarray(16), this.mac(body, source))) return 'invalid';
    const age = this.clock.now() - Number(body.readBigUInt64BE(0));
    return age >= 0 && age <= this.lifetimeMs ? 'valid' : 'stale';
  }

  private mac(body: Buffer, source: string): Buffer {
    return createHmac('sha256', this.secret).update(body).update(addressBytes(source)).digest().subarray(0, 16);
  }
}

const IP_ADDRESS = 1;
const OTHER_TEXT = 2;

/**
 * The address in one canonical form, as the throttle keys it: IPv4 and its IPv4-mapped IPv6 form
 * (RFC 4291 section 2.5.5.2) are the same source, whichever way the socket reports it; an IPv6 zone
 * is dropped. Tagged so that no text can collide with an address's bytes.
 */
function addressBytes(source: string): Buffer {
  const zone = source.indexOf('%');
  const text = zone < 0 ? source : source.slice(0, zone);
  if (!ipaddr.isValid(text)) return Buffer.concat([Buffer.of(OTHER_TEXT), Buffer.from(source, 'utf8')]);
  const parsed = ipaddr.parse(text);
  const bytes = parsed.kind() === 'ipv4' ? (parsed as ipaddr.IPv4).toIPv4MappedAddress().toByteArray() : parsed.toByteArray();
  return Buffer.of(IP_ADDRESS, ...bytes);
}

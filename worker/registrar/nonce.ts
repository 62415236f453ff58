import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../clock';

/** RFC 7616 section 3.3: a nonce the server can check without keeping state. */
export const NONCE_LIFETIME_MS = 5 * 60 * 1000;

export type NonceCheck = 'valid' | 'stale' | 'invalid';

/**
 * Nonces are `time · random · HMAC(secret, time · random)`, so any worker holding the secret
 * (all workers of a SIP process share it) can check one, and an expired one is told apart from
 * a forged one: expired gets `stale=true` (the PBX retries at once with the new nonce), forged
 * counts as a failure.
 */
export class NonceService {
  constructor(
    private readonly secret: Buffer,
    private readonly clock: Clock,
    private readonly lifetimeMs = NONCE_LIFETIME_MS,
  ) {}

  issue(): string {
    const body = Buffer.alloc(16);
    body.writeBigUInt64BE(BigInt(this.clock.now()), 0);
    randomBytes(8).copy(body, 8);
    return Buffer.concat([body, this.mac(body)]).toString('base64url');
  }

  check(nonce: string): NonceCheck {
    const raw = Buffer.from(nonce, 'base64url');
    if (raw.length !== 32 || raw.toString('base64url') !== nonce) return 'invalid';
    const body = raw.subarray(0, 16);
    if (!timingSafeEqual(raw.subarray(16), this.mac(body))) return 'invalid';
    const age = this.clock.now() - Number(body.readBigUInt64BE(0));
    return age >= 0 && age <= this.lifetimeMs ? 'valid' : 'stale';
  }

  private mac(body: Buffer): Buffer {
    return createHmac('sha256', this.secret).update(body).digest().subarray(0, 16);
  }
}

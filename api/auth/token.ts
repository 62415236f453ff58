import { createHash, randomBytes } from 'node:crypto';

const PREFIX = 'tfk_';

/** A new API key secret: 32 random bytes, base64url, with a prefix that secret scanners can spot. */
export function generateApiKeySecret(): string {
  return PREFIX + randomBytes(32).toString('base64url');
}

/**
 * Keys are 256-bit random tokens, so one SHA-256 is enough to store them safely (no dictionary
 * to attack) and lets authentication look a key up by its hash in one indexed query.
 */
export function hashApiKeySecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

import { createHash } from 'node:crypto';

/** Digest algorithms offered in challenges, in the trunk's configured order (RFC 7616, RFC 8760). */
export enum DigestAlgorithm {
  MD5 = 'MD5',
  SHA256 = 'SHA256',
}

/** The token each algorithm has in `WWW-Authenticate` / `Authorization` (RFC 7616 section 3.3). */
export const DIGEST_ALGORITHM_TOKEN: Readonly<Record<DigestAlgorithm, string>> = {
  [DigestAlgorithm.MD5]: 'MD5',
  [DigestAlgorithm.SHA256]: 'SHA-256',
};

const HASH_NAME: Readonly<Record<DigestAlgorithm, string>> = {
  [DigestAlgorithm.MD5]: 'md5',
  [DigestAlgorithm.SHA256]: 'sha256',
};

export function digestHash(algorithm: DigestAlgorithm, text: string): string {
  return createHash(HASH_NAME[algorithm]).update(text, 'utf8').digest('hex');
}

/** HA1 = H(username ":" realm ":" password), RFC 7616 section 3.4.2. The only form a password is kept in. */
export function computeHa1(algorithm: DigestAlgorithm, username: string, realm: string, password: string): string {
  return digestHash(algorithm, `${username}:${realm}:${password}`);
}

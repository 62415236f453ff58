import { timingSafeEqual } from 'node:crypto';
import { DIGEST_ALGORITHM_TOKEN, digestHash, DigestAlgorithm } from '../../domain/digest';

/** The fields of a Digest `Authorization` header (RFC 7616 section 3.4), unquoted. */
export interface DigestCredentials {
  readonly username: string;
  readonly realm: string;
  readonly nonce: string;
  readonly uri: string;
  readonly response: string;
  readonly algorithm: DigestAlgorithm;
  readonly qop: string | null;
  readonly nc: string | null;
  readonly cnonce: string | null;
}

function unquote(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  return value.startsWith('"') && value.endsWith('"') && value.length >= 2 ? value.slice(1, -1).replace(/\\(.)/g, '$1') : value;
}

/** Algorithm tokens as PBXs send them: `MD5`, `SHA-256`, any case; absent means MD5. */
function algorithmOf(token: string | undefined): DigestAlgorithm | null {
  if (token === undefined) return DigestAlgorithm.MD5;
  const upper = token.toUpperCase();
  for (const algorithm of Object.values(DigestAlgorithm)) {
    if (DIGEST_ALGORITHM_TOKEN[algorithm] === upper) return algorithm;
  }
  return null;
}

/**
 * The nonce of a Digest `Authorization` header, unquoted, or null when there is none. Read before
 * anything else in the header, so that the registrar can check it first (cheap) and trust nothing
 * else a sender that never saw our challenge wrote.
 */
export function nonceOf(header: Record<string, unknown>): string | null {
  if (typeof header.scheme !== 'string' || header.scheme.toLowerCase() !== 'digest') return null;
  return unquote(header.nonce) ?? null;
}

/**
 * Reads the Digest credentials out of a parsed `Authorization` header (an object of raw
 * parameter values, as the SIP parser gives it), or null when they are incomplete or use an
 * algorithm we do not offer (the `-sess` variants included).
 */
export function parseCredentials(header: Record<string, unknown>): DigestCredentials | null {
  if (typeof header.scheme !== 'string' || header.scheme.toLowerCase() !== 'digest') return null;
  const field = (name: string) => unquote(header[name]);
  const algorithm = algorithmOf(field('algorithm'));
  const [username, realm, nonce, uri, response] = [field('username'), field('realm'), field('nonce'), field('uri'), field('response')];
  if (algorithm === null || username === undefined || realm === undefined || nonce === undefined || uri === undefined || response === undefined) {
    return null;
  }
  const qop = field('qop') ?? null;
  const nc = field('nc') ?? null;
  const cnonce = field('cnonce') ?? null;
  if (qop !== null && (qop !== 'auth' || nc === null || cnonce === null)) return null;
  return { username, realm, nonce, uri, response: response.toLowerCase(), algorithm, qop, nc, cnonce };
}

/** The response the credentials must carry, given the stored HA1 (RFC 7616 section 3.4.1). */
export function expectedResponse(ha1: string, method: string, credentials: DigestCredentials): string {
  const { algorithm } = credentials;
  const ha2 = digestHash(algorithm, `${method}:${credentials.uri}`);
  return credentials.qop === null
    ? digestHash(algorithm, `${ha1}:${credentials.nonce}:${ha2}`)
    : digestHash(algorithm, `${ha1}:${credentials.nonce}:${credentials.nc}:${credentials.cnonce}:${credentials.qop}:${ha2}`);
}

export function verifyResponse(ha1: string, method: string, credentials: DigestCredentials): boolean {
  const expected = Buffer.from(expectedResponse(ha1, method, credentials), 'utf8');
  const given = Buffer.from(credentials.response, 'utf8');
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** One `WWW-Authenticate` value, in the shape the SIP stringifier writes. */
export function challengeHeader(realm: string, nonce: string, algorithm: DigestAlgorithm, stale: boolean): Record<string, string> {
  return {
    scheme: 'Digest',
    realm: `"${realm}"`,
    nonce: `"${nonce}"`,
    algorithm: DIGEST_ALGORITHM_TOKEN[algorithm],
    qop: '"auth"',
    ...(stale ? { stale: 'true' } : {}),
  };
}

/**
 * A 32-bit hash of four 32-bit words (a uuid, an IPv6 address) for the shared-memory tables:
 * the words are mixed, then Murmur3's finaliser spreads them, since uuids v7 or from sequences
 * and addresses of one network are far from random. `seed`: a per-process random value where a
 * hostile peer picks the keys (source addresses), so it cannot aim at one bucket.
 */
export function hashWords(key: Int32Array, seed = 0): number {
  let h = seed ^ key[0] ^ Math.imul(key[1], 0x9e3779b1) ^ Math.imul(key[2], 0x85ebca6b) ^ Math.imul(key[3], 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

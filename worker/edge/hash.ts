/**
 * 32-bit FNV-1a over a string's UTF-16 code units (one byte each for the latin1 strings the edge
 * scans), with an optional seed XORed into the offset basis. Cheap and evenly spread: the edge
 * spreads unpinned Call-IDs over workers with it (affinity.ts) and tags its stateless answers
 * (stateless-response.ts), where a per-process seed keeps the tags from being predicted.
 */
const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

export function fnv1a(text: string, seed = 0): number {
  let hash = (FNV_OFFSET_BASIS ^ seed) >>> 0;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, FNV_PRIME);
  }
  return hash >>> 0;
}

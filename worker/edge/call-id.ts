/**
 * Finds the Call-ID of a SIP datagram without parsing it: the edge runs this for every datagram
 * to pick the worker, so it touches only the first bytes of each header line and converts only
 * the value to a string.
 *
 * Matches a header line starting with `Call-ID` or its compact form `i` (RFC 3261 section 20.8),
 * case-insensitively (section 7.3.1), with optional whitespace before the colon and linear
 * whitespace after it (HCOLON, section 25.1). Stops at the first empty line: a `Call-ID:` in the
 * body is not a header. The first Call-ID header wins.
 */

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HT = 0x09;
const COLON = 0x3a;
const DASH = 0x2d;
/** ORed into an ASCII letter it gives the lower-case letter. */
const LOWER_CASE_BIT = 0x20;
const LOWER_C = 0x63;
const LOWER_I = 0x69;
/** `call-id` without the dash, which must match exactly (0x0d | 0x20 is also 0x2d). */
const CALL_ID_LETTERS = [0x63, 0x61, 0x6c, 0x6c, -1, 0x69, 0x64] as const;

/**
 * Longer values count as absent. RFC 3261 sets no limit, but real Call-IDs are well under 256
 * bytes, and the affinity table should not hold 64 KiB keys a hostile peer made up.
 */
export const MAX_CALL_ID_LENGTH = 1024;

export function scanCallId(bytes: Uint8Array): string | null {
  const end = bytes.length;
  let line = 0;
  while (line < end) {
    const first = bytes[line];
    // An empty line ends the header section (RFC 3261 section 7).
    if (first === CR || first === LF) return null;
    const lower = first | LOWER_CASE_BIT;
    let nameEnd = -1;
    if (lower === LOWER_I) nameEnd = line + 1;
    else if (lower === LOWER_C && isCallIdName(bytes, line)) nameEnd = line + CALL_ID_LETTERS.length;
    if (nameEnd > 0) {
      const value = valueAfterColon(bytes, nameEnd);
      if (value !== null) return value;
    }
    const next = bytes.indexOf(LF, line);
    if (next < 0) return null;
    line = next + 1;
  }
  return null;
}

function isCallIdName(bytes: Uint8Array, start: number): boolean {
  if (start + CALL_ID_LETTERS.length > bytes.length) return false;
  for (let k = 1; k < CALL_ID_LETTERS.length; k++) {
    const expected = CALL_ID_LETTERS[k];
    const actual = bytes[start + k];
    if (expected < 0 ? actual !== DASH : (actual | LOWER_CASE_BIT) !== expected) return false;
  }
  return true;
}

/** The trimmed value when `bytes[at]` continues with HCOLON, else null (another header, or empty). */
function valueAfterColon(bytes: Uint8Array, at: number): string | null {
  const end = bytes.length;
  let i = at;
  while (i < end && (bytes[i] === SP || bytes[i] === HT)) i++;
  if (i >= end || bytes[i] !== COLON) return null;
  i++;
  // SWS may fold onto the next line: CRLF followed by whitespace (RFC 3261 section 7.3.1).
  for (;;) {
    while (i < end && (bytes[i] === SP || bytes[i] === HT)) i++;
    let fold = i;
    if (bytes[fold] === CR) fold++;
    if (fold < end - 1 && bytes[fold] === LF && (bytes[fold + 1] === SP || bytes[fold + 1] === HT)) {
      i = fold + 1;
      continue;
    }
    break;
  }
  const start = i;
  let stop = start;
  while (stop < end && bytes[stop] !== CR && bytes[stop] !== LF) stop++;
  while (stop > start && (bytes[stop - 1] === SP || bytes[stop - 1] === HT)) stop--;
  const length = stop - start;
  if (length === 0 || length > MAX_CALL_ID_LENGTH) return null;
  // Latin-1 maps each byte to one character, so any byte sequence gives a distinct key. The edge
  // passes Buffers (the fast path); a plain Uint8Array gets a Buffer view, not a copy.
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return buffer.toString('latin1', start, stop);
}

/** Whether `bytes` start with `prefix` and go on after it (a request or status line's first token). */
export function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  return bytes.length > prefix.length && Buffer.compare(bytes.subarray(0, prefix.length), prefix) === 0;
}

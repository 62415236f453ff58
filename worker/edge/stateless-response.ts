import { fnv1a } from './hash';

/**
 * Answers a SIP request from its raw bytes, without the `sip` stack and without keeping any
 * state: the edge refuses new INVITEs this way (403 for a source that is no carrier, 503 when no
 * worker can take a call or the edge itself is saturated) before a worker or a Call-ID binding is
 * spent on them.
 *
 * Only the header lines a response needs are read (RFC 3261 section 8.2.6.2): every Via in order,
 * From, To, Call-ID, CSeq. Header names match case-insensitively and in their compact forms
 * (section 7.3.3); folded values are unfolded (section 7.3.1). A request missing one of them, or
 * whose start line or CSeq does not parse, cannot be answered and is dropped (section 8.2.6.2
 * leaves nothing to copy; section 18.2.1 has no address to answer). The response is sent once:
 * no server transaction retransmits it (section 17.2.1 is for a stateful UAS; a stateless one
 * answers each retransmission of the request anew, section 16.11), and the ACK that comes back
 * for it carries our To tag, by which the edge knows to absorb it (see `isStatelessTag`).
 */

/** A request as the edge reads it: enough to judge it and to answer it. */
export interface ScannedRequest {
  readonly method: string;
  /** Each Via header line's value, unfolded, in the order received (one line may hold several). */
  readonly vias: readonly string[];
  readonly from: string;
  readonly to: string;
  /** The To header's tag parameter; null when absent (an out-of-dialog request). */
  readonly toTag: string | null;
  readonly callId: string;
  readonly cseq: string;
  /** The datagram's length in bytes: the response may not be much longer (no amplification). */
  readonly size: number;
}

/**
 * How much longer than the request a stateless response may be: the tag, received and rport,
 * Content-Length, full header names for compact ones. A stranger's datagram is answered with at
 * most this many bytes more than it sent, so answering it reflects no more than it cost the
 * sender; a longer answer is not sent.
 */
export const MAX_RESPONSE_GROWTH_BYTES = 160;

const COMPACT: Readonly<Record<string, string>> = { v: 'via', f: 'from', t: 'to', i: 'call-id' };
const TOKEN = /^[A-Za-z0-9.!%*_+`'~-]+$/;
const CSEQ = /^\d{1,10}\s+([A-Za-z0-9.!%*_+`'~-]+)$/;
/** Control characters other than HT must not be copied into a response header. */
export function hasControlCharacter(text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if ((code < 0x20 && code !== 0x09) || code === 0x7f) return true;
  }
  return false;
}

/**
 * Reads the start line and the headers a response needs. Null for a response, for a request
 * that is not `METHOD SP Request-URI SP SIP/2.0`, and for one that lacks a header to answer it.
 */
export function scanRequest(bytes: Uint8Array): ScannedRequest | null {
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = headerEnd(buffer);
  const lines = unfold(buffer.toString('latin1', 0, end));
  const start = lines[0]?.split(' ');
  if (start?.length !== 3 || !TOKEN.test(start[0]) || start[1] === '' || start[2].toUpperCase() !== 'SIP/2.0') return null;
  const vias: string[] = [];
  let from: string | null = null;
  let to: string | null = null;
  let callId: string | null = null;
  let cseq: string | null = null;
  for (let index = 1; index < lines.length; index++) {
    const line = lines[index];
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const written = line.slice(0, colon).trimEnd().toLowerCase();
    const name = COMPACT[written] ?? written;
    if (name !== 'via' && name !== 'from' && name !== 'to' && name !== 'call-id' && name !== 'cseq') continue;
    const value = line.slice(colon + 1).trim();
    if (value === '' || hasControlCharacter(value)) return null;
    if (name === 'via') vias.push(value);
    // The first of a duplicated header wins, as in the edge's Call-ID scan (call-id.ts).
    else if (name === 'from') from ??= value;
    else if (name === 'to') to ??= value;
    else if (name === 'call-id') callId ??= value;
    else cseq ??= value;
  }
  if (vias.length === 0 || from === null || to === null || callId === null || cseq === null) return null;
  // A CSeq naming another method is malformed (RFC 3261 section 8.1.1.5).
  if (CSEQ.exec(cseq)?.[1] !== start[0]) return null;
  const toTag = tagOf(to);
  if (toTag === undefined) return null;
  return { method: start[0], vias, from, to, toTag, callId, cseq, size: buffer.length };
}

/**
 * The To tag of a request read straight from its bytes, for the edge's cheap first look at an
 * INVITE: a string, null when To has no tag, undefined when there is no readable To header (then
 * `scanRequest` would refuse it too). Only the To line is turned into a string.
 */
export function scanToTag(bytes: Uint8Array): string | null | undefined {
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = buffer.length;
  let line = buffer.indexOf(LF);
  while (line >= 0 && line + 1 < end) {
    const start = line + 1;
    const first = buffer[start];
    if (first === CR || first === LF) return undefined;
    const lower = first | LOWER_CASE_BIT;
    let nameEnd = -1;
    if (lower === LOWER_T) nameEnd = start + 1 < end && (buffer[start + 1] | LOWER_CASE_BIT) === LOWER_O ? start + 2 : start + 1;
    let next = buffer.indexOf(LF, start);
    if (nameEnd > 0) {
      let colon = nameEnd;
      while (colon < end && (buffer[colon] === SP || buffer[colon] === HT)) colon++;
      if (buffer[colon] === COLON) {
        // Folded continuation lines belong to the value (RFC 3261 section 7.3.1).
        while (next >= 0 && (buffer[next + 1] === SP || buffer[next + 1] === HT)) next = buffer.indexOf(LF, next + 1);
        const value = buffer.toString('latin1', colon + 1, next < 0 ? end : next).replace(/\r?\n[ \t]+/g, ' ').trim();
        if (value === '' || hasControlCharacter(value)) return undefined;
        return tagOf(value);
      }
    }
    line = next;
  }
  return undefined;
}

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HT = 0x09;
const COLON = 0x3a;
const LOWER_CASE_BIT = 0x20;
const LOWER_T = 0x74;
const LOWER_O = 0x6f;

export interface StatelessAnswer {
  readonly status: number;
  readonly reason: string;
  /** The To tag to add when the request has none (RFC 3261 section 8.2.6.2). */
  readonly toTag: string;
  /** Where the request came from: the top Via gets `received` / `rport` (section 18.2.1, RFC 3581). */
  readonly source: { readonly address: string; readonly port: number };
  /** Extra header lines, name and value, e.g. Retry-After. */
  readonly headers?: readonly (readonly [string, string])[];
}

/**
 * The response's bytes, or null when the top Via has no sent-by to answer or the response would
 * outgrow the request by more than `MAX_RESPONSE_GROWTH_BYTES` (then the request is dropped).
 */
export function statelessResponse(request: ScannedRequest, answer: StatelessAnswer): Buffer | null {
  const topVia = stampTopVia(request.vias[0], answer.source);
  if (topVia === null) return null;
  const to = request.toTag === null ? `${request.to};tag=${answer.toTag}` : request.to;
  let text = `SIP/2.0 ${answer.status} ${answer.reason}\r\nVia: ${topVia}\r\n`;
  for (let index = 1; index < request.vias.length; index++) text += `Via: ${request.vias[index]}\r\n`;
  text += `From: ${request.from}\r\nTo: ${to}\r\nCall-ID: ${request.callId}\r\nCSeq: ${request.cseq}\r\n`;
  for (const [name, value] of answer.headers ?? []) text += `${name}: ${value}\r\n`;
  text += 'Content-Length: 0\r\n\r\n';
  if (text.length > request.size + MAX_RESPONSE_GROWTH_BYTES) return null;
  return Buffer.from(text, 'latin1');
}

/** The bytes before the blank line that ends the header section (all of them when there is none). */
function headerEnd(buffer: Buffer): number {
  const crlf = buffer.indexOf('\r\n\r\n', 0, 'latin1');
  const lf = buffer.indexOf('\n\n', 0, 'latin1');
  if (crlf < 0) return lf < 0 ? buffer.length : lf;
  return lf < 0 || crlf < lf ? crlf : lf;
}

/** Header lines with folded continuations joined by one space (RFC 3261 section 7.3.1). */
function unfold(head: string): string[] {
  const lines: string[] = [];
  for (const raw of head.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    // An empty line ends the header section, however its line ends were written.
    if (line === '' && lines.length > 0) break;
    if ((line.startsWith(' ') || line.startsWith('\t')) && lines.length > 1) lines[lines.length - 1] = `${lines[lines.length - 1].trimEnd()} ${line.trim()}`;
    else lines.push(line);
  }
  return lines;
}

/**
 * The tag parameter of a To value: a string, null when absent, undefined when the value is
 * malformed (an unclosed quote or angle bracket). With `<...>` the parameters follow the `>`;
 * without, the URI cannot contain `;` (RFC 3261 section 20), so the first `;` starts them.
 */
function tagOf(to: string): string | null | undefined {
  let index = 0;
  let params = -1;
  while (index < to.length) {
    const char = to[index];
    if (char === '"') {
      index = closingQuote(to, index);
      if (index < 0) return undefined;
    } else if (char === '<') {
      const close = to.indexOf('>', index);
      if (close < 0) return undefined;
      params = close + 1;
      break;
    } else if (char === ';') {
      params = index;
      break;
    }
    index++;
  }
  if (params < 0) return null;
  for (const param of splitOutsideQuotes(to.slice(params), ';')) {
    const equals = param.indexOf('=');
    const name = (equals < 0 ? param : param.slice(0, equals)).trim().toLowerCase();
    if (name === 'tag') return equals < 0 ? null : param.slice(equals + 1).trim() || null;
  }
  return null;
}

/** The index of the quote closing the quoted string opened at `open`, or -1 (backslash escapes, section 25.1). */
function closingQuote(text: string, open: number): number {
  for (let index = open + 1; index < text.length; index++) {
    if (text[index] === '\\') index++;
    else if (text[index] === '"') return index;
  }
  return -1;
}

function splitOutsideQuotes(text: string, separator: string): string[] {
  const parts: string[] = [];
  let from = 0;
  for (let index = 0; index < text.length; index++) {
    if (text[index] === '"') {
      const close = closingQuote(text, index);
      if (close < 0) break;
      index = close;
    } else if (text[index] === separator) {
      parts.push(text.slice(from, index));
      from = index + 1;
    }
  }
  parts.push(text.slice(from));
  return parts;
}

const SENT_BY = /^SIP\s*\/\s*2\.0\s*\/\s*[A-Za-z0-9.!%*_+`'~-]+\s+(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?:\s*:\s*\d{1,5})?\s*$/i;

/**
 * The first via-parm of the top Via line with `received` and `rport` set for the source (RFC 3261
 * section 18.2.1: received when the sent-by host is not the source address; RFC 3581 section 4:
 * an empty rport gets the source port, and then received always), followed by the rest of the
 * line unchanged. Null when its sent-by does not parse.
 */
function stampTopVia(line: string, source: { readonly address: string; readonly port: number }): string | null {
  const values = splitOutsideQuotes(line, ',');
  const [sentBy, ...params] = splitOutsideQuotes(values[0], ';');
  const host = SENT_BY.exec(sentBy.trim())?.[1];
  if (host === undefined) return null;
  let rport = false;
  const kept: string[] = [];
  for (const param of params) {
    const name = param.split('=')[0].trim().toLowerCase();
    if (name === 'received') continue;
    if (name === 'rport' && !param.includes('=')) {
      rport = true;
      kept.push(`rport=${source.port}`);
    } else {
      kept.push(param.trim());
    }
  }
  const bare = host.startsWith('[') ? host.slice(1, -1) : host;
  if (rport || bare.toLowerCase() !== source.address.toLowerCase()) kept.push(`received=${source.address}`);
  const first = [sentBy.trim(), ...kept].join(';');
  return [first, ...values.slice(1)].join(',');
}

/**
 * To tags of the edge's stateless answers: the same for every retransmission of a request (so
 * the caller sees one dialog, RFC 3261 section 8.2.6.2) and recognisable when the ACK for a
 * non-2xx answer comes back with it (section 17.1.1.3), with no table of what was answered. A
 * 32-bit FNV-1a over the Call-ID, seeded per process; a peer's own tag would have to be `sl` and
 * exactly this hash to be taken for one, and even then only its ACK is absorbed.
 */
export class StatelessTags {
  constructor(private readonly seed: number) {}

  tagFor(callId: string): string {
    return `sl${fnv1a(callId, this.seed).toString(16).padStart(8, '0')}`;
  }

  isStatelessTag(callId: string, tag: string | null): boolean {
    return tag !== null && tag.length === 10 && tag.startsWith('sl') && tag === this.tagFor(callId);
  }
}

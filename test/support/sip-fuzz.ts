/**
 * Seeded fuzzing of SIP datagrams: valid templates (ordinary requests and responses, IPv6 ones after
 * RFC 5118, torture messages written from the descriptions in RFC 4475) and mutations of them (bit flips,
 * truncation, duplicated and dropped headers, huge values). The same seed gives the same datagrams.
 */

import { seededRandom } from './random';

/** Where the datagrams go and what they may name. */
export interface FuzzTarget {
  /** The SIP proxy under test (IPv4 literal) and its port. */
  readonly host: string;
  readonly port: number;
  /** A number routed to a trunk, and one routed nowhere. */
  readonly did: string;
  readonly unknownDid: string;
  /** The sender's own port, for its Via. */
  readonly viaPort: number;
}

type Template = (target: FuzzTarget, callId: string, branch: string) => string;

const lines = (...parts: string[]): string => parts.join('\r\n');
const SDP = lines('v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0', 'm=audio 40000 RTP/AVP 0', '');
const SDP6 = lines('v=0', 'o=- 1 1 IN IP6 2001:db8::9:1', 's=-', 'c=IN IP6 2001:db8::9:1', 't=0 0', 'm=audio 40000 RTP/AVP 0', '');

function withBody(head: string[], body = ''): string {
  return lines(...head, `Content-Length: ${Buffer.byteLength(body, 'binary')}`, '', body);
}

function invite(t: FuzzTarget, callId: string, branch: string, extra: string[] = [], did = t.did, body = SDP): string {
  return withBody(
    [
      `INVITE sip:${did}@${t.host}:${t.port} SIP/2.0`,
      `Via: SIP/2.0/UDP ${t.host}:${t.viaPort};branch=${branch};rport`,
      'Max-Forwards: 70',
      `To: <sip:${did}@${t.host}>`,
      `From: "Caller" <sip:+4930901820@carrier.test>;tag=${branch.slice(-8)}`,
      `Call-ID: ${callId}`,
      'CSeq: 1 INVITE',
      `Contact: <sip:carrier@${t.host}:${t.viaPort}>`,
      ...extra,
      'Content-Type: application/sdp',
    ],
    body,
  );
}

function request(method: string, t: FuzzTarget, callId: string, branch: string, extra: string[] = [], toTag = ''): string {
  return withBody([
    `${method} sip:${t.unknownDid}@${t.host}:${t.port} SIP/2.0`,
    `Via: SIP/2.0/UDP ${t.host}:${t.viaPort};branch=${branch}`,
    'Max-Forwards: 70',
    `To: <sip:${t.unknownDid}@${t.host}>${toTag}`,
    `From: <sip:fuzz@${t.host}>;tag=f${branch.slice(-6)}`,
    `Call-ID: ${callId}`,
    `CSeq: 2 ${method}`,
    ...extra,
  ]);
}

/** Ordinary traffic, including the three INVITEs that used to kill a worker (issue: IPv6, SIP:, tel:). */
const ORDINARY: Template[] = [
  (t, c, b) => invite(t, c, b),
  (t, c, b) => invite(t, c, b, ['Record-Route: <sip:[2001:db8::10]:5060;lr>']),
  (t, c, b) => invite(t, c, b, [`Route: <SIP:${t.host}:${t.port};lr>`]),
  (t, c, b) => invite(t, c, b, ['Record-Route: <tel:+4930901820;phone-context=carrier.test>']),
  (t, c, b) => invite(t, c, b, ['Record-Route: <sip:[2001:db8::10]:5060;lr>, <SIPS:edge.carrier.test;lr>, <tel:+1>']),
  (t, c, b) => invite(t, c, b, [], t.unknownDid),
  (t, c, b) => request('OPTIONS', t, c, b, ['Accept: application/sdp']),
  (t, c, b) => request('REGISTER', t, c, b, [`Contact: <sip:pbx@${t.host}:${t.viaPort}>`, 'Expires: 300']),
  (t, c, b) => request('REGISTER', t, c, b, ['Contact: *', 'Expires: 0']),
  (t, c, b) => request('BYE', t, c, b, [], ';tag=callee'),
  (t, c, b) => request('CANCEL', t, c, b),
  (t, c, b) => request('ACK', t, c, b, [], ';tag=callee'),
  (t, c, b) => request('INFO', t, c, b, ['Content-Type: application/dtmf-relay'], ';tag=callee'),
  (t, c, b) =>
    withBody([
      'SIP/2.0 200 OK',
      `Via: SIP/2.0/UDP ${t.host}:${t.port};branch=${b}`,
      `To: <sip:${t.did}@${t.host}>;tag=callee`,
      `From: <sip:+4930901820@carrier.test>;tag=caller`,
      `Call-ID: ${c}`,
      'CSeq: 1 INVITE',
      `Record-Route: <sip:[2001:db8::10];lr>`,
    ]),
];

/** RFC 5118 (IPv6 torture tests), section by section, addressed to the target. */
const IPV6: Template[] = [
  // 4.1 A valid SIP message with an IPv6 reference.
  (t, c, b) => invite(t, c, b, ['Record-Route: <sip:[2001:db8::10]:5060;lr>', 'Contact: "Caller" <sip:caller@[2001:db8::1]>'], t.did, SDP6),
  // 4.2 Invalid: an IPv6 reference without brackets.
  (t, c, b) => invite(t, c, b, ['Record-Route: <sip:2001:db8::10:5060;lr>']),
  // 4.3 Port ambiguous in a SIP URI.
  (t, c, b) => invite(t, c, b, ['Route: <sip:[2001:db8::9:1]:5070;lr>', 'Contact: <sip:caller@[2001:db8::9:255]:5070>']),
  // 4.4 Port unambiguous, and the three-colon form that a bad ABNF allowed.
  (t, c, b) => invite(t, c, b, ['Record-Route: <sip:[2001:db8:::192.0.2.1];lr>', 'Route: <sip:[::ffff:192.0.2.1]:5060;lr>']),
  // 4.5 IPv6 in the received parameter, with and without brackets.
  (t, c, b) =>
    invite(t, c, b, ['Via: SIP/2.0/UDP [2001:db8::9:255];branch=z9hG4bKas3-111;received=[2001:db8::9:255]', 'Via: SIP/2.0/UDP [2001:db8::9:1]:6050;branch=z9hG4bKas3-222;received=2001:db8::9:1']),
  // 4.6 A request with an IPv6 sent-by in its top Via.
  (t, c) => invite(t, c, 'z9hG4bKv6top').replace(`Via: SIP/2.0/UDP ${t.host}:${t.viaPort}`, 'Via: SIP/2.0/UDP [2001:db8::9:1]:5060'),
  // 4.8 Multiple IP addresses in headers, IPv4 and IPv6 mixed.
  (t, c, b) => invite(t, c, b, ['Contact: "Caller" <sip:caller@[2001:db8::9:1]>, <sip:caller@192.0.2.1>', 'Record-Route: <sip:[2001:db8::10];lr>, <sip:192.0.2.10;lr>']),
  // An IPv6 Request-URI host and an IPv6 Route that is not ours.
  (t, c, b) => invite(t, c, b, ['Route: <sip:[2001:db8::99]:5060;lr>']).replace(`INVITE sip:${t.did}@${t.host}:${t.port}`, `INVITE sip:${t.did}@[2001:db8::1]:5060`),
];

/** RFC 4475, sections 3.1.1 (valid but tortuous) and 3.1.2 (invalid), written from their descriptions. */
const TORTURE: Template[] = [
  // 3.1.1.1 wsinv: folded lines, unusual whitespace, escaped and unknown parameters.
  (t, c, b) =>
    lines(
      `INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0`,
      'TO :',
      ' sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n',
      'from   : "J Rosenberg \\\\\\""       <sip:jdrosen@example.com>',
      '  ;',
      '  tag = 98asjd8',
      'MaX-fOrWaRdS: 0068',
      `Call-ID: ${c}`,
      'Content-Length   : 150',
      'cseq: 0009',
      '  INVITE',
      `Via  : SIP  /   2.0`,
      ` /UDP`,
      `    ${t.host}:${t.viaPort};branch=${b}`,
      's :',
      'NewFangledHeader:   newfangled value',
      ' continued newfangled value',
      'UnknownHeaderWithUnusualValue: ;;,,;;,;',
      'Content-Type: application/sdp',
      'Route:',
      ' <sip:services.example.com;lr;unknownwith=value;unknown-no-value>',
      'v:  SIP  / 2.0  / TCP     spindle.example.com   ;',
      '  branch  =   z9hG4bK9ikj8  ,',
      ' SIP  /    2.0   / UDP  192.168.255.111   ; branch=',
      ' z9hG4bK30239',
      'm:"Quoted string \\"\\"" <sip:jdrosen@example.com> ; newparam =',
      '      newvalue ;',
      '  secondparam ; q = 0.33',
      '',
      SDP,
    ),
  // 3.1.1.2 intmeth: every token character in the method name.
  (t, c, b) =>
    lines(
      `!interesting-Method0123456789_*+\`.%indeed'~ sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com SIP/2.0`,
      `Via: SIP/2.0/TCP ${t.host}:${t.viaPort};branch=${b}`,
      'To: "BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f" <sip:1_unusual.URI~(to-be!sure)&isn\'t+it$/crazy?,/;;*@example.com>',
      'From: token1~` token2\'+_ token3*%!.- <sip:mundane@example.com>;fromParam\'\'~+*_!.-%="\xd1\x80\xd0\xb0\xd0\xb1\xd0\xbe\xd1\x82\xd0\xb0\xd1\x8e\xd1\x89\xd0\xb8\xd0\xb9";tag=_token~1\'+`*%!-.',
      `Call-ID: ${c}`,
      'CSeq: 139122385 !interesting-Method0123456789_*+`.%indeed\'~',
      'Max-Forwards: 255',
      'extensionHeader-!.%*+_`\'~:\xef\xbb\xbf\xe5\xa4\xa7\xe5\x81\x9c\xe9\x9b\xbb',
      'Content-Length: 0',
      '',
      '',
    ),
  // 3.1.1.3 esc01: escaped characters in the Request-URI user part.
  (t, c, b) => request('OPTIONS', t, c, b).replace(`OPTIONS sip:${t.unknownDid}@`, 'OPTIONS sip:sips%3Auser%40example.com@'),
  // 3.1.1.4 escnull: an escaped NUL in the user part.
  (t, c, b) => request('REGISTER', t, c, b, ['Contact: <sip:%00@host5.example.net>']).replace(`To: <sip:${t.unknownDid}@`, 'To: <sip:null-%00-null@'),
  // 3.1.1.5 esc02: an escaped method name.
  (t, c, b) => request('RE%47IST%45R', t, c, b, ['Contact: <sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>']),
  // 3.1.1.6 lwsdisp: no whitespace between display name and <.
  (t, c, b) => request('OPTIONS', t, c, b).replace(/From: <sip:fuzz@/, 'From: caller<sip:fuzz@'),
  // 3.1.1.7 longreq: long values everywhere.
  (t, c, b) =>
    request('OPTIONS', t, c, b, [`Via: SIP/2.0/TCP host1.example.com;branch=${'z9hG4bK'.padEnd(900, 'k')}`, `Route: <sip:${'n'.repeat(3000)}@example.com;lr>`, `X-Long: ${'v'.repeat(8000)}`]),
  // 3.1.1.8 dblreq: a second request after the first in one datagram.
  (t, c, b) => request('REGISTER', t, c, b) + request('INVITE', t, `${c}-2`, `${b}-2`),
  // 3.1.1.9 semiuri: semicolons in the user part.
  (t, c, b) => request('OPTIONS', t, c, b).replace(`OPTIONS sip:${t.unknownDid}@`, 'OPTIONS sip:user;par=u%40example.net@'),
  // 3.1.1.10 transports: unusual Via transports.
  (t, c, b) => request('OPTIONS', t, c, b, ['Via: SIP/2.0/SCTP t.example.com;branch=z9hG4bKsctp', 'Via: SIP/2.0/TLS t.example.com;branch=z9hG4bKtls', 'Via: SIP/2.0/UNKNOWN t.example.com;branch=z9hG4bKunk']),
  // 3.1.1.11 mpart01: a multipart body.
  (t, c, b) =>
    withBody(
      [`MESSAGE sip:${t.unknownDid}@${t.host} SIP/2.0`, `Via: SIP/2.0/UDP ${t.host}:${t.viaPort};branch=${b}`, `To: <sip:x@${t.host}>`, 'From: <sip:y@example.com>;tag=m', `Call-ID: ${c}`, 'CSeq: 1 MESSAGE', 'Content-Type: multipart/mixed;boundary=7a9cbec02ceef655'],
      lines('--7a9cbec02ceef655', 'Content-Type: text/plain', '', 'hello', '--7a9cbec02ceef655--', ''),
    ),
  // 3.1.1.12 unreason: a reason phrase in UTF-8; 3.1.1.13 noreason: none at all.
  (t, c, b) => withBody([`SIP/2.0 200 = 2**3 * 5**2 \xd0\xbd\xd0\xbe`, `Via: SIP/2.0/UDP ${t.host}:${t.port};branch=${b}`, `To: <sip:x@${t.host}>;tag=a`, 'From: <sip:y@example.com>;tag=b', `Call-ID: ${c}`, 'CSeq: 1 INVITE']),
  (t, c, b) => withBody(['SIP/2.0 100 ', `Via: SIP/2.0/UDP ${t.host}:${t.port};branch=${b}`, `To: <sip:x@${t.host}>`, 'From: <sip:y@example.com>;tag=b', `Call-ID: ${c}`, 'CSeq: 1 INVITE']),
  // 3.1.2.1 badinv01: extraneous header separators. 3.1.2.2 clerr: Content-Length larger than the body.
  (t, c, b) => invite(t, c, b, ['Expires: 3600;;', 'Accept: application/sdp,,']),
  (t, c, b) => invite(t, c, b).replace(/Content-Length: \d+/, 'Content-Length: 9999'),
  // 3.1.2.3 scalar02: huge numbers.
  (t, c, b) => invite(t, c, b).replace('Max-Forwards: 70', 'Max-Forwards: 300').replace('CSeq: 1 INVITE', 'CSeq: 36893488147419103232 INVITE').replace(/Content-Length: \d+/, 'Content-Length: 99999999999999999999999'),
  // 3.1.2.4 scalarlg: huge Expires and Retry-After. 3.1.2.5 quotbal: unbalanced quotes.
  (t, c, b) => request('REGISTER', t, c, b, ['Expires: 10000000000000000000', 'Retry-After: 9999999999999999999999']),
  (t, c, b) => invite(t, c, b).replace('From: "Caller"', 'From: "Caller'),
  // 3.1.2.6 ltgtruri: Request-URI in angle brackets. 3.1.2.7 lwsruri: whitespace in the Request-URI.
  (t, c, b) => invite(t, c, b).replace(`INVITE sip:${t.did}@${t.host}:${t.port}`, `INVITE <sip:${t.did}@${t.host}:${t.port}>`),
  (t, c, b) => invite(t, c, b).replace(`INVITE sip:${t.did}@`, `INVITE sip:${t.did} @`),
  // 3.1.2.8 lwsstart: several spaces between the parts. 3.1.2.9 trws: trailing whitespace.
  (t, c, b) => invite(t, c, b).replace(`INVITE sip:`, 'INVITE   sip:').replace(' SIP/2.0\r\n', '   SIP/2.0   \r\n'),
  // 3.1.2.10 escruri: an unescaped header in the Request-URI. 3.1.2.11 baddate: a non-GMT date.
  (t, c, b) => invite(t, c, b, ['Date: Fri, 01 Jan 2010 16:00:00 EST']).replace(`INVITE sip:${t.did}@${t.host}:${t.port}`, `INVITE sip:${t.did}@${t.host}:${t.port}?Route=%3Csip:example.com%3E`),
  // 3.1.2.12 regbadct: a Contact with an unquoted comma in it. 3.1.2.13 badaspec: no angle brackets around a URI with parameters.
  (t, c, b) => request('REGISTER', t, c, b, ['Contact: sip:user@example.com?Route=%3Csip:sip.example.com%3E, <sip:a@b>']),
  (t, c, b) => request('OPTIONS', t, c, b).replace(/To: <([^>]*)>/, 'To: sip:x@example.com;tag=a;b=c?d'),
  // 3.1.2.14 baddn: a display name with unquoted characters. 3.1.2.15 badvers: SIP/7.0.
  (t, c, b) => invite(t, c, b).replace('From: "Caller" <', 'From: Bell, Alexander <'),
  (t, c, b) => invite(t, c, b).replace(' SIP/2.0\r\n', ' SIP/7.0\r\n'),
  // 3.1.2.16 mismatch01: CSeq method differs from the request's. 3.1.2.17 mismatch02: an unknown method in both.
  (t, c, b) => invite(t, c, b).replace('CSeq: 1 INVITE', 'CSeq: 1 OPTIONS'),
  (t, c, b) => request('NEWMETHOD', t, c, b).replace('CSeq: 2 NEWMETHOD', 'CSeq: 2 INVITE'),
  // 3.1.2.18 multi01: several single-value headers. 3.1.2.19 ncl: a negative Content-Length.
  (t, c, b) => invite(t, c, b, [`Call-ID: ${c}-second`, 'To: <sip:other@example.com>', 'From: <sip:other@example.com>;tag=x', 'CSeq: 2 INVITE']),
  (t, c, b) => invite(t, c, b).replace(/Content-Length: \d+/, 'Content-Length: -999'),
  // 3.1.2.20 novelsc: an unknown scheme in the Request-URI. 3.1.2.21 unkscm: an unknown scheme in To.
  (t, c, b) => invite(t, c, b).replace(`INVITE sip:${t.did}@${t.host}:${t.port}`, 'INVITE soap.beep://192.0.2.103:3002'),
  (t, c, b) => request('OPTIONS', t, c, b).replace(/To: <[^>]*>/, 'To: <nobody:user@example.com>'),
  // 3.1.2.22 unksm2: a REGISTER with an isbn: URI. 3.1.2.23 bext01: an unknown Require. 3.1.2.24 bigcode: a status beyond 699.
  (t, c, b) => request('REGISTER', t, c, b, ['Contact: <isbn:2983792873>']).replace(/To: <[^>]*>/, 'To: <isbn:2983792873>'),
  (t, c, b) => invite(t, c, b, ['Require: nothingSupportsThis, nothingSupportsThisEither']),
  (t, c, b) => withBody(['SIP/2.0 4294967301 better not break the receiver', `Via: SIP/2.0/UDP ${t.host}:${t.port};branch=${b}`, `To: <sip:x@${t.host}>;tag=a`, 'From: <sip:y@example.com>;tag=b', `Call-ID: ${c}`, 'CSeq: 1 INVITE']),
  // 3.1.2.25 invut: an unknown Content-Type. 3.1.2.26 zeromf: Max-Forwards 0. 3.3.1 insuf: no Call-ID, From, To, or Max-Forwards.
  (t, c, b) => invite(t, c, b).replace('Content-Type: application/sdp', 'Content-Type: application/unknownformat'),
  (t, c, b) => invite(t, c, b).replace('Max-Forwards: 70', 'Max-Forwards: 0'),
  (t, c, b) => invite(t, c, b).replace(/\r\nCall-ID: [^\r]*/, '').replace(/\r\nFrom: [^\r]*/, ''),
  // 3.3.2 inv2543: an RFC 2543 request, no branch cookie.
  (t, c) => invite(t, c, 'nobranchcookie'),
  // 3.3.15 sdp01: an SDP body with a media type the product cannot take; 3.4.x: an escaped, quoted Route.
  (t, c, b) => invite(t, c, b, ['Route: "a \\" <b>" <sip:x@example.com;lr>']),
];

export const TEMPLATES: readonly Template[] = [...ORDINARY, ...IPV6, ...TORTURE];

const HUGE_VALUES = ['9'.repeat(40), '-1', '0x10', '4294967296', ''.padEnd(20_000, 'a'), '%'.repeat(300), '<'.repeat(500), '"'.repeat(301), ';'.repeat(2000), '[' + ':'.repeat(300) + ']'];
const SPLICES = ['[2001:db8::1]', '[::]', '[', ']', 'SIP:', 'tel:+1', '<', '>', '"', ';', ',', '\r\n', '\r\n ', ' ', '\x00', '%00', '=', '@', ':', '\xff', '\\'];

/** One mutation of a datagram (as bytes in a binary string). */
function mutate(text: string, random: () => number): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const at = () => Math.floor(random() * (text.length + 1));
  const headerLines = () => text.split('\r\n');
  switch (Math.floor(random() * 9)) {
    case 0: {
      // Bit flips: one to eight bits anywhere.
      const bytes = Buffer.from(text, 'binary');
      for (let n = 1 + Math.floor(random() * 8); n > 0 && bytes.length > 0; n--) bytes[Math.floor(random() * bytes.length)] ^= 1 << Math.floor(random() * 8);
      return bytes.toString('binary');
    }
    case 1:
      return text.slice(0, at());
    case 2: {
      // A header line repeated, up to fifty times.
      const all = headerLines();
      const index = 1 + Math.floor(random() * Math.max(1, all.length - 3));
      const copies = 1 + Math.floor(random() * 50);
      return [...all.slice(0, index), ...Array<string>(copies).fill(all[index] ?? ''), ...all.slice(index)].join('\r\n');
    }
    case 3: {
      const all = headerLines();
      all.splice(1 + Math.floor(random() * Math.max(1, all.length - 3)), 1);
      return all.join('\r\n');
    }
    case 4: {
      // A header value replaced by a huge or odd one.
      const all = headerLines();
      const index = 1 + Math.floor(random() * Math.max(1, all.length - 3));
      const colon = (all[index] ?? '').indexOf(':');
      all[index] = `${colon > 0 ? all[index].slice(0, colon + 1) : 'X-Huge:'} ${pick(HUGE_VALUES)}`;
      return all.join('\r\n');
    }
    case 5: {
      const where = at();
      return text.slice(0, where) + pick(SPLICES) + text.slice(where);
    }
    case 6: {
      // A random run of bytes overwritten.
      const where = at();
      const length = 1 + Math.floor(random() * 16);
      let noise = '';
      for (let k = 0; k < length; k++) noise += String.fromCharCode(Math.floor(random() * 256));
      return text.slice(0, where) + noise + text.slice(where + length);
    }
    case 7:
      // Two mutations at once.
      return mutate(mutate(text, random), random);
    default:
      // Case changes: SIP: schemes, header names.
      return text.replace(/sip:|Via:|Route:|To:/g, (token) => (random() < 0.5 ? token.toUpperCase() : token.toLowerCase()));
  }
}

export interface FuzzDatagram {
  readonly data: Buffer;
  /** Index of the template it came from, and whether it was left as it is. */
  readonly template: number;
  readonly mutated: boolean;
}

/** Largest UDP payload over IPv4. */
const MAX_DATAGRAM = 65_507;

/**
 * `count` datagrams: a tenth as the templates are, the rest mutated. Each has a Call-ID of its own
 * (unless a mutation destroyed it), so transactions do not collide.
 */
export function* fuzzDatagrams(seed: number, count: number, target: FuzzTarget): Generator<FuzzDatagram> {
  const random = seededRandom(seed);
  let produced = 0;
  for (let n = 0; produced < count; n++) {
    const template = Math.floor(random() * TEMPLATES.length);
    const text = TEMPLATES[template](target, `fuzz-${seed}-${n}@fuzz.test`, `z9hG4bKfuzz${seed}x${n}`);
    const mutated = random() >= 0.1;
    const data = Buffer.from(mutated ? mutate(text, random) : text, 'binary').subarray(0, MAX_DATAGRAM);
    if (data.length === 0) continue;
    produced++;
    yield { data, template, mutated };
  }
}

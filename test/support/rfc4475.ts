/**
 * Messages after RFC 4475 (SIP torture tests), as binary strings (one character per byte): the well-formed ones
 * of section 3.1.1 and some malformed ones of section 3.1.2, each reproducing what its section exercises. Long
 * values of 3.1.1.7 are shortened; bodies are shorter SDP, and Content-Length is computed from them.
 */
const crlf = (...parts: string[]): string => parts.join('\r\n');

const SDP = crlf('v=0', 'o=mhandley 29739 7272939 IN IP4 192.0.2.3', 's=-', 'c=IN IP4 192.0.2.4', 't=0 0', 'm=audio 49217 RTP/AVP 0 12', 'm=video 3227 RTP/AVP 31', 'a=rtpmap:31 LPC', '');

/** The head, a blank line and the body; `length` replaces the computed Content-Length line's value. */
function message(head: string[], body = '', length?: string): string {
  return crlf(...head, `Content-Length: ${length ?? body.length}`, '', body);
}

/** UTF-8 text as the binary string of its bytes. */
const utf8 = (text: string): string => Buffer.from(text, 'utf8').toString('binary');

/** Every byte value once: a binary body part (3.1.1.11). */
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString('binary');

export const VALID: Readonly<Record<string, string>> = {
  // 3.1.1.1: unusual case and whitespace, folded lines, compact forms, escaped quotes, unknown headers
  wsinv: message(
    [
      'INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0',
      'TO :',
      ' sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n',
      'from   : "J Rosenberg \\\\\\""       <sip:jdrosen@example.com>',
      '  ;',
      '  tag = 98asjd8',
      'MaX-fOrWaRdS: 0068',
      'Call-ID: wsinv.ndaksdj@192.0.2.1',
      'cseq: 0009',
      '  INVITE',
      'Via  : SIP  /   2.0',
      ' /UDP',
      '    192.0.2.2;branch=390skdjuw',
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
    ],
    SDP,
  ),
  // 3.1.1.2: every token character in the method, URI user and password characters, control characters
  // escaped in a quoted string, UTF-8 in a quoted parameter and in an extension header
  intmeth: message([
    "!interesting-Method0123456789_*+`.%indeed'~ sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com SIP/2.0",
    "Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~",
    'To: "BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f" <sip:1_unusual.URI~(to-be!sure)&isn\'t+it$/crazy?,/;;*@example.com>',
    `From: token1~\` token2'+_ token3*%!.- <sip:mundane@example.com>;fromParam''~+*_!.-%="${utf8('работающий')}";tag=_token~1'+\`*%!-.`,
    'Call-ID: intmeth.word%ZK-!.*_+\'@word`~)(><:\\/"][?}{',
    "CSeq: 139122385 !interesting-Method0123456789_*+`.%indeed'~",
    'Max-Forwards: 255',
    `extensionHeader-!.%*+_\`'~:${utf8('\ufeff大停電')}`,
  ]),
  // 3.1.1.3: escaped characters in URIs, a compact Content-Type, a Contact on a continuation line
  esc01: message(
    [
      'INVITE sip:sips%3Auser%40example.com@example.net SIP/2.0',
      'To: sip:%75se%72@example.com',
      'From: <sip:I%20have%20spaces@example.net>;tag=938',
      'Max-Forwards: 87',
      'i: esc01.239409asdfakjkn23onasd0-3234',
      'CSeq: 234234 INVITE',
      'Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bKkdjuw',
      'C: application/sdp',
      'Contact:',
      '  <sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>',
    ],
    SDP,
  ),
  // 3.1.1.4: an escaped NUL in URI user parts, a compact Content-Length without a space
  escnull: crlf(
    'REGISTER sip:example.com SIP/2.0',
    'To: sip:null-%00-null@example.com',
    'From: sip:null-%00-null@example.com;tag=839923423',
    'Max-Forwards: 70',
    'Call-ID: escnull.39203ndfvkjdasfkq3w4otrq0adsfdfnavd',
    'CSeq: 14398234 REGISTER',
    'Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw',
    'Contact: <sip:%00@host5.example.com>',
    'Contact: <sip:%00%00@host5.example.com>',
    'L:0',
    '',
    '',
  ),
  // 3.1.1.5: an escaped method (no REGISTER), '%' in a branch and in display names, an escaped header name
  // (C%6Fntact is no Contact)
  esc02: crlf(
    'RE%47IST%45R sip:registrar.example.com SIP/2.0',
    'To: "%Z%45" <sip:resource@example.com>',
    'From: "%Z%45" <sip:resource@example.com>;tag=f232jadfj23',
    'Call-ID: esc02.asdfnqwo34rq23i34jrjasdcnl23nrlknsdf',
    'Via: SIP/2.0/TCP host.example.com;rport;branch=z9hG4bK209%fzsnel234',
    'CSeq: 29344 RE%47IST%45R',
    'Max-Forwards: 70',
    'Contact: <sip:alias1@host1.example.com>',
    'C%6Fntact: <sip:alias2@host2.example.com>',
    'Contact: <sip:alias3@host3.example.com>',
    'l: 0',
    '',
    '',
  ),
  // 3.1.1.6: no whitespace between a display name and '<'
  lwsdisp: crlf(
    'OPTIONS sip:user@example.com SIP/2.0',
    'To: sip:user@example.com',
    'From: caller<sip:caller@example.com>;tag=323',
    'Max-Forwards: 70',
    'Call-ID: lwsdisp.1234abcd@funky.example.com',
    'CSeq: 60 OPTIONS',
    'Via: SIP/2.0/UDP funky.example.com;branch=z9hG4bKkdjuw',
    'l: 0',
    '',
    '',
  ),
  // 3.1.1.7, shortened: long display names, tags, Call-ID, URIs, header names and many Via entries
  longreq: message(
    [
      'INVITE sip:user@example.com SIP/2.0',
      `To: "I have a user name of ${'extreme'.repeat(10)} proportion"<sip:user@example.com:6000;unknownparam1=very${'long'.repeat(20)}value;longparam${'name'.repeat(25)}=shortvalue;very${'long'.repeat(25)}ParameterNameWithNoValue>`,
      `F: sip:${'amazinglylongcallername'.repeat(5)}@example.net;tag=12${'982'.repeat(50)}424;unknownheaderparam${'name'.repeat(20)}=unknowheaderparam${'value'.repeat(15)};unknownValueless${'paramname'.repeat(10)}`,
      `Call-ID: longreq.one${'really'.repeat(20)}longcallid`,
      'CSeq: 3882340 INVITE',
      `Unknown-${'Long'.repeat(20)}-Name: unknown-${'long'.repeat(20)}-value; unknown-${'long'.repeat(20)}-parameter-name = unknown-${'long'.repeat(20)}-parameter-value`,
      ...Array.from({ length: 10 }, (_, i) => `Via: SIP/2.0/TCP sip${i + 1}.example.com;branch=z9hG4bK${'a'.repeat(40)}${i}`),
      `Record-Route: <sip:${'host'.repeat(10)}.example.com;lr>, <sip:${'host'.repeat(11)}.example.com;lr>`,
      'Max-Forwards: 70',
      `Contact: <sip:amazinglylongcallername${'x'.repeat(100)}@host5.example.net>`,
      'Content-Type: application/sdp',
    ],
    SDP,
  ),
  // 3.1.1.8: a REGISTER with Content-Length 0 and an INVITE after it in the same datagram: the INVITE is
  // garbage after the message and is not taken
  dblreq:
    crlf(
      'REGISTER sip:example.com SIP/2.0',
      'To: sip:j.user@example.com',
      'From: sip:j.user@example.com;tag=43251j3j324',
      'Max-Forwards: 8',
      'I: dblreq.0ha0isndaksdj99sdfafnl3lk233412',
      'Contact: sip:j.user@host.example.com',
      'CSeq: 8 REGISTER',
      'Via: SIP/2.0/UDP 192.0.2.125;branch=z9hG4bKkdjuw23492',
      'Content-Length: 0',
      '',
      '',
    ) +
    message(
      [
        'INVITE sip:joe@example.com SIP/2.0',
        't: sip:joe@example.com',
        'From: sip:caller@example.net;tag=141334',
        'Max-Forwards: 8',
        'Call-ID: dblreq.0ha0isnda977644900765@192.0.2.15',
        'CSeq: 8 INVITE',
        'Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKkdjuw380234',
        'Content-Type: application/sdp',
      ],
      SDP,
    ),
  // 3.1.1.9: a semicolon in the Request-URI's user part, a folded Accept
  semiuri: crlf(
    'OPTIONS sip:user;par=u%40example.net@example.com SIP/2.0',
    'To: sip:j_user@example.com',
    'From: sip:caller@example.org;tag=33242',
    'Max-Forwards: 3',
    'Call-ID: semiuri.0ha0isndaksdj',
    'CSeq: 8 OPTIONS',
    'Accept: application/sdp, application/pkcs7-mime,',
    '        multipart/mixed, multipart/signed,',
    '        message/sip, message/sipfrag',
    'Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKkdjuw',
    'l: 0',
    '',
    '',
  ),
  // 3.1.1.10: Via transports the stack does not speak, and one nobody knows
  transports: crlf(
    'OPTIONS sip:user@example.com SIP/2.0',
    'To: sip:user@example.com',
    'From: <sip:caller@example.com>;tag=323',
    'Max-Forwards: 70',
    'Call-ID:  transports.kijh4akdnaqjkwendsasfdj',
    'Accept: application/sdp',
    'CSeq: 60 OPTIONS',
    'Via: SIP/2.0/UDP t1.example.com;branch=z9hG4bKkdjuw',
    'Via: SIP/2.0/SCTP t2.example.com;branch=z9hG4bKklasjdhf',
    'Via: SIP/2.0/TLS t3.example.com;branch=z9hG4bK2980unddj',
    'Via: SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en',
    'Via: SIP/2.0/TCP t5.example.com;branch=z9hG4bK0a9idfnee',
    'l: 0',
    '',
    '',
  ),
  // 3.1.1.11: a multipart body with a part of raw bytes (every value, CR and LF among them)
  mpart01: message(
    [
      'MESSAGE sip:kumiko@example.org SIP/2.0',
      'Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-d87543-4dade06d0bdb11ee-1--d87543-;rport',
      'Max-Forwards: 70',
      'Route: <sip:127.0.0.1:5080>',
      'Identity: r5mwreLuyDRYBi/0TiPwEsY3rEVsk/G2WxhgTV1PF7hHuL',
      '  IK0YWw8D/Tbh6JG8Dq+BRR8q5GV0VjO5Z7B4LmQBk6cT9F8',
      'Identity-Info: <https://example.com/cert>;alg=rsa-sha1',
      'To: <sip:kumiko@example.org>',
      'From: <sip:fluffy@example.com>;tag=2fb0dcc9',
      'Call-ID: 3d9485ad0c49859b@Zmx1ZmZ5LW1hYy0xNi5sb2NhbA..',
      'CSeq: 1 MESSAGE',
      'Accept: text/plain, application/sdp, multipart/mixed',
      'Content-Type: multipart/mixed;boundary=7a9cbec02ceef655',
      'Date: Sat, 15 Oct 2005 04:44:56 GMT',
      'User-Agent: SIPimp.org/0.2.5 (curses)',
    ],
    crlf(
      '--7a9cbec02ceef655',
      'Content-Type: text/plain',
      'Content-Transfer-Encoding: binary',
      '',
      'Hello',
      '--7a9cbec02ceef655',
      'Content-Type: application/octet-stream',
      'Content-Transfer-Encoding: binary',
      '',
      ALL_BYTES,
      '--7a9cbec02ceef655--',
      '',
    ),
  ),
  // 3.1.1.12: a reason phrase in UTF-8 with characters that look like syntax
  unreason: message(
    [
      `SIP/2.0 200 = 2**3 * 5**2 ${utf8('но сто девяносто девять - простое')}`,
      'Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923',
      'Call-ID: unreason.1234ksdfak3j2erwedfsASdf',
      'CSeq: 35 INVITE',
      'From: sip:user@example.com;tag=11141343',
      'To: sip:user@example.edu;tag=2229',
      'Content-Type: application/sdp',
      'Contact: <sip:user@host198.example.com>',
    ],
    SDP,
  ),
  // 3.1.1.13: no reason phrase (the space before it is still there)
  noreason: message([
    'SIP/2.0 100 ',
    'Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe',
    'Call-ID: noreason.asndj203insdf99223ndf',
    'CSeq: 35 INVITE',
    'From: <sip:user@example.com>;tag=39ansfi3',
    'To: <sip:user@example.edu>;tag=902jndnke3',
    'Contact: <sip:user@host105.example.com>',
  ]),
};

const OPTIONS_HEAD = [
  'To: sip:user@example.com',
  'From: sip:caller@example.net;tag=1',
  'Max-Forwards: 70',
  'Call-ID: invalid.1',
  'CSeq: 1 OPTIONS',
  'Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKinvalid',
];

/**
 * Malformed messages the stack must not take: the parser returns nothing, or the message lacks a header the
 * stack needs and is dropped. `missing`: the header that the parser leaves out.
 */
export const INVALID: Readonly<Record<string, { text: string; missing?: string }>> = {
  // 3.1.2.3 scalar02: a CSeq number beyond 2**31
  scalar02: { text: message(['OPTIONS sip:user@example.com SIP/2.0', ...OPTIONS_HEAD.filter((h) => !h.startsWith('CSeq')), 'CSeq: 36893488147419103232 OPTIONS']), missing: 'cseq' },
  // 3.1.2.7 lwsruri: whitespace inside the Request-URI
  lwsruri: { text: message(['INVITE sip:user@example.com; lr SIP/2.0', ...OPTIONS_HEAD]) },
  // 3.1.2.8 lwsstart: several spaces between the parts of the request line
  lwsstart: { text: message(['INVITE  sip:user@example.com  SIP/2.0', ...OPTIONS_HEAD]) },
  // 3.1.2.24 bigcode: a status code far beyond 699
  bigcode: { text: message(['SIP/2.0 4294967301 better not break the receiver', ...OPTIONS_HEAD]) },
  // 3.3.1 insuf: no Call-ID, From, To or Max-Forwards
  insuf: { text: message(['INVITE sip:user@example.com SIP/2.0', 'CSeq: 193942 INVITE', 'Via: SIP/2.0/UDP 192.0.2.95;branch=z9hG4bKkdj.insuf', 'Content-Type: application/sdp'], SDP), missing: 'call-id' },
  // a header line without a colon (RFC 3261 7.3.1: none may be)
  nocolon: { text: message(['OPTIONS sip:user@example.com SIP/2.0', ...OPTIONS_HEAD, 'This line has no colon']) },
};

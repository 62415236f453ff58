import { expect } from 'chai';
import { seededRandom } from '../../support/random';
import { hasControlCharacter, MAX_RESPONSE_GROWTH_BYTES, scanRequest, scanToTag, statelessResponse, StatelessTags, type ScannedRequest } from '../../../worker/edge/stateless-response';

const SOURCE = { address: '192.0.2.7', port: 5062 };
const TAG = 'sl0000abcd';
const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');
const answer403 = (request: ScannedRequest, extra: Partial<Parameters<typeof statelessResponse>[1]> = {}): string | null =>
  statelessResponse(request, { status: 403, reason: 'Forbidden', toTag: TAG, source: SOURCE, ...extra })?.toString('latin1') ?? null;

const LINE = 'INVITE sip:+4930123@trunks.local SIP/2.0';
const VIA = 'Via: SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bK74bf9';
const REST = 'From: "Caller" <sip:+4930901820@carrier.test>;tag=9fxced76sl\r\nTo: <sip:+4930123@trunks.local>\r\nCall-ID: 3848276298220188511@carrier.test\r\nCSeq: 314159 INVITE';
const invite = (headers: string, body = ''): Buffer => bytes(`${LINE}\r\n${headers}\r\nContent-Length: ${body.length}\r\n\r\n${body}`);

/** The response's header lines after the status line, as `Name: value`. */
function headerLines(response: string): string[] {
  expect(response.endsWith('\r\n\r\n'), 'ends with an empty line').to.equal(true);
  return response.slice(0, -4).split('\r\n').slice(1);
}

describe('stateless response: reading the request', () => {
  const rows: { name: string; datagram: Buffer; expected: Partial<ScannedRequest> | null }[] = [
    {
      name: 'a plain INVITE',
      datagram: invite(`${VIA}\r\n${REST}`, 'v=0\r\n'),
      expected: { method: 'INVITE', vias: ['SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bK74bf9'], toTag: null, callId: '3848276298220188511@carrier.test', cseq: '314159 INVITE' },
    },
    {
      name: 'compact header names v, f, t, i, in any case (RFC 3261 section 7.3.3)',
      datagram: invite('v: SIP/2.0/UDP h1;branch=z9hG4bK1\r\nF: <sip:a@b>;tag=1\r\nt: <sip:c@d>\r\nI: compact@x\r\ncseq: 1 INVITE'),
      expected: { vias: ['SIP/2.0/UDP h1;branch=z9hG4bK1'], from: '<sip:a@b>;tag=1', to: '<sip:c@d>', callId: 'compact@x', cseq: '1 INVITE' },
    },
    {
      name: 'several Via lines and a line with two values keep their order',
      datagram: invite(`Via: SIP/2.0/UDP a;branch=z9hG4bK1\r\n${REST}\r\nv: SIP/2.0/UDP b;branch=z9hG4bK2, SIP/2.0/TCP c;branch=z9hG4bK3\r\nVia: SIP/2.0/UDP d;branch=z9hG4bK4`),
      expected: { vias: ['SIP/2.0/UDP a;branch=z9hG4bK1', 'SIP/2.0/UDP b;branch=z9hG4bK2, SIP/2.0/TCP c;branch=z9hG4bK3', 'SIP/2.0/UDP d;branch=z9hG4bK4'] },
    },
    {
      name: 'folded values are unfolded (RFC 3261 section 7.3.1)',
      datagram: invite(`Via: SIP/2.0/UDP a\r\n ;branch=z9hG4bK1\r\nFrom: <sip:a@b>\r\n\t;tag=1\r\nTo:\r\n  <sip:c@d>\r\nCall-ID: f@x\r\nCSeq: 7\r\n INVITE`),
      expected: { vias: ['SIP/2.0/UDP a ;branch=z9hG4bK1'], from: '<sip:a@b> ;tag=1', to: '<sip:c@d>', cseq: '7 INVITE' },
    },
    {
      name: 'whitespace before the colon, bare LF line ends',
      datagram: bytes(`${LINE}\nVia \t: SIP/2.0/UDP a;branch=z9hG4bK1\nFrom : <sip:a@b>;tag=1\nTo:<sip:c@d>\nCall-ID:lf@x\nCSeq:1 INVITE\n\n`),
      expected: { vias: ['SIP/2.0/UDP a;branch=z9hG4bK1'], to: '<sip:c@d>', callId: 'lf@x' },
    },
    { name: 'the first of duplicated From, To, Call-ID, CSeq wins', datagram: invite(`${VIA}\r\n${REST}\r\nCall-ID: second\r\nTo: <sip:other@x>`), expected: { callId: '3848276298220188511@carrier.test', to: '<sip:+4930123@trunks.local>' } },
    { name: 'To tag after a name-addr', datagram: invite(`${VIA}\r\n${REST.replace('To: <sip:+4930123@trunks.local>', 'To: "B;tag=no" <sip:b@x;tag=no>;TAG=yes1')}`), expected: { toTag: 'yes1' } },
    { name: 'To tag on an addr-spec', datagram: invite(`${VIA}\r\n${REST.replace('To: <sip:+4930123@trunks.local>', 'To: sip:b@x;tag=as2')}`), expected: { toTag: 'as2' } },
    { name: 'a quoted display name holding < and >', datagram: invite(`${VIA}\r\n${REST.replace('To: <sip:+4930123@trunks.local>', 'To: "a <b> \\" c" <sip:b@x>')}`), expected: { toTag: null } },
    { name: 'headers only in the body are not headers', datagram: invite('Via: SIP/2.0/UDP a;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCSeq: 1 INVITE', 'Call-ID: body@x\r\n'), expected: null },
    { name: 'no Via: dropped', datagram: invite(REST), expected: null },
    { name: 'no From: dropped', datagram: invite(`${VIA}\r\n${REST.replace(/From: [^\r]*\r\n/, '')}`), expected: null },
    { name: 'no To: dropped', datagram: invite(`${VIA}\r\n${REST.replace(/To: [^\r]*\r\n/, '')}`), expected: null },
    { name: 'no Call-ID: dropped', datagram: invite(`${VIA}\r\n${REST.replace(/Call-ID: [^\r]*\r\n/, '')}`), expected: null },
    { name: 'no CSeq: dropped', datagram: invite(`${VIA}\r\n${REST.replace(/\r\nCSeq: .*$/, '')}`), expected: null },
    { name: 'an empty Call-ID: dropped', datagram: invite(`${VIA}\r\n${REST.replace(/Call-ID: [^\r]*/, 'Call-ID:  ')}`), expected: null },
    { name: 'a CSeq of another method: dropped', datagram: invite(`${VIA}\r\n${REST.replace('314159 INVITE', '314159 BYE')}`), expected: null },
    { name: 'a NUL in a copied header: dropped', datagram: invite(`${VIA}\r\n${REST.replace('carrier.test', 'carrier\u0000test')}`), expected: null },
    { name: 'a lone CR in a copied header: dropped', datagram: invite(`${VIA}\r\n${REST.replace('carrier.test>', 'carrier\rtest>')}`), expected: null },
    { name: 'an unclosed quote in To: dropped', datagram: invite(`${VIA}\r\n${REST.replace('To: <sip:+4930123@trunks.local>', 'To: "open <sip:b@x>')}`), expected: null },
    { name: 'a response: not a request', datagram: bytes(`SIP/2.0 200 OK\r\n${VIA}\r\n${REST}\r\n\r\n`), expected: null },
    { name: 'another SIP version', datagram: bytes(`INVITE sip:a@b SIP/7.0\r\n${VIA}\r\n${REST}\r\n\r\n`), expected: null },
    { name: 'a start line with two spaces', datagram: bytes(`INVITE  sip:a@b SIP/2.0\r\n${VIA}\r\n${REST}\r\n\r\n`), expected: null },
    { name: 'empty', datagram: bytes(''), expected: null },
    { name: 'a keep-alive', datagram: bytes('\r\n\r\n'), expected: null },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const scanned = scanRequest(row.datagram);
      if (row.expected === null) expect(scanned).to.equal(null);
      else expect(scanned).to.deep.include(row.expected);
      // The edge's cheap look at the To line agrees with the full scan wherever that succeeds.
      if (scanned !== null) expect(scanToTag(row.datagram)).to.equal(scanned.toTag);
    });
  }

  const toRows: { name: string; to: string; expected: string | null | undefined }[] = [
    { name: 'no tag', to: 'To: <sip:a@b>', expected: null },
    { name: 'compact t, tag in any case', to: 't: <sip:a@b>;TAG=x1', expected: 'x1' },
    { name: 'folded before the tag', to: 'To: <sip:a@b>\r\n ;tag=f2', expected: 'f2' },
    { name: 'a tag only inside the URI', to: 'To: <sip:a@b;tag=inuri>', expected: null },
    { name: 'Timestamp and Tox are not To', to: 'Timestamp: 54\r\nTox: x;tag=no\r\nTo: <sip:a@b>;tag=yes', expected: 'yes' },
    { name: 'no To at all', to: 'Subject: hi', expected: undefined },
    { name: 'a To only in the body', to: 'Subject: hi\r\n\r\nTo: <sip:a@b>;tag=body', expected: undefined },
    { name: 'an unclosed angle bracket', to: 'To: <sip:a@b;tag=x', expected: undefined },
  ];
  for (const row of toRows) {
    it(`scanToTag: ${row.name}`, () => {
      expect(scanToTag(bytes(`${LINE}\r\n${VIA}\r\n${row.to}\r\n\r\n`))).to.equal(row.expected);
    });
  }
});

describe('stateless response: the answer', () => {
  const scan = (datagram: Buffer): ScannedRequest => {
    const scanned = scanRequest(datagram);
    if (scanned === null) throw new Error('test request did not scan');
    return scanned;
  };

  it('copies every Via in order, From, Call-ID and CSeq, adds the To tag and Content-Length 0 (RFC 3261 section 8.2.6.2)', () => {
    const response = answer403(scan(invite(`${VIA}\r\nv: SIP/2.0/UDP b;branch=z9hG4bK2, SIP/2.0/UDP c\r\n${REST}\r\nMax-Forwards: 70\r\nContact: <sip:c@192.0.2.7>`, 'v=0\r\n')));
    expect(response?.startsWith('SIP/2.0 403 Forbidden\r\n')).to.equal(true);
    expect(headerLines(response as string)).to.deep.equal([
      'Via: SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bK74bf9',
      'Via: SIP/2.0/UDP b;branch=z9hG4bK2, SIP/2.0/UDP c',
      'From: "Caller" <sip:+4930901820@carrier.test>;tag=9fxced76sl',
      `To: <sip:+4930123@trunks.local>;tag=${TAG}`,
      'Call-ID: 3848276298220188511@carrier.test',
      'CSeq: 314159 INVITE',
      'Content-Length: 0',
    ]);
  });

  it('keeps a To tag the request already has', () => {
    const response = answer403(scan(invite(`${VIA}\r\n${REST.replace('To: <sip:+4930123@trunks.local>', 'To: <sip:b@x>;tag=theirs')}`)));
    expect(headerLines(response as string)).to.include('To: <sip:b@x>;tag=theirs');
  });

  it('adds extra headers such as Retry-After', () => {
    const response = answer403(scan(invite(`${VIA}\r\n${REST}`)), { status: 503, reason: 'Service Unavailable', headers: [['Retry-After', '5']] });
    expect(response?.startsWith('SIP/2.0 503 Service Unavailable\r\n')).to.equal(true);
    expect(headerLines(response as string)).to.include('Retry-After: 5');
  });

  const vias: { name: string; via: string; expected: string | null }[] = [
    { name: 'sent-by is the source: unchanged', via: 'SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bK1', expected: 'SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bK1' },
    { name: 'sent-by is a name: received added (RFC 3261 section 18.2.1)', via: 'SIP/2.0/UDP gw.carrier.test;branch=z9hG4bK1', expected: 'SIP/2.0/UDP gw.carrier.test;branch=z9hG4bK1;received=192.0.2.7' },
    { name: 'empty rport: filled, and received added (RFC 3581 section 4)', via: 'SIP/2.0/UDP 192.0.2.7:5060;rport;branch=z9hG4bK1', expected: 'SIP/2.0/UDP 192.0.2.7:5060;rport=5062;branch=z9hG4bK1;received=192.0.2.7' },
    { name: 'a received the sender put there is replaced', via: 'SIP/2.0/UDP 10.0.0.1;received=203.0.113.9;branch=z9hG4bK1', expected: 'SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1;received=192.0.2.7' },
    { name: 'an IPv6 reference (RFC 5118)', via: 'SIP/2.0/UDP [2001:db8::10]:5060;branch=z9hG4bK1', expected: 'SIP/2.0/UDP [2001:db8::10]:5060;branch=z9hG4bK1;received=192.0.2.7' },
    { name: 'only the first value of a line is stamped', via: 'SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b;branch=z9hG4bK2', expected: 'SIP/2.0/UDP a;branch=z9hG4bK1;received=192.0.2.7, SIP/2.0/UDP b;branch=z9hG4bK2' },
    { name: 'a quoted parameter holding ; and ,', via: 'SIP/2.0/UDP a;x="1;2,3";branch=z9hG4bK1', expected: 'SIP/2.0/UDP a;x="1;2,3";branch=z9hG4bK1;received=192.0.2.7' },
    { name: 'no sent-by: no answer', via: 'SIP/2.0/UDP ;branch=z9hG4bK1', expected: null },
    { name: 'not SIP/2.0: no answer', via: 'HTTP/1.1/UDP a;branch=z9hG4bK1', expected: null },
  ];
  for (const row of vias) {
    it(`top Via: ${row.name}`, () => {
      const response = answer403(scan(invite(`Via: ${row.via}\r\n${REST}`)));
      if (row.expected === null) expect(response).to.equal(null);
      else expect(headerLines(response as string)[0]).to.equal(`Via: ${row.expected}`);
    });
  }

  it(`is never more than ${MAX_RESPONSE_GROWTH_BYTES} bytes longer than the request: no amplification`, () => {
    // Compact names and bare LFs grow by a few bytes a line once written out in full.
    const many = Array.from({ length: 400 }, (_, k) => `v:SIP/2.0/UDP h${k}`).join('\n');
    const datagram = bytes(`${LINE}\n${many}\nf:<sip:a@b>;tag=1\nt:<sip:c@d>\ni:x\nCSeq:1 INVITE\n\n`);
    expect(answer403(scan(datagram))).to.equal(null);
    const few = bytes(`${LINE}\nv:SIP/2.0/UDP h\nf:<sip:a@b>;tag=1\nt:<sip:c@d>\ni:x\nCSeq:1 INVITE\n\n`);
    const response = answer403(scan(few)) as string;
    expect(response.length).to.be.at.most(few.length + MAX_RESPONSE_GROWTH_BYTES);
  });
});

describe('stateless To tags', () => {
  it('are the same for the same Call-ID, differ between Call-IDs and seeds, and are recognised', () => {
    const tags = new StatelessTags(12345);
    expect(tags.tagFor('a@x')).to.equal(tags.tagFor('a@x')).and.match(/^sl[0-9a-f]{8}$/);
    expect(tags.tagFor('a@x')).not.to.equal(tags.tagFor('b@x'));
    expect(new StatelessTags(54321).tagFor('a@x')).not.to.equal(tags.tagFor('a@x'));
    expect(tags.isStatelessTag('a@x', tags.tagFor('a@x'))).to.equal(true);
    expect(tags.isStatelessTag('b@x', tags.tagFor('a@x'))).to.equal(false);
    expect(tags.isStatelessTag('a@x', null)).to.equal(false);
    expect(tags.isStatelessTag('a@x', 'pbx-tag-1')).to.equal(false);
  });
});


describe('stateless response: seeded fuzz', () => {
  const templates = [
    invite(`${VIA}\r\n${REST}`, 'v=0\r\no=- 1 1 IN IP4 192.0.2.7\r\n'),
    invite(`v: SIP/2.0/UDP [2001:db8::1]:5060;rport;branch=z9hG4bK1\r\nVia: SIP/2.0/UDP b, SIP/2.0/UDP c\r\n${REST}`),
    bytes(`${LINE}\nVia: SIP/2.0/UDP a\n ;branch=z9hG4bK1\nf: "x\\"y" <sip:a@b>;tag=1\nt: sip:c@d\ni: fold\n  ed\nCSeq: 1\n INVITE\n\n`),
    bytes(`ACK sip:a@b SIP/2.0\r\n${VIA}\r\n${REST.replace('314159 INVITE', '314159 ACK').replace('trunks.local>', 'trunks.local>;tag=sl01234567')}\r\n\r\n`),
  ];
  const SPECIALS = [0x00, 0x0d, 0x0a, 0x20, 0x09, 0x3a, 0x3b, 0x2c, 0x22, 0x3c, 0x3e, 0x5c, 0xff];

  function mutate(random: () => number, template: Buffer): Buffer {
    let data: Buffer = Buffer.from(template);
    const edits = 1 + Math.floor(random() * 4);
    for (let edit = 0; edit < edits; edit++) {
      const at = Math.floor(random() * Math.max(1, data.length));
      switch (Math.floor(random() * 5)) {
        case 0:
          if (data.length > 0) data[at] ^= 1 << Math.floor(random() * 8);
          break;
        case 1:
          data = data.subarray(0, at);
          break;
        case 2:
          data = Buffer.concat([data.subarray(0, at), Buffer.from([SPECIALS[Math.floor(random() * SPECIALS.length)]]), data.subarray(at)]);
          break;
        case 3: {
          // Duplicate a header line.
          const text = data.toString('latin1');
          const lines = text.split('\r\n');
          const pick = 1 + Math.floor(random() * Math.max(1, lines.length - 2));
          lines.splice(pick, 0, lines[pick] ?? '');
          data = bytes(lines.join('\r\n'));
          break;
        }
        default:
          data = Buffer.concat([data.subarray(0, at), data.subarray(Math.min(data.length, at + Math.floor(random() * 16)))]);
      }
    }
    return data;
  }

  it('20,000 mutated requests: never throws; every answer is one well-formed, bounded response', () => {
    const random = seededRandom(0x5eed_0006);
    let answered = 0;
    for (let round = 0; round < 20_000; round++) {
      const datagram = mutate(random, templates[round % templates.length]);
      let response: Buffer | null = null;
      try {
        const scanned = scanRequest(datagram);
        if (scanned !== null) response = statelessResponse(scanned, { status: 403, reason: 'Forbidden', toTag: TAG, source: SOURCE });
      } catch (error) {
        throw new Error(`round ${round} threw on ${JSON.stringify(datagram.toString('latin1'))}: ${String(error)}`);
      }
      const scanned = scanRequest(datagram);
      if (scanned !== null) expect(scanToTag(datagram), `round ${round}: ${JSON.stringify(datagram.toString('latin1'))}`).to.equal(scanned.toTag);
      if (response === null) continue;
      answered++;
      const text = response.toString('latin1');
      expect(response.length, `round ${round}`).to.be.at.most(datagram.length + MAX_RESPONSE_GROWTH_BYTES);
      expect(text.startsWith('SIP/2.0 403 Forbidden\r\n'), `round ${round}`).to.equal(true);
      const lines = headerLines(text);
      for (const line of lines) expect(hasControlCharacter(line), `round ${round}: ${JSON.stringify(line)}`).to.equal(false);
      expect(lines.filter((line) => line.startsWith('To: ')), `round ${round}`).to.have.length(1);
      expect(lines.filter((line) => line.startsWith('Via: ')).length, `round ${round}`).to.be.at.least(1);
    }
    // Most mutations leave an answerable request: the fuzz exercised the builder, not only the refusals.
    expect(answered).to.be.greaterThan(5_000);
  });
});

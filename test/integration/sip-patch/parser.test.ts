import { expect } from 'chai';
import * as sip from 'sip';
import { Fixture, HOST, rawRequest, waitFor } from './harness';

/**
 * The message parser against hostile input. Unpatched: its regular expressions backtracked quadratically on
 * runs of whitespace (one 60 KB datagram cost from 0.25 s to several seconds of CPU), and header and parameter
 * names were looked up and stored in plain objects, so `constructor` or `__proto__` broke the message, and a
 * Via parameter `;__proto__` crashed the process that received it.
 */
describe('sip patch: parser', () => {
  const HEAD = [
    'OPTIONS sip:callee@example.test SIP/2.0',
    'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKparser',
    'To: <sip:callee@example.test>',
    'From: <sip:caller@example.test>;tag=1',
    'Call-ID: parser-1',
    'CSeq: 1 OPTIONS',
  ].join('\r\n');
  const LIMIT_MS = 50;

  function timeParse(text: string): number {
    const started = process.hrtime.bigint();
    sip.parse(Buffer.from(text, 'binary'));
    return Number(process.hrtime.bigint() - started) / 1e6;
  }

  it('parses a datagram of 60 KB of leading whitespace with no blank line in linear time', () => {
    expect(timeParse(' '.repeat(60_000) + HEAD + '\r\n')).to.be.below(LIMIT_MS);
    expect(sip.parse('\r\n\r\n' + HEAD + '\r\n\r\n')).to.have.property('method', 'OPTIONS');
  });

  it('parses long runs of whitespace inside header values in linear time', () => {
    const spaces = ' '.repeat(30_000);
    const cases = {
      'a Via parameter': `${HEAD}\r\nVia: SIP/2.0/UDP h;a${spaces}x\r\n\r\n`,
      'an unclosed <': `${HEAD}\r\nContact: <sip:a@b${spaces}\r\n\r\n`,
      'an unclosed quote': `${HEAD}\r\nRecord-Route: "a${spaces}\r\n\r\n`,
      'folded whitespace': `${HEAD}\r\nVia: SIP/2.0/UDP h${'\r\n '.repeat(10_000)}\r\n\r\n`,
    };
    for (const [what, text] of Object.entries(cases)) expect(timeParse(text), what).to.be.below(LIMIT_MS);
  });

  it('skips leading whitespace and keep-alive CRLFs on a stream in linear time', () => {
    const { makeStreamParser } = sip as unknown as { makeStreamParser(onMessage: (m: sip.SipRequest) => void): (data: string) => void };
    const messages: sip.SipRequest[] = [];
    const feed = makeStreamParser((m) => messages.push(m));

    const started = process.hrtime.bigint();
    feed('\r\n\r\n');
    feed(' '.repeat(50_000));
    feed(HEAD + '\r\n');
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    feed('Content-Length: 0\r\n\r\n');

    expect(ms).to.be.below(LIMIT_MS);
    expect(messages.map((m) => m.method)).to.deep.equal(['OPTIONS']);
  });

  it("treats header names such as 'constructor', 'toString' and '__proto__' as ordinary headers", () => {
    const text = `${HEAD}\r\nConstructor: evil\r\ntoString: x\r\n__proto__: y\r\nAuthorization: Digest username="a", __proto__="z"\r\nContent-Length: 0\r\n\r\n`;

    const m = sip.parse(text) as sip.SipRequest;

    expect(Object.getPrototypeOf(m.headers)).to.equal(Object.prototype);
    expect(Object.keys(m.headers)).to.include.members(['constructor', 'tostring', '__proto__']);
    expect(m.headers.constructor).to.equal('evil');
    expect(m.headers['__proto__']).to.equal('y');
    const [authorization] = m.headers.authorization as object[];
    expect(Object.keys(authorization)).to.deep.equal(['scheme', 'username', '__proto__']);
    const again = sip.stringify(m);
    expect(again).to.include('\r\nConstructor: evil\r\n');
    expect(again).to.include('\r\nTostring: x\r\n');
    expect(again).to.include('\r\n__proto__: y\r\n');
  });

  it("keeps a parameter named '__proto__' as a parameter (Via, copies, URIs)", () => {
    const m = sip.parse(`${HEAD.replace('branch=z9hG4bKparser', 'branch=z9hG4bKparser;__proto__;constructor=1')}\r\n\r\n`) as sip.SipRequest;
    const { params } = m.headers.via[0];

    expect(Object.getPrototypeOf(params)).to.equal(Object.prototype);
    expect(Object.keys(params)).to.deep.equal(['branch', '__proto__', 'constructor']);
    expect(sip.stringify(m)).to.include(';branch=z9hG4bKparser;__proto__;constructor=1\r\n');
    expect(Object.keys(sip.copyMessage(m, true).headers.via[0].params)).to.deep.equal(['branch', '__proto__', 'constructor']);
    expect(Object.keys(sip.parseUri('sip:a@example.test;__proto__=x;lr')?.params ?? {})).to.deep.equal(['__proto__', 'lr']);
  });

  describe('on a live stack', () => {
    let fixture: Fixture;
    beforeEach(async () => {
      fixture = await Fixture.create();
    });
    afterEach(() => fixture.close());

    it("answers a request whose Via has a '__proto__' parameter (and does not crash)", async () => {
      const { port } = await fixture.answering(200, 'OK');
      const caller = await fixture.peer();

      caller.send(rawRequest('OPTIONS', `sip:callee@${HOST}:${port}`, caller.port, 'z9hG4bKproto;__proto__'), port);

      const response = await waitFor(() => caller.responses()[0], 'the 200');
      expect(response.message.headers.via[0].params).to.have.property('__proto__', null);
    });
  });
});

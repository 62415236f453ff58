import { EventEmitter } from 'node:events';
import { expect } from 'chai';
import * as sip from 'sip';
import { INVALID, VALID } from '../../support/rfc4475';
import { fuzzDatagrams, type FuzzTarget } from '../../support/sip-fuzz';

/**
 * The parser on RFC 4475's torture messages and on seeded mutations of ordinary and torture messages: what
 * parses, serialises into a message that parses into the same thing (parse(stringify(m)) deep-equals m, the
 * Content-Length being the one stringify writes from the body), and what is malformed is refused or dropped,
 * never thrown. Guards the patch's parser work (header lines scanned instead of matched by a regular expression,
 * header names looked up in a bounded cache and no longer %-decoded: RFC 4475 3.1.1.5 says C%6Fntact is no
 * Contact).
 */
function parse(text: string): sip.SipMessage | undefined {
  return sip.parse(Buffer.from(text, 'binary'));
}

/** parse(stringify(m)) for a parsed `m`; stringify sets m's Content-Length from its body first. */
function roundTrip(message: sip.SipMessage): sip.SipMessage | undefined {
  return parse(sip.stringify(message));
}

describe('sip patch: RFC 4475 torture messages and parser round trips', () => {
  describe('valid messages (3.1.1)', () => {
    for (const [name, text] of Object.entries(VALID)) {
      it(`${name}: parses, and parse(stringify(m)) equals m`, () => {
        const message = parse(text);
        expect(message, 'parsed').to.not.equal(undefined);
        const again = roundTrip(message as sip.SipMessage);
        expect(again).to.deep.equal(message);
      });
    }

    it('wsinv: takes folded lines, odd whitespace, compact forms and escaped quotes', () => {
      const m = parse(VALID.wsinv) as sip.SipRequest;
      expect(m.headers.to).to.deep.equal({ name: undefined, uri: 'sip:vivekg@chair-dnrc.example.com', params: { tag: '1918181833n' } });
      expect(m.headers.from).to.deep.include({ name: '"J Rosenberg \\\\\\""', uri: 'sip:jdrosen@example.com' });
      expect(m.headers.from.params).to.deep.equal({ tag: '98asjd8' });
      expect(m.headers.cseq).to.deep.equal({ seq: 9, method: 'INVITE' });
      expect(m.headers.via.map((via) => [via.protocol, via.host, via.params.branch])).to.deep.equal([
        ['UDP', '192.0.2.2', '390skdjuw'],
        ['TCP', 'spindle.example.com', 'z9hG4bK9ikj8'],
        ['UDP', '192.168.255.111', 'z9hG4bK30239'],
      ]);
      expect(m.headers.subject).to.equal('');
      expect(m.headers.newfangledheader).to.equal('newfangled value\r\n continued newfangled value');
      expect(m.headers.unknownheaderwithunusualvalue).to.equal(';;,,;;,;');
      expect(m.headers.contact).to.deep.equal([{ name: '"Quoted string \\"\\""', uri: 'sip:jdrosen@example.com', params: { newparam: 'newvalue', secondparam: null, q: '0.33' } }]);
      expect(m.content).to.have.length(m.headers['content-length'] as number);
    });

    it('intmeth: takes every token character in the method and control characters in a quoted string', () => {
      const m = parse(VALID.intmeth) as sip.SipRequest;
      expect(m.method).to.equal("!interesting-Method0123456789_*+`.%indeed'~");
      expect(m.headers.cseq.method).to.equal(m.method);
      expect(m.headers.to.name).to.equal('"BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f"');
      expect(m.headers.from.name).to.equal("token1~` token2'+_ token3*%!.-");
      expect(m.headers.from.params.tag).to.equal("_token~1'+`*%!-.");
      expect(m.headers["extensionheader-!.%*+_`'~"]).to.equal('\xef\xbb\xbf\xe5\xa4\xa7\xe5\x81\x9c\xe9\x9b\xbb');
    });

    it('esc01, escnull, esc02: keeps escapes as they are, and takes a %-escaped header name as another header', () => {
      const esc01 = parse(VALID.esc01) as sip.SipRequest;
      expect(esc01.uri).to.equal('sip:sips%3Auser%40example.com@example.net');
      expect(esc01.headers['content-type']).to.equal('application/sdp');
      expect((esc01.headers.contact as sip.NameAddr[])[0].uri).to.equal('sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31');
      const escnull = parse(VALID.escnull) as sip.SipRequest;
      expect((escnull.headers.contact as sip.NameAddr[]).map((c) => c.uri)).to.deep.equal(['sip:%00@host5.example.com', 'sip:%00%00@host5.example.com']);
      const esc02 = parse(VALID.esc02) as sip.SipRequest;
      expect(esc02.method).to.equal('RE%47IST%45R');
      expect(esc02.headers.via[0].params).to.deep.equal({ rport: null, branch: 'z9hG4bK209%fzsnel234' });
      expect((esc02.headers.contact as sip.NameAddr[]).map((c) => c.uri)).to.deep.equal(['sip:alias1@host1.example.com', 'sip:alias3@host3.example.com']);
      expect(esc02.headers['c%6fntact']).to.equal('<sip:alias2@host2.example.com>');
    });

    it('lwsdisp, longreq, semiuri, transports: display names, long values, odd URIs and transports', () => {
      expect((parse(VALID.lwsdisp) as sip.SipRequest).headers.from.name).to.equal('caller');
      const longreq = parse(VALID.longreq) as sip.SipRequest;
      expect(longreq.headers.via).to.have.length(10);
      expect(longreq.headers['record-route']).to.have.length(2);
      expect(longreq.headers.from.params.tag).to.have.length(155);
      expect((parse(VALID.semiuri) as sip.SipRequest).uri).to.equal('sip:user;par=u%40example.net@example.com');
      expect((parse(VALID.semiuri) as sip.SipRequest).headers.accept).to.match(/^application\/sdp, .*message\/sipfrag$/s);
      expect((parse(VALID.transports) as sip.SipRequest).headers.via.map((via) => via.protocol)).to.deep.equal(['UDP', 'SCTP', 'TLS', 'UNKNOWN', 'TCP']);
    });

    it('dblreq: takes the first message of a datagram and not what follows its Content-Length', () => {
      const m = parse(VALID.dblreq) as sip.SipRequest;
      expect(m.method).to.equal('REGISTER');
      expect(m.content).to.equal('');
    });

    it('mpart01: keeps a binary multipart body byte for byte', () => {
      const m = parse(VALID.mpart01) as sip.SipRequest;
      const body = VALID.mpart01.slice(VALID.mpart01.indexOf('\r\n\r\n') + 4);
      expect(m.content).to.equal(body);
      expect(Buffer.from(sip.stringify(m), 'binary').subarray(-body.length).equals(Buffer.from(body, 'binary'))).to.equal(true);
    });

    it('unreason, noreason: a UTF-8 reason phrase, and none', () => {
      expect(parse(VALID.unreason)).to.include({ status: 200, reason: '= 2**3 * 5**2 \xd0\xbd\xd0\xbe \xd1\x81\xd1\x82\xd0\xbe \xd0\xb4\xd0\xb5\xd0\xb2\xd1\x8f\xd0\xbd\xd0\xbe\xd1\x81\xd1\x82\xd0\xbe \xd0\xb4\xd0\xb5\xd0\xb2\xd1\x8f\xd1\x82\xd1\x8c - \xd0\xbf\xd1\x80\xd0\xbe\xd1\x81\xd1\x82\xd0\xbe\xd0\xb5' });
      expect(parse(VALID.noreason)).to.include({ status: 100, reason: '' });
    });
  });

  describe('invalid messages (3.1.2, 3.3.1)', () => {
    for (const [name, { text, missing }] of Object.entries(INVALID)) {
      it(`${name}: ${missing === undefined ? 'does not parse' : `parses without ${missing}`}, and throws nothing`, () => {
        const m = parse(text);
        if (missing === undefined) expect(m).to.equal(undefined);
        else expect(m?.headers).to.not.have.property(missing);
      });
    }

    it('are dropped by a stack, each reported once, none reaching the application', async () => {
      const socket = new (class extends EventEmitter {
        send(): void {}
        close(): void {}
      })();
      const dropped: string[] = [];
      const received: sip.SipRequest[] = [];
      const stack = sip.create({ address: '192.0.2.1', port: 5060, tcp: false, udpSocket: socket, onMessageDropped: (reason) => dropped.push(reason) }, (rq) => received.push(rq));
      try {
        for (const { text } of Object.values(INVALID)) socket.emit('message', Buffer.from(text, 'binary'), { address: '192.0.2.9', port: 5060 });
        await new Promise((resolve) => setImmediate(resolve));
      } finally {
        stack.destroy();
      }
      expect(received).to.deep.equal([]);
      expect(dropped).to.have.length(Object.keys(INVALID).length);
    });
  });

  describe('seeded mutations', () => {
    const target: FuzzTarget = { host: '192.0.2.1', port: 5060, did: '+4930901820', unknownDid: '+4930000000', viaPort: 5070 };
    const SEED = 0x4475_0001;
    const COUNT = 10_000;

    it(`parse(stringify(m)) equals m for every one of ${COUNT} mutated datagrams that parses`, function () {
      this.timeout(30_000);
      let parsed = 0;
      const failures: string[] = [];
      for (const { data, template } of fuzzDatagrams(SEED, COUNT, target)) {
        const message = sip.parse(data);
        if (message === undefined) continue;
        parsed++;
        try {
          expect(roundTrip(message)).to.deep.equal(message);
        } catch (error) {
          if (failures.length < 3) failures.push(`template ${template}: ${(error as Error).message.slice(0, 1500)}\n${data.toString('binary').slice(0, 1500)}`);
        }
      }
      expect(failures, failures.join('\n=====\n')).to.deep.equal([]);
      expect(parsed).to.be.above(COUNT / 4);
    });
  });
});

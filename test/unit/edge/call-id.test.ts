import { expect } from 'chai';
import { MAX_CALL_ID_LENGTH, scanCallId } from '../../../worker/edge/call-id';

const bytes = (text: string): Uint8Array => Buffer.from(text, 'latin1');
const INVITE = 'INVITE sip:+4930123@trunks.local SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n';

describe('scanCallId', () => {
  const rows: { name: string; text: string; expected: string | null }[] = [
    { name: 'full form', text: `${INVITE}Call-ID: a84b4c76e66710@pc33\r\nCSeq: 1 INVITE\r\n\r\n`, expected: 'a84b4c76e66710@pc33' },
    { name: 'compact form i', text: `${INVITE}i: abc@host\r\n\r\n`, expected: 'abc@host' },
    { name: 'compact form, upper case I', text: `${INVITE}I:abc\r\n\r\n`, expected: 'abc' },
    { name: 'name in any case', text: `${INVITE}cALL-iD: MiXeD\r\n\r\n`, expected: 'MiXeD' },
    { name: 'value keeps its case', text: `${INVITE}CALL-ID: AbC@Host.Example\r\n\r\n`, expected: 'AbC@Host.Example' },
    { name: 'no space after the colon', text: `${INVITE}Call-ID:x1\r\n\r\n`, expected: 'x1' },
    { name: 'whitespace before the colon', text: `${INVITE}Call-ID \t: x2\r\n\r\n`, expected: 'x2' },
    { name: 'tabs and trailing whitespace trimmed', text: `${INVITE}Call-ID:\t x3 \t\r\n\r\n`, expected: 'x3' },
    { name: 'value folded onto the next line (RFC 3261 7.3.1)', text: `${INVITE}Call-ID:\r\n   folded@host\r\n\r\n`, expected: 'folded@host' },
    { name: 'first header line, bare LF line ends', text: 'Call-ID: lf-only\nCSeq: 1 BYE\n\n', expected: 'lf-only' },
    { name: 'last line without a line end', text: `${INVITE}Call-ID: at-end`, expected: 'at-end' },
    { name: 'response', text: 'SIP/2.0 180 Ringing\r\nTo: <sip:a@b>;tag=1\r\ni: resp@x\r\n\r\n', expected: 'resp@x' },
    { name: 'first of two Call-ID headers', text: `${INVITE}Call-ID: one\r\nCall-ID: two\r\n\r\n`, expected: 'one' },
    { name: 'In-Reply-To is not the compact form', text: `${INVITE}In-Reply-To: other@x\r\nCall-ID: real\r\n\r\n`, expected: 'real' },
    { name: 'a header merely containing call-id', text: `${INVITE}X-Call-ID: no\r\nCall-IDs: no\r\nCall-ID: yes\r\n\r\n`, expected: 'yes' },
    { name: 'a CR where the dash should be', text: `${INVITE}Call\rID: no\r\n\r\n`, expected: null },
    { name: 'Call-ID only in the body, after the blank line', text: `${INVITE}Content-Type: text/plain\r\n\r\nCall-ID: in-body\r\n`, expected: null },
    { name: 'compact form only in the body', text: `${INVITE}\r\ni: in-body\r\n`, expected: null },
    { name: 'absent', text: `${INVITE}CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n`, expected: null },
    { name: 'empty value', text: `${INVITE}Call-ID:   \r\n\r\n`, expected: null },
    { name: 'empty datagram', text: '', expected: null },
    { name: 'CRLF keep-alive (RFC 5626 4.4.1)', text: '\r\n\r\n', expected: null },
    { name: 'name cut short at the end', text: `${INVITE}Call-I`, expected: null },
    { name: 'colon at the very end', text: `${INVITE}Call-ID:`, expected: null },
    { name: 'bytes above 0x7f map one to one', text: `${INVITE}Call-ID: caf\u00e9\u00ff\r\n\r\n`, expected: 'caf\u00e9\u00ff' },
  ];
  for (const row of rows) {
    it(row.name, () => {
      expect(scanCallId(bytes(row.text))).to.equal(row.expected);
    });
  }

  it('a value longer than MAX_CALL_ID_LENGTH counts as absent', () => {
    expect(scanCallId(bytes(`${INVITE}Call-ID: ${'a'.repeat(MAX_CALL_ID_LENGTH + 1)}\r\n\r\n`))).to.equal(null);
    expect(scanCallId(bytes(`${INVITE}Call-ID: ${'a'.repeat(MAX_CALL_ID_LENGTH)}\r\n\r\n`))).to.have.length(MAX_CALL_ID_LENGTH);
  });

  it('reads a view into a larger buffer only within the view', () => {
    const whole = bytes(`garbage\r\n${INVITE}Call-ID: inside\r\n\r\n`);
    expect(scanCallId(whole.subarray(9))).to.equal('inside');
    expect(scanCallId(whole.subarray(9, 9 + INVITE.length + 12))).to.equal('ins');
  });
});

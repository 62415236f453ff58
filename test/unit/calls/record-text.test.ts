import { expect } from 'chai';
import { seededRandom } from '../../support/random';
import { MAX_RECORD_TEXT, recordText } from '../../../worker/calls/record-text';

describe('call record text: control characters escaped, long values cut', () => {
  const rows: { name: string; value: string; max?: number; expected: string }[] = [
    { name: 'plain text unchanged', value: '+442079460001', expected: '+442079460001' },
    { name: 'a decoded %00 (RFC 4475 escnull)', value: 'null-\u0000-null', expected: 'null-%00-null' },
    { name: 'C0, DEL and C1 controls', value: 'a\u0001\t\r\n\u007f\u0085b', expected: 'a%01%09%0D%0A%7F%C2%85b' },
    { name: 'other Unicode kept', value: 'Zoë 電話 😀', expected: 'Zoë 電話 😀' },
    { name: 'at the limit: kept whole', value: 'x'.repeat(10), max: 10, expected: 'x'.repeat(10) },
    { name: 'one past the limit: cut with a mark', value: 'x'.repeat(11), max: 10, expected: `${'x'.repeat(9)}…` },
    { name: 'the cut never splits a surrogate pair', value: `${'x'.repeat(8)}😀😀`, max: 10, expected: `${'x'.repeat(8)}…` },
    { name: 'escapes count towards the limit', value: '\u0000'.repeat(5), max: 10, expected: '%00%00%00…' },
  ];
  for (const row of rows) {
    it(row.name, () => expect(recordText(row.value, row.max)).to.equal(row.expected));
  }

  it('never lets a control character, a lone surrogate or an over-long value through (seeded fuzz)', () => {
    const random = seededRandom(0x5eed);
    const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
    // eslint-disable-next-line no-control-regex
    const control = /[\u0000-\u001f\u007f-\u009f]/;
    for (let round = 0; round < 2000; round++) {
      const length = Math.floor(random() * 400);
      const codePoints: number[] = [];
      for (let i = 0; i < length; i++) {
        const pick = random();
        // Controls, the BMP outside the surrogates, and astral code points (surrogate pairs in a string).
        codePoints.push(pick < 0.3 ? Math.floor(random() * 0xa0) : pick < 0.7 ? 0xe000 + Math.floor(random() * 0x2000) : 0x10000 + Math.floor(random() * 0x10000));
      }
      const value = String.fromCodePoint(...codePoints);
      const text = recordText(value);
      expect(text.length).to.be.at.most(MAX_RECORD_TEXT);
      expect(control.test(text), JSON.stringify(value)).to.equal(false);
      expect(loneSurrogate.test(text), JSON.stringify(value)).to.equal(false);
    }
  });
});

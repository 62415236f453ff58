import { expect } from 'chai';
import { boundMessage } from '../../../api/format-error';
import { checkName } from '../../../api/names';
import { MAX_QUOTED_CHARS, quoteInput } from '../../../domain/quote-input';

describe('echoed input is bounded', () => {
  const cases: [string, string, string][] = [
    ['a short value, quoted', 'abc', '"abc"'],
    ['exactly the limit', 'a'.repeat(MAX_QUOTED_CHARS), `"${'a'.repeat(MAX_QUOTED_CHARS)}"`],
    ['one past the limit', 'a'.repeat(MAX_QUOTED_CHARS + 1), `"${'a'.repeat(MAX_QUOTED_CHARS)}…"`],
    ['a megabyte', 'b'.repeat(1_000_000), `"${'b'.repeat(MAX_QUOTED_CHARS)}…"`],
    ['control characters, escaped', 'a\u0000b\nc', '"a\\u0000b\\nc"'],
    ['a surrogate pair at the cut, dropped whole', `${'a'.repeat(MAX_QUOTED_CHARS - 1)}\u{1f600}tail`, `"${'a'.repeat(MAX_QUOTED_CHARS - 1)}…"`],
  ];
  for (const [name, input, quoted] of cases) it(`quoteInput: ${name}`, () => expect(quoteInput(input)).to.equal(quoted));

  it('boundMessage cuts the long values graphql-js quotes in full, and leaves the rest', () => {
    const long = 'x'.repeat(1_000_000);
    const message = `Variable "$input" got invalid value "${long}" at "input.digestAlgorithms[0]"; Value "${long}" does not exist in "DigestAlgorithm" enum.`;
    const cut = `"${'x'.repeat(MAX_QUOTED_CHARS)}…"`;
    expect(boundMessage(message)).to.equal(`Variable "$input" got invalid value ${cut} at "input.digestAlgorithms[0]"; Value ${cut} does not exist in "DigestAlgorithm" enum.`);
    const escaped = `Variable "$x" got invalid value "${'\\"'.repeat(100)}"; Expected type "Int".`;
    expect(boundMessage(escaped)).to.equal(`Variable "$x" got invalid value "${'\\"'.repeat(MAX_QUOTED_CHARS)}…"; Expected type "Int".`);
    expect(boundMessage('Cannot query field "sipPassword" on type "Trunk".')).to.equal('Cannot query field "sipPassword" on type "Trunk".');
  });
});

describe('checkName', () => {
  const refused = ['\u0000', '\u0001', '\t', '\n', '\r', '\u001b', '\u001f', '\u007f', '\u0080', '\u0085', '\u009f'];
  for (const control of refused) {
    it(`refuses U+${control.charCodeAt(0).toString(16).padStart(4, '0')}, naming the field and not the value`, () => {
      expect(() => checkName(`PBX${control}secret-value`)).to.throw('name: must not contain control characters');
      try {
        checkName(`PBX${control}secret-value`);
      } catch (error) {
        expect(JSON.stringify((error as { extensions: unknown }).extensions)).not.to.include('secret-value');
      }
    });
  }
  const accepted: [string, string][] = [
    ['  Zürich PBX  ', 'Zürich PBX'],
    ['\u00a0non-breaking\u00a0', 'non-breaking'],
    ['emoji \u{1f4de}', 'emoji \u{1f4de}'],
    ['\u202eright-to-left', '\u202eright-to-left'],
  ];
  for (const [input, output] of accepted) it(`accepts ${JSON.stringify(input)}`, () => expect(checkName(input)).to.equal(output));
  it('refuses a blank name and leaves a missing one out', () => {
    expect(() => checkName('   ')).to.throw('name: must not be blank');
    expect(checkName(null)).to.equal(undefined);
    expect(checkName(undefined)).to.equal(undefined);
  });
});

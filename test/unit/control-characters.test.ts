import { expect } from 'chai';
import { hasControlCharacter } from '../../domain/control-characters';

describe('control characters: C0, DEL and C1, nothing else', () => {
  const control = ['\u0000', '\t', '\n', '\u001b', '\u001f', '\u007f', '\u0080', '\u0085', '\u009f'];
  const clean = [' ', '~', '\u00a0', 'é', '\u200e', '\u202e', '😀', ''];
  for (const character of control) {
    it(`U+${character.charCodeAt(0).toString(16).padStart(4, '0')} is one`, () => expect(hasControlCharacter(`a${character}b`)).to.equal(true));
  }
  for (const character of clean) {
    it(`${JSON.stringify(character)} is not`, () => expect(hasControlCharacter(`a${character}b`)).to.equal(false));
  }
});

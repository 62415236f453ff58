import { expect } from 'chai';
import {
  MAX_CALLER_NUMBERS,
  MAX_CALLER_PREFIXES,
  callerMatchProblems,
  callerToE164,
  countryOfNumber,
  isAnonymousCaller,
  matchesCaller,
  normaliseCallerMatch,
  withholdsIdentity,
  type CallerFacts,
  type CallerMatch,
  type CallerMatchDraft,
} from '../../domain/caller-match';
import { seededRandom } from '../support/random';

const berlinDesk = '+4930901820';
const numbersAndPrefixes: CallerMatch = { numbers: [berlinDesk], prefixes: ['+4930', '+44'], anonymous: false };
const anonymousOnly: CallerMatch = { numbers: [], prefixes: [], anonymous: true };
const exactOnly: CallerMatch = { numbers: [berlinDesk], prefixes: [], anonymous: false };

describe('matchesCaller', () => {
  const rows: { name: string; settings: CallerMatch; user: string | null; facts?: CallerFacts; expected: boolean }[] = [
    // Exact numbers.
    { name: 'the exact number', settings: exactOnly, user: '+4930901820', expected: true },
    { name: 'one digit more is another number', settings: exactOnly, user: '+49309018201', expected: false },
    { name: 'one digit less is another number', settings: exactOnly, user: '+493090182', expected: false },
    { name: 'the exact number without +', settings: exactOnly, user: '4930901820', expected: true },
    { name: 'the exact number with 00', settings: exactOnly, user: '004930901820', expected: true },
    { name: 'the exact number with separators', settings: exactOnly, user: '+49 (30) 901-820', expected: true },
    { name: 'the exact number with a user parameter', settings: exactOnly, user: '+4930901820;npdi;rn=+4930000', expected: true },
    // National forms need the country of the dialled number.
    { name: 'national form in Germany', settings: exactOnly, user: '030901820', facts: { country: 'DE' }, expected: true },
    { name: 'national form with separators', settings: exactOnly, user: '030 90 18 20', facts: { country: 'DE' }, expected: true },
    { name: 'national form without a country', settings: exactOnly, user: '030901820', expected: false },
    { name: 'national form read in another country', settings: exactOnly, user: '030901820', facts: { country: 'GB' }, expected: false },
    { name: 'national form with an unknown country', settings: exactOnly, user: '030901820', facts: { country: 'XX' }, expected: false },
    { name: 'national UK form matches a +44 prefix', settings: numbersAndPrefixes, user: '020 7946 0000', facts: { country: 'GB' }, expected: true },
    { name: 'an international caller while the country is set', settings: numbersAndPrefixes, user: '00442079460000', facts: { country: 'DE' }, expected: true },
    // Prefixes.
    { name: 'a Berlin number by prefix', settings: numbersAndPrefixes, user: '+493012345678', expected: true },
    { name: 'a UK number by prefix', settings: numbersAndPrefixes, user: '+442079460000', expected: true },
    { name: 'a Munich number matches neither', settings: numbersAndPrefixes, user: '+49891234567', expected: false },
    { name: 'a prefix is not matched inside the number', settings: { numbers: [], prefixes: ['+30'], anonymous: false }, user: '+4930901820', expected: false },
    { name: 'a prefix equal to the whole number', settings: { numbers: [], prefixes: ['+4930901820'], anonymous: false }, user: '+4930901820', expected: true },
    { name: 'a one-digit prefix (+1, the NANP)', settings: { numbers: [], prefixes: ['+1'], anonymous: false }, user: '+12125550100', expected: true },
    // Anonymous callers.
    { name: 'no user part', settings: anonymousOnly, user: null, expected: true },
    { name: 'an empty user part', settings: anonymousOnly, user: '', expected: true },
    { name: 'a blank user part', settings: anonymousOnly, user: '  ', expected: true },
    { name: 'anonymous (RFC 3323)', settings: anonymousOnly, user: 'anonymous', expected: true },
    { name: 'Anonymous', settings: anonymousOnly, user: 'Anonymous', expected: true },
    { name: 'ANONYMOUS with a parameter', settings: anonymousOnly, user: 'ANONYMOUS;x=1', expected: true },
    { name: 'unknown', settings: anonymousOnly, user: 'unknown', expected: true },
    { name: 'Restricted', settings: anonymousOnly, user: 'Restricted', expected: true },
    { name: 'private', settings: anonymousOnly, user: 'private', expected: true },
    { name: 'Unavailable', settings: anonymousOnly, user: 'Unavailable', expected: true },
    { name: 'withheld', settings: anonymousOnly, user: 'withheld', expected: true },
    { name: 'a number with Privacy: id (RFC 3325)', settings: anonymousOnly, user: '+4930901820', facts: { privacy: 'id' }, expected: true },
    { name: 'a number with Privacy: user; critical', settings: anonymousOnly, user: '+4930901820', facts: { privacy: 'user; critical' }, expected: true },
    { name: 'a number with Privacy: Header', settings: anonymousOnly, user: '+4930901820', facts: { privacy: 'Header' }, expected: true },
    { name: 'a withheld number is not matched as a number', settings: exactOnly, user: '+4930901820', facts: { privacy: 'id' }, expected: false },
    { name: 'Privacy: none leaves the number', settings: exactOnly, user: '+4930901820', facts: { privacy: 'none' }, expected: true },
    { name: 'Privacy: session leaves the number', settings: exactOnly, user: '+4930901820', facts: { privacy: 'session' }, expected: true },
    { name: 'a known number is not anonymous', settings: anonymousOnly, user: '+4930901820', expected: false },
    { name: 'an anonymous caller with anonymous off', settings: numbersAndPrefixes, user: 'anonymous', expected: false },
    { name: 'no user part with anonymous off', settings: numbersAndPrefixes, user: null, expected: false },
    // Neither a number nor anonymous.
    { name: 'a name', settings: { ...numbersAndPrefixes, anonymous: true }, user: 'alice', expected: false },
    { name: 'too short to be a number', settings: { numbers: [], prefixes: ['+4'], anonymous: false }, user: '+4930', expected: false },
    { name: 'too long to be a number', settings: { numbers: [], prefixes: ['+4'], anonymous: false }, user: '+4930901820123456', expected: false },
    { name: 'a long user part', settings: { numbers: [], prefixes: ['+4'], anonymous: true }, user: `+49${'1'.repeat(10_000)}`, expected: false },
    { name: 'letters inside digits', settings: numbersAndPrefixes, user: '+4930abc901820', expected: false },
    { name: 'a +0 number', settings: { numbers: [], prefixes: ['+4'], anonymous: false }, user: '+04930901820', expected: false },
  ];
  for (const row of rows) {
    it(`${row.name}: ${JSON.stringify(row.user).slice(0, 40)} ${row.facts === undefined ? '' : JSON.stringify(row.facts)} -> ${row.expected}`, () => {
      expect(matchesCaller(row.settings, row.user, row.facts)).to.equal(row.expected);
    });
  }

  it('anonymous callers are told apart from identified ones', () => {
    expect(isAnonymousCaller('anonymous')).to.equal(true);
    expect(isAnonymousCaller('+4930901820')).to.equal(false);
    expect(isAnonymousCaller('+4930901820', { privacy: 'id' })).to.equal(true);
    expect(withholdsIdentity(undefined)).to.equal(false);
    expect(withholdsIdentity('session;none')).to.equal(false);
    expect(withholdsIdentity(' ID ')).to.equal(true);
  });

  it('reads the country of the dialled number, for national caller forms', () => {
    expect(countryOfNumber('+4930901820')).to.equal('DE');
    expect(countryOfNumber('+442079460000')).to.equal('GB');
    expect(countryOfNumber('nonsense')).to.equal(null);
    expect(callerToE164('0612345678', countryOfNumber('+33140000000'))).to.equal('+33612345678');
  });

  it('never throws on random user parts, privacy values and countries (seeded fuzz)', () => {
    const seed = 0x7c411e5;
    const random = seededRandom(seed);
    const pieces = ['+', '00', '0', '4930901820', '44', '1', '9', ';', ' ', '-', '(', ')', '.', 'anonymous', 'Unknown', 'id', 'user', '%', '\u0000', '\ud800', 'é', '\r\n', ','];
    const pick = (): string => pieces[Math.floor(random() * pieces.length)];
    const text = (): string => Array.from({ length: Math.floor(random() * 12) }, pick).join('');
    const countries = [null, undefined, 'DE', 'GB', 'US', 'XX', '', 'de'];
    for (let i = 0; i < 3000; i += 1) {
      const user = random() < 0.1 ? null : text();
      const facts: CallerFacts = { privacy: random() < 0.5 ? null : text(), country: countries[Math.floor(random() * countries.length)] };
      const settings: CallerMatch = { numbers: [berlinDesk], prefixes: ['+44', '+1'], anonymous: random() < 0.5 };
      let result: unknown;
      expect(() => (result = matchesCaller(settings, user, facts)), `seed ${seed} case ${i}: ${JSON.stringify([user, facts])}`).not.to.throw();
      expect(result).to.be.a('boolean');
      // A match on a number implies the caller read as that number.
      if (result === true && !settings.anonymous) {
        const number = callerToE164(user, facts.country);
        expect(number, JSON.stringify(user)).to.be.a('string');
        expect(number === berlinDesk || number!.startsWith('+44') || number!.startsWith('+1')).to.equal(true);
      }
    }
  });
});

describe('callerMatchProblems', () => {
  const at = 'steps[1].callerCondition';
  const ukNumber = (i: number): string => `+44207946${String(i).padStart(4, '0')}`;
  const rows: { name: string; draft: CallerMatchDraft; problems: string[] }[] = [
    { name: 'numbers, prefixes and anonymous', draft: { numbers: [berlinDesk], prefixes: ['+4930', '+44'], anonymous: true }, problems: [] },
    { name: 'only a number', draft: { numbers: ['+44 20 7946 0000'] }, problems: [] },
    { name: 'only a prefix', draft: { prefixes: ['+1'] }, problems: [] },
    { name: 'only anonymous', draft: { anonymous: true }, problems: [] },
    { name: 'nothing', draft: {}, problems: [`${at}: name at least one number or prefix, or match anonymous callers`] },
    { name: 'empty lists, anonymous false', draft: { numbers: [], prefixes: [], anonymous: false }, problems: [`${at}: name at least one number or prefix, or match anonymous callers`] },
    { name: 'nulls', draft: { numbers: null, prefixes: null, anonymous: null }, problems: [`${at}: name at least one number or prefix, or match anonymous callers`] },
    { name: `${MAX_CALLER_NUMBERS} numbers`, draft: { numbers: Array.from({ length: MAX_CALLER_NUMBERS }, (_, i) => ukNumber(i)) }, problems: [] },
    { name: `${MAX_CALLER_NUMBERS + 1} numbers`, draft: { numbers: Array.from({ length: MAX_CALLER_NUMBERS + 1 }, (_, i) => ukNumber(i)) }, problems: [`${at}.numbers: at most ${MAX_CALLER_NUMBERS} numbers`] },
    { name: `${MAX_CALLER_PREFIXES} prefixes`, draft: { prefixes: Array.from({ length: MAX_CALLER_PREFIXES }, (_, i) => `+${i + 1}`) }, problems: [] },
    { name: `${MAX_CALLER_PREFIXES + 1} prefixes`, draft: { prefixes: Array.from({ length: MAX_CALLER_PREFIXES + 1 }, (_, i) => `+${i + 1}`) }, problems: [`${at}.prefixes: at most ${MAX_CALLER_PREFIXES} prefixes`] },
    { name: 'a national number', draft: { numbers: ['030 901820'] }, problems: [`${at}.numbers[0]: "030 901820" is not an E.164 number (+ and country code)`] },
    { name: 'an invalid number', draft: { numbers: ['+44 20'] }, problems: [`${at}.numbers[0]: "+44 20" is not an E.164 number (+ and country code)`] },
    { name: 'a prefix of 15 digits', draft: { prefixes: ['+123456789012345'] }, problems: [] },
    { name: 'a prefix of 16 digits', draft: { prefixes: ['+1234567890123456'] }, problems: [`${at}.prefixes[0]: "+1234567890123456" is not + and 1..15 digits starting with a country code`] },
    { name: 'a prefix with separators', draft: { prefixes: ['+49 30'] }, problems: [] },
    { name: 'a bare +', draft: { prefixes: ['+'] }, problems: [`${at}.prefixes[0]: "+" is not + and 1..15 digits starting with a country code`] },
    { name: 'a prefix without +', draft: { prefixes: ['4930'] }, problems: [`${at}.prefixes[0]: "4930" is not + and 1..15 digits starting with a country code`] },
    { name: 'a prefix starting +0', draft: { prefixes: ['+049'] }, problems: [`${at}.prefixes[0]: "+049" is not + and 1..15 digits starting with a country code`] },
    {
      name: 'every problem, not just the first',
      draft: { numbers: ['x', berlinDesk, 'y'], prefixes: ['+4a'] },
      problems: [
        `${at}.numbers[0]: "x" is not an E.164 number (+ and country code)`,
        `${at}.numbers[2]: "y" is not an E.164 number (+ and country code)`,
        `${at}.prefixes[0]: "+4a" is not + and 1..15 digits starting with a country code`,
      ],
    },
  ];
  for (const row of rows) {
    it(`${row.name}: ${row.problems.length === 0 ? 'accepted' : row.problems.join('; ').slice(0, 120)}`, () => {
      expect(callerMatchProblems(row.draft, at)).to.deep.equal(row.problems);
    });
  }

  it('never echoes long input whole', () => {
    const long = '+'.padEnd(100_000, '4');
    const problems = callerMatchProblems({ numbers: [long], prefixes: [long] }, at);
    expect(problems).to.have.length(2);
    for (const problem of problems) expect(problem.length).to.be.below(200);
  });
});

describe('normaliseCallerMatch', () => {
  it('writes numbers in E.164 and prefixes bare, each once, in the given order', () => {
    expect(normaliseCallerMatch({ numbers: ['+44 20 7946 0000', berlinDesk, '+442079460000'], prefixes: ['+49 30', '+1', '+4930'], anonymous: null })).to.deep.equal({
      numbers: ['+442079460000', berlinDesk],
      prefixes: ['+4930', '+1'],
      anonymous: false,
    });
  });

  it('gives empty lists when none were sent', () => {
    expect(normaliseCallerMatch({ anonymous: true })).to.deep.equal({ numbers: [], prefixes: [], anonymous: true });
  });
});

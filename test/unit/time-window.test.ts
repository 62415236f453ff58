import { expect } from 'chai';
import {
  MAX_HOLIDAY_RANGES,
  MAX_TIME_WINDOW_RULES,
  matchesTimeWindow,
  normaliseTimeWindow,
  timeWindowProblems,
  type HolidayRange,
  type TimeWindow,
  type TimeWindowDraft,
  type TimeWindowRule,
  type Weekday,
} from '../../domain/time-window';
import { seededRandom } from '../support/random';

const BERLIN = 'Europe/Berlin';
const NEW_YORK = 'America/New_York';
const WEEKDAYS_MON_FRI: Weekday[] = ['MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY'];

function rule(weekdays: Weekday[], from: string, to: string): TimeWindowRule {
  return { weekdays, from, to };
}

function window(rules: readonly TimeWindowRule[], holidays: HolidayRange[] = []): TimeWindow {
  return { rules, holidays };
}

const officeHours = window([rule(WEEKDAYS_MON_FRI, '08:00', '18:00')]);
const fridayNight = window([rule(['FRIDAY'], '22:00', '06:00')]);

// Instants are written with their UTC offset (or in UTC around DST changes), so the expected
// local time is stated independently of the library under test.
describe('matchesTimeWindow', () => {
  const rows: { name: string; settings: TimeWindow; zone: string; at: string; expected: boolean }[] = [
    // Rule boundaries: from inclusive, to exclusive.
    { name: 'one minute before from', settings: officeHours, zone: BERLIN, at: '2026-03-27T07:59:00+01:00', expected: false },
    { name: 'at from', settings: officeHours, zone: BERLIN, at: '2026-03-27T08:00:00+01:00', expected: true },
    { name: 'one second before from', settings: officeHours, zone: BERLIN, at: '2026-03-27T07:59:59+01:00', expected: false },
    { name: 'one minute before to', settings: officeHours, zone: BERLIN, at: '2026-03-27T17:59:00+01:00', expected: true },
    { name: 'the last second before to', settings: officeHours, zone: BERLIN, at: '2026-03-27T17:59:59.999+01:00', expected: true },
    { name: 'at to', settings: officeHours, zone: BERLIN, at: '2026-03-27T18:00:00+01:00', expected: false },
    { name: 'a weekday not named (Saturday)', settings: officeHours, zone: BERLIN, at: '2026-03-28T12:00:00+01:00', expected: false },
    // The same instant is a different local time in each zone.
    { name: 'New York 08:00 on a Friday', settings: officeHours, zone: NEW_YORK, at: '2026-03-27T08:00:00-04:00', expected: true },
    { name: 'Berlin 13:00 is New York 08:00: Berlin matches', settings: officeHours, zone: BERLIN, at: '2026-03-27T12:00:00Z', expected: true },
    { name: 'Berlin 07:00 is New York 02:00: neither', settings: officeHours, zone: NEW_YORK, at: '2026-03-27T06:00:00Z', expected: false },
    { name: 'UTC as a zone', settings: officeHours, zone: 'UTC', at: '2026-03-27T08:00:00Z', expected: true },
    // Midnight.
    { name: 'whole day 00:00-24:00 at its first minute', settings: window([rule(['MONDAY'], '00:00', '24:00')]), zone: BERLIN, at: '2026-03-23T00:00:00+01:00', expected: true },
    { name: 'whole day at its last minute', settings: window([rule(['MONDAY'], '00:00', '24:00')]), zone: BERLIN, at: '2026-03-23T23:59:00+01:00', expected: true },
    { name: 'whole Monday: Sunday 23:59 is outside', settings: window([rule(['MONDAY'], '00:00', '24:00')]), zone: BERLIN, at: '2026-03-22T23:59:00+01:00', expected: false },
    { name: 'whole Monday: Tuesday 00:00 is outside', settings: window([rule(['MONDAY'], '00:00', '24:00')]), zone: BERLIN, at: '2026-03-24T00:00:00+01:00', expected: false },
    { name: 'to 00:00 ends at midnight (Monday 23:59)', settings: window([rule(['MONDAY'], '18:00', '00:00')]), zone: BERLIN, at: '2026-03-23T23:59:00+01:00', expected: true },
    { name: 'to 00:00 does not reach into Tuesday', settings: window([rule(['MONDAY'], '18:00', '00:00')]), zone: BERLIN, at: '2026-03-24T00:00:00+01:00', expected: false },
    // Overnight rules belong to the weekday they start on.
    { name: 'overnight: Friday 22:00', settings: fridayNight, zone: BERLIN, at: '2026-03-27T22:00:00+01:00', expected: true },
    { name: 'overnight: Friday 21:59', settings: fridayNight, zone: BERLIN, at: '2026-03-27T21:59:00+01:00', expected: false },
    { name: 'overnight: Saturday 00:00', settings: fridayNight, zone: BERLIN, at: '2026-03-28T00:00:00+01:00', expected: true },
    { name: 'overnight: Saturday 05:59', settings: fridayNight, zone: BERLIN, at: '2026-03-28T05:59:00+01:00', expected: true },
    { name: 'overnight: Saturday 06:00', settings: fridayNight, zone: BERLIN, at: '2026-03-28T06:00:00+01:00', expected: false },
    { name: 'overnight: Friday 05:00 is Thursday night, not named', settings: fridayNight, zone: BERLIN, at: '2026-03-27T05:00:00+01:00', expected: false },
    { name: 'overnight: Saturday 23:00 is not named', settings: fridayNight, zone: BERLIN, at: '2026-03-28T23:00:00+01:00', expected: false },
    { name: 'overnight from Sunday reaches Monday (week wraps)', settings: window([rule(['SUNDAY'], '22:00', '02:00')]), zone: NEW_YORK, at: '2026-03-23T01:59:00-04:00', expected: true },
    // Spring forward, Berlin 2026-03-29: 02:00 CET becomes 03:00 CEST at 01:00Z.
    { name: 'Berlin spring: 02:00-03:00 does not exist, last minute before', settings: window([rule(['SUNDAY'], '02:00', '03:00')]), zone: BERLIN, at: '2026-03-29T00:59:00Z', expected: false },
    { name: 'Berlin spring: 02:00-03:00 does not exist, first minute after', settings: window([rule(['SUNDAY'], '02:00', '03:00')]), zone: BERLIN, at: '2026-03-29T01:00:00Z', expected: false },
    { name: 'Berlin spring: 01:00-04:00 covers 01:59 CET', settings: window([rule(['SUNDAY'], '01:00', '04:00')]), zone: BERLIN, at: '2026-03-29T00:59:00Z', expected: true },
    { name: 'Berlin spring: 01:00-04:00 covers 03:59 CEST', settings: window([rule(['SUNDAY'], '01:00', '04:00')]), zone: BERLIN, at: '2026-03-29T01:59:00Z', expected: true },
    { name: 'Berlin spring: 01:00-04:00 ends at 04:00 CEST', settings: window([rule(['SUNDAY'], '01:00', '04:00')]), zone: BERLIN, at: '2026-03-29T02:00:00Z', expected: false },
    { name: 'Berlin spring: overnight Saturday rule ends at 06:00 CEST', settings: window([rule(['SATURDAY'], '22:00', '06:00')]), zone: BERLIN, at: '2026-03-29T03:59:00Z', expected: true },
    { name: 'Berlin spring: overnight Saturday rule, 06:00 CEST', settings: window([rule(['SATURDAY'], '22:00', '06:00')]), zone: BERLIN, at: '2026-03-29T04:00:00Z', expected: false },
    // Fall back, Berlin 2026-10-25: 03:00 CEST becomes 02:00 CET at 01:00Z; 02:xx happens twice.
    { name: 'Berlin autumn: 02:30 CEST (first time)', settings: window([rule(['SUNDAY'], '02:00', '03:00')]), zone: BERLIN, at: '2026-10-25T00:30:00Z', expected: true },
    { name: 'Berlin autumn: 02:30 CET (second time)', settings: window([rule(['SUNDAY'], '02:00', '03:00')]), zone: BERLIN, at: '2026-10-25T01:30:00Z', expected: true },
    { name: 'Berlin autumn: 01:59 CEST', settings: window([rule(['SUNDAY'], '02:00', '03:00')]), zone: BERLIN, at: '2026-10-24T23:59:00Z', expected: false },
    { name: 'Berlin autumn: 03:00 CET', settings: window([rule(['SUNDAY'], '02:00', '03:00')]), zone: BERLIN, at: '2026-10-25T02:00:00Z', expected: false },
    { name: 'Berlin autumn: office hours on the Monday after', settings: officeHours, zone: BERLIN, at: '2026-10-26T07:00:00Z', expected: true },
    { name: 'Berlin autumn: Monday 07:59 CET', settings: officeHours, zone: BERLIN, at: '2026-10-26T06:59:00Z', expected: false },
    // Spring forward, New York 2026-03-08: 02:00 EST becomes 03:00 EDT at 07:00Z.
    { name: 'New York spring: 02:00-03:00 does not exist (01:59 EST)', settings: window([rule(['SUNDAY'], '02:00', '03:00')]), zone: NEW_YORK, at: '2026-03-08T06:59:00Z', expected: false },
    { name: 'New York spring: 02:00-03:00 does not exist (03:00 EDT)', settings: window([rule(['SUNDAY'], '02:00', '03:00')]), zone: NEW_YORK, at: '2026-03-08T07:00:00Z', expected: false },
    { name: 'New York spring: 03:00-04:00 starts at 07:00Z', settings: window([rule(['SUNDAY'], '03:00', '04:00')]), zone: NEW_YORK, at: '2026-03-08T07:00:00Z', expected: true },
    // Fall back, New York 2026-11-01: 02:00 EDT becomes 01:00 EST at 06:00Z; 01:xx happens twice.
    { name: 'New York autumn: 01:30 EDT (first time)', settings: window([rule(['SUNDAY'], '01:00', '02:00')]), zone: NEW_YORK, at: '2026-11-01T05:30:00Z', expected: true },
    { name: 'New York autumn: 01:30 EST (second time)', settings: window([rule(['SUNDAY'], '01:00', '02:00')]), zone: NEW_YORK, at: '2026-11-01T06:30:00Z', expected: true },
    { name: 'New York autumn: 02:00 EST', settings: window([rule(['SUNDAY'], '01:00', '02:00')]), zone: NEW_YORK, at: '2026-11-01T07:00:00Z', expected: false },
    // Holidays: local date of the call, both ends inclusive.
    { name: 'a single-day holiday', settings: window(officeHours.rules, [{ from: '2026-05-01', to: '2026-05-01' }]), zone: BERLIN, at: '2026-05-01T10:00:00+02:00', expected: false },
    { name: 'the day after a single-day holiday', settings: window([rule(['SATURDAY'], '10:00', '12:00')], [{ from: '2026-05-01', to: '2026-05-01' }]), zone: BERLIN, at: '2026-05-02T10:00:00+02:00', expected: true },
    { name: 'a holiday is judged on the local date (Berlin 00:30 is 22:30Z the day before)', settings: window([rule(['FRIDAY'], '00:00', '24:00')], [{ from: '2026-05-01', to: '2026-05-01' }]), zone: BERLIN, at: '2026-04-30T22:30:00Z', expected: false },
    { name: 'the same instant in New York is still 30 April', settings: window([rule(['THURSDAY'], '00:00', '24:00')], [{ from: '2026-05-01', to: '2026-05-01' }]), zone: NEW_YORK, at: '2026-04-30T22:30:00Z', expected: true },
    { name: 'a range: first day', settings: window(officeHours.rules, [{ from: '2026-12-24', to: '2027-01-01' }]), zone: BERLIN, at: '2026-12-24T09:00:00+01:00', expected: false },
    { name: 'a range across the year end: 31 December', settings: window(officeHours.rules, [{ from: '2026-12-24', to: '2027-01-01' }]), zone: BERLIN, at: '2026-12-31T09:00:00+01:00', expected: false },
    { name: 'a range across the year end: last day', settings: window(officeHours.rules, [{ from: '2026-12-24', to: '2027-01-01' }]), zone: NEW_YORK, at: '2027-01-01T17:59:00-05:00', expected: false },
    { name: 'a range: the day before', settings: window(officeHours.rules, [{ from: '2026-12-24', to: '2027-01-01' }]), zone: BERLIN, at: '2026-12-23T09:00:00+01:00', expected: true },
    { name: 'a range: the day after', settings: window(officeHours.rules, [{ from: '2026-12-24', to: '2027-01-01' }]), zone: NEW_YORK, at: '2027-01-04T09:00:00-05:00', expected: true },
    { name: 'overnight into a holiday: the evening before still matches', settings: window([rule(['THURSDAY'], '22:00', '06:00')], [{ from: '2027-01-01', to: '2027-01-01' }]), zone: BERLIN, at: '2026-12-31T23:30:00+01:00', expected: true },
    { name: 'overnight into a holiday: the morning on the holiday does not', settings: window([rule(['THURSDAY'], '22:00', '06:00')], [{ from: '2027-01-01', to: '2027-01-01' }]), zone: BERLIN, at: '2027-01-01T05:59:00+01:00', expected: false },
    { name: 'several rules: the second matches', settings: window([rule(['MONDAY'], '08:00', '12:00'), rule(['MONDAY'], '13:00', '17:00')]), zone: BERLIN, at: '2026-03-23T13:00:00+01:00', expected: true },
    { name: 'several rules: the lunch gap', settings: window([rule(['MONDAY'], '08:00', '12:00'), rule(['MONDAY'], '13:00', '17:00')]), zone: BERLIN, at: '2026-03-23T12:30:00+01:00', expected: false },
  ];
  for (const row of rows) {
    it(`${row.name} (${row.zone} ${row.at}) -> ${row.expected}`, () => {
      expect(matchesTimeWindow(row.settings, row.zone, Date.parse(row.at))).to.equal(row.expected);
      expect(matchesTimeWindow(row.settings, row.zone, new Date(row.at))).to.equal(row.expected);
    });
  }

  it('matches nothing in a time zone luxon does not know, or at an instant that is not a number', () => {
    const always = window([rule(['MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY', 'SUNDAY'], '00:00', '24:00')]);
    expect(matchesTimeWindow(always, 'UTC', 0)).to.equal(true);
    expect(matchesTimeWindow(always, 'Mars/Olympus_Mons', 0)).to.equal(false);
    expect(matchesTimeWindow(always, 'UTC', Number.NaN)).to.equal(false);
    expect(matchesTimeWindow(always, 'UTC', new Date('not a date'))).to.equal(false);
  });
});

describe('timeWindowProblems', () => {
  const at = 'steps[0].timeCondition';
  const good = { weekdays: ['MONDAY'], from: '08:00', to: '18:00' };
  const day = (i: number): string => new Date(Date.UTC(2026, 0, 1 + i)).toISOString().slice(0, 10);
  const rows: { name: string; draft: TimeWindowDraft; problems: string[] }[] = [
    { name: 'one rule, holidays absent', draft: { rules: [good] }, problems: [] },
    { name: 'holidays null', draft: { rules: [good], holidays: null }, problems: [] },
    { name: `${MAX_TIME_WINDOW_RULES} rules`, draft: { rules: Array(MAX_TIME_WINDOW_RULES).fill(good) }, problems: [] },
    { name: `${MAX_TIME_WINDOW_RULES + 1} rules`, draft: { rules: Array(MAX_TIME_WINDOW_RULES + 1).fill(good) }, problems: [`${at}.rules: at most ${MAX_TIME_WINDOW_RULES} rules`] },
    { name: 'no rules', draft: { rules: [] }, problems: [`${at}.rules: name at least one rule`] },
    { name: 'rules null', draft: { rules: null }, problems: [`${at}.rules: name at least one rule`] },
    { name: 'all seven weekdays', draft: { rules: [{ ...good, weekdays: ['SUNDAY', 'MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY'] }] }, problems: [] },
    { name: 'eight weekdays', draft: { rules: [{ ...good, weekdays: ['MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY', 'SUNDAY', 'MONDAY'] }] }, problems: [`${at}.rules[0].weekdays: at most 7 weekdays`] },
    { name: 'a weekday twice', draft: { rules: [{ ...good, weekdays: ['MONDAY', 'MONDAY'] }] }, problems: [`${at}.rules[0].weekdays[1]: MONDAY is given twice`] },
    { name: 'no weekday', draft: { rules: [{ ...good, weekdays: [] }] }, problems: [`${at}.rules[0].weekdays: name at least one weekday`] },
    {
      name: 'a weekday spelt otherwise',
      draft: { rules: [{ ...good, weekdays: ['Monday'] }] },
      problems: [`${at}.rules[0].weekdays[0]: "Monday" is not one of MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY, SATURDAY, SUNDAY`],
    },
    { name: 'from 00:00 to 24:00 (a whole day)', draft: { rules: [{ ...good, from: '00:00', to: '24:00' }] }, problems: [] },
    { name: 'from 23:59', draft: { rules: [{ ...good, from: '23:59', to: '24:00' }] }, problems: [] },
    { name: 'to 00:00 (midnight)', draft: { rules: [{ ...good, from: '18:00', to: '00:00' }] }, problems: [] },
    { name: 'to earlier than from (overnight)', draft: { rules: [{ ...good, from: '22:00', to: '06:00' }] }, problems: [] },
    { name: 'from 24:00', draft: { rules: [{ ...good, from: '24:00', to: '06:00' }] }, problems: [`${at}.rules[0].from: "24:00" is not a time HH:MM from 00:00 to 23:59`] },
    { name: 'to 24:01', draft: { rules: [{ ...good, to: '24:01' }] }, problems: [`${at}.rules[0].to: "24:01" is not a time HH:MM from 00:00 to 24:00`] },
    { name: 'from 7:00 (one digit)', draft: { rules: [{ ...good, from: '7:00' }] }, problems: [`${at}.rules[0].from: "7:00" is not a time HH:MM from 00:00 to 23:59`] },
    { name: 'to 12:60', draft: { rules: [{ ...good, to: '12:60' }] }, problems: [`${at}.rules[0].to: "12:60" is not a time HH:MM from 00:00 to 24:00`] },
    { name: 'from equal to to', draft: { rules: [{ ...good, from: '08:00', to: '08:00' }] }, problems: [`${at}.rules[0]: from and to are the same time; write a whole day as 00:00-24:00`] },
    { name: 'from 00:00 to 00:00', draft: { rules: [{ ...good, from: '00:00', to: '00:00' }] }, problems: [`${at}.rules[0]: from and to are the same time; write a whole day as 00:00-24:00`] },
    { name: 'a single-day holiday', draft: { rules: [good], holidays: [{ from: '2026-12-25', to: '2026-12-25' }] }, problems: [] },
    { name: 'a holiday across the year end', draft: { rules: [good], holidays: [{ from: '2026-12-24', to: '2027-01-06' }] }, problems: [] },
    { name: '29 February in a leap year', draft: { rules: [good], holidays: [{ from: '2028-02-29', to: '2028-02-29' }] }, problems: [] },
    {
      name: `${MAX_HOLIDAY_RANGES} holidays`,
      draft: { rules: [good], holidays: Array.from({ length: MAX_HOLIDAY_RANGES }, (_, i) => ({ from: day(i), to: day(i) })) },
      problems: [],
    },
    {
      name: `${MAX_HOLIDAY_RANGES + 1} holidays`,
      draft: { rules: [good], holidays: Array.from({ length: MAX_HOLIDAY_RANGES + 1 }, (_, i) => ({ from: day(i), to: day(i) })) },
      problems: [`${at}.holidays: at most ${MAX_HOLIDAY_RANGES} ranges`],
    },
    { name: '29 February in a common year', draft: { rules: [good], holidays: [{ from: '2026-02-29', to: '2026-03-01' }] }, problems: [`${at}.holidays[0].from: "2026-02-29" is not a date YYYY-MM-DD`] },
    { name: 'month 13', draft: { rules: [good], holidays: [{ from: '2026-01-01', to: '2026-13-01' }] }, problems: [`${at}.holidays[0].to: "2026-13-01" is not a date YYYY-MM-DD`] },
    { name: 'an ISO week date', draft: { rules: [good], holidays: [{ from: '2026-W01-1', to: '2026-01-02' }] }, problems: [`${at}.holidays[0].from: "2026-W01-1" is not a date YYYY-MM-DD`] },
    { name: 'a date with a time', draft: { rules: [good], holidays: [{ from: '2026-01-01T00:00', to: '2026-01-02' }] }, problems: [`${at}.holidays[0].from: "2026-01-01T00:00" is not a date YYYY-MM-DD`] },
    { name: 'from after to', draft: { rules: [good], holidays: [{ from: '2026-12-26', to: '2026-12-25' }] }, problems: [`${at}.holidays[0]: from is after to`] },
    {
      name: 'every problem, not just the first',
      draft: { rules: [{ weekdays: [], from: 'x', to: '08:00' }], holidays: [{ from: 'y', to: '2026-01-01' }] },
      problems: [
        `${at}.rules[0].weekdays: name at least one weekday`,
        `${at}.rules[0].from: "x" is not a time HH:MM from 00:00 to 23:59`,
        `${at}.holidays[0].from: "y" is not a date YYYY-MM-DD`,
      ],
    },
  ];
  for (const row of rows) {
    it(`${row.name}: ${row.problems.length === 0 ? 'accepted' : row.problems.join('; ').slice(0, 120)}`, () => {
      expect(timeWindowProblems(row.draft, at)).to.deep.equal(row.problems);
    });
  }

  it('never echoes long input whole', () => {
    const long = 'A'.repeat(100_000);
    const problems = timeWindowProblems({ rules: [{ weekdays: [long], from: long, to: long }], holidays: [{ from: long, to: long }] }, at);
    expect(problems).to.have.length(5);
    for (const problem of problems) expect(problem.length).to.be.below(200);
  });
});

describe('time windows on random input (seeded fuzz)', () => {
  it('validation never throws and names a field; what it accepts normalises and evaluates without throwing', () => {
    const seed = 0x71e3;
    const random = seededRandom(seed);
    const pieces = ['0', '1', '2', '3', '4', '5', '9', ':', '-', 'W', 'T', ' ', 'MONDAY', 'FRIDAY', 'SUNDAY', 'monday', '24:00', '00:00', '23:59', '2026-12-31', '2027-02-29', '\u0000', 'é'];
    const pick = (): string => pieces[Math.floor(random() * pieces.length)];
    const text = (): string => Array.from({ length: Math.floor(random() * 4) }, pick).join('');
    // Mostly well-formed values, so that the evaluation is reached too; garbage the rest of the time.
    const often = (good: string[]): string => (random() < 0.85 ? good[Math.floor(random() * good.length)] : text());
    const times = ['00:00', '02:00', '02:30', '03:00', '08:00', '22:00', '23:59', '24:00'];
    const dates = ['2026-03-29', '2026-10-25', '2026-12-31', '2027-01-01'];
    const list = <T>(max: number, make: () => T): T[] => Array.from({ length: Math.floor(random() * (max + 1)) }, make);
    const zones = [BERLIN, NEW_YORK, 'UTC', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'Nowhere/Special'];
    let accepted = 0;
    for (let i = 0; i < 2000; i += 1) {
      const draft: TimeWindowDraft = {
        rules: list(3, () => ({ weekdays: list(3, () => often(['MONDAY', 'SATURDAY', 'SUNDAY'])), from: often(times), to: often(times) })),
        holidays: random() < 0.3 ? null : list(3, () => ({ from: often(dates), to: often(dates) })),
      };
      const context = `seed ${seed} case ${i}: ${JSON.stringify(draft)}`;
      const problems = timeWindowProblems(draft, 'w');
      for (const problem of problems) expect(problem.startsWith('w'), context).to.equal(true);
      if (problems.length > 0) continue;
      accepted += 1;
      const settings = normaliseTimeWindow(draft);
      const instant = Date.UTC(2026, 0, 1) + Math.floor(random() * 2 * 365 * 24 * 60) * 60_000;
      expect(matchesTimeWindow(settings, zones[Math.floor(random() * zones.length)], instant), context).to.be.a('boolean');
    }
    // The generator must also reach the evaluation, or the second half proves nothing.
    expect(accepted).to.be.above(20);
  });
});

describe('normaliseTimeWindow', () => {
  it('orders weekdays in week order, writes a midnight end as 24:00 and keeps everything else', () => {
    const draft: TimeWindowDraft = {
      rules: [
        { weekdays: ['SUNDAY', 'FRIDAY', 'MONDAY'], from: '18:00', to: '00:00' },
        { weekdays: ['SATURDAY'], from: '22:00', to: '06:00' },
      ],
      holidays: [{ from: '2026-12-24', to: '2027-01-01' }],
    };
    expect(normaliseTimeWindow(draft)).to.deep.equal({
      rules: [
        { weekdays: ['MONDAY', 'FRIDAY', 'SUNDAY'], from: '18:00', to: '24:00' },
        { weekdays: ['SATURDAY'], from: '22:00', to: '06:00' },
      ],
      holidays: [{ from: '2026-12-24', to: '2027-01-01' }],
    });
  });

  it('gives an empty holiday list when none were sent', () => {
    expect(normaliseTimeWindow({ rules: [{ weekdays: ['MONDAY'], from: '08:00', to: '18:00' }], holidays: null }).holidays).to.deep.equal([]);
  });

  it('matches the same instants before and after normalising (to 00:00 and 24:00 agree)', () => {
    const draft = { rules: [{ weekdays: ['MONDAY'], from: '18:00', to: '00:00' }] };
    const raw = draft as unknown as TimeWindow;
    const normal = normaliseTimeWindow(draft);
    for (const at of ['2026-03-23T17:59:00+01:00', '2026-03-23T18:00:00+01:00', '2026-03-23T23:59:00+01:00', '2026-03-24T00:00:00+01:00']) {
      expect(matchesTimeWindow({ ...raw, holidays: [] }, BERLIN, Date.parse(at)), at).to.equal(matchesTimeWindow(normal, BERLIN, Date.parse(at)));
    }
  });
});

import { DateTime } from 'luxon';
import { quoteInput } from './quote-input';

/**
 * The settings of a TIME_CONDITION step and their evaluation: weekly opening hours and holiday
 * ranges, read on the wall clock of the company's time zone. Pure: the instant is passed in.
 *
 * Decisions (see docs/decisions.md, "Time windows"):
 * - A rule is a wall-clock interval: `from` inclusive, `to` exclusive, minute resolution.
 * - `to` earlier than `from` runs past midnight and belongs to the weekday it starts on:
 *   FRIDAY 22:00-06:00 covers Friday 22:00-23:59 and Saturday 00:00-05:59.
 * - `to` may be 24:00 (the end of the day); a `to` of 00:00 means the same and is stored as 24:00.
 *   `from` equal to `to` is refused: a whole day is written 00:00-24:00, one form per meaning.
 * - Across DST changes the wall clock decides: a rule inside the hour skipped in spring matches
 *   nothing that day, and the hour repeated in autumn matches both times it occurs.
 * - Holidays are judged on the local date of the call, also for the morning part of an
 *   overnight rule: FRIDAY 22:00-06:00 with a holiday on Saturday does not match Saturday 01:00.
 * - A time zone luxon does not know, or an instant that is not a finite number, matches nothing.
 */

export const WEEKDAYS = ['MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY', 'SUNDAY'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface TimeWindowRule {
  readonly weekdays: readonly Weekday[];
  /** `HH:MM`, 00:00..23:59. */
  readonly from: string;
  /** `HH:MM`, 00:01..24:00; earlier than `from` when the rule runs past midnight. */
  readonly to: string;
}

/** Local dates `YYYY-MM-DD`, both ends inclusive. */
export interface HolidayRange {
  readonly from: string;
  readonly to: string;
}

export interface TimeWindow {
  readonly rules: readonly TimeWindowRule[];
  readonly holidays: readonly HolidayRange[];
}

/** Settings as a client sends them: weekday names not yet checked, holidays optional. */
export interface TimeWindowDraft {
  readonly rules?: readonly { readonly weekdays: readonly string[]; readonly from: string; readonly to: string }[] | null;
  readonly holidays?: readonly { readonly from: string; readonly to: string }[] | null;
}

/** Bounds that keep one step's settings small enough to check on every call. */
export const MAX_TIME_WINDOW_RULES = 50;
/** A year of single days, or a few decades of ranges. */
export const MAX_HOLIDAY_RANGES = 366;

const MINUTES_PER_DAY = 24 * 60;
const CLOCK_TIME = /^([01][0-9]|2[0-3]):([0-5][0-9])$/;
const LOCAL_DATE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/;

/** Minutes since local midnight for `HH:MM` (24:00 gives 1440), or null when malformed. */
function minuteOfDay(clock: string): number | null {
  if (clock === '24:00') return MINUTES_PER_DAY;
  const match = CLOCK_TIME.exec(clock);
  return match === null ? null : Number(match[1]) * 60 + Number(match[2]);
}

/** 00:00 as an end is midnight at the end of the day, the same as 24:00. */
function endMinute(clock: string): number | null {
  const minute = minuteOfDay(clock);
  return minute === 0 ? MINUTES_PER_DAY : minute;
}

function isLocalDate(value: string): boolean {
  // The regex first: luxon would also accept ISO week and ordinal dates.
  return LOCAL_DATE.test(value) && DateTime.fromISO(value, { zone: 'UTC' }).isValid;
}

function isWeekday(value: string): value is Weekday {
  return (WEEKDAYS as readonly string[]).includes(value);
}

function ruleProblems(rule: NonNullable<TimeWindowDraft['rules']>[number], at: string): string[] {
  const problems: string[] = [];
  if (rule.weekdays.length === 0) problems.push(`${at}.weekdays: name at least one weekday`);
  if (rule.weekdays.length > WEEKDAYS.length) {
    problems.push(`${at}.weekdays: at most ${WEEKDAYS.length} weekdays`);
  } else {
    rule.weekdays.forEach((day, i) => {
      if (!isWeekday(day)) problems.push(`${at}.weekdays[${i}]: ${quoteInput(day)} is not one of ${WEEKDAYS.join(', ')}`);
      else if (rule.weekdays.indexOf(day) < i) problems.push(`${at}.weekdays[${i}]: ${day} is given twice`);
    });
  }
  // 24:00 only ends a day; as a start it would name the next day's 00:00.
  const from = rule.from === '24:00' ? null : minuteOfDay(rule.from);
  const to = minuteOfDay(rule.to);
  if (from === null) problems.push(`${at}.from: ${quoteInput(rule.from)} is not a time HH:MM from 00:00 to 23:59`);
  if (to === null) problems.push(`${at}.to: ${quoteInput(rule.to)} is not a time HH:MM from 00:00 to 24:00`);
  if (from !== null && from === to) problems.push(`${at}: from and to are the same time; write a whole day as 00:00-24:00`);
  return problems;
}

/**
 * Every problem in a draft, each naming its field path under `at` (e.g. `steps[2].timeCondition`)
 * and the rule it breaks. Input values are quoted and cut (quoteInput), never echoed whole.
 */
export function timeWindowProblems(draft: TimeWindowDraft, at: string): string[] {
  const problems: string[] = [];
  const rules = draft.rules ?? [];
  const holidays = draft.holidays ?? [];
  // No rule would mean no call ever matches: a configuration mistake, not a useful condition.
  if (rules.length === 0) problems.push(`${at}.rules: name at least one rule`);
  if (rules.length > MAX_TIME_WINDOW_RULES) {
    problems.push(`${at}.rules: at most ${MAX_TIME_WINDOW_RULES} rules`);
  } else {
    rules.forEach((rule, i) => problems.push(...ruleProblems(rule, `${at}.rules[${i}]`)));
  }
  if (holidays.length > MAX_HOLIDAY_RANGES) {
    problems.push(`${at}.holidays: at most ${MAX_HOLIDAY_RANGES} ranges`);
    return problems;
  }
  holidays.forEach((range, i) => {
    const fromOk = isLocalDate(range.from);
    const toOk = isLocalDate(range.to);
    if (!fromOk) problems.push(`${at}.holidays[${i}].from: ${quoteInput(range.from)} is not a date YYYY-MM-DD`);
    if (!toOk) problems.push(`${at}.holidays[${i}].to: ${quoteInput(range.to)} is not a date YYYY-MM-DD`);
    // Same-length ISO dates order as strings.
    if (fromOk && toOk && range.from > range.to) problems.push(`${at}.holidays[${i}]: from is after to`);
  });
  return problems;
}

/**
 * The stored form of a draft that timeWindowProblems accepted: weekdays once each in week order,
 * an end of 00:00 written 24:00, holidays as given. Rules and holidays keep the client's order.
 */
export function normaliseTimeWindow(draft: TimeWindowDraft): TimeWindow {
  return {
    rules: (draft.rules ?? []).map((rule) => ({
      weekdays: WEEKDAYS.filter((day) => rule.weekdays.includes(day)),
      from: rule.from,
      to: rule.to === '00:00' ? '24:00' : rule.to,
    })),
    holidays: (draft.holidays ?? []).map((range) => ({ from: range.from, to: range.to })),
  };
}

/** The weekday before, for the morning part of a rule that started the evening before. */
function previousWeekday(day: Weekday): Weekday {
  return WEEKDAYS[(WEEKDAYS.indexOf(day) + WEEKDAYS.length - 1) % WEEKDAYS.length];
}

function ruleCovers(rule: TimeWindowRule, day: Weekday, minute: number): boolean {
  const from = minuteOfDay(rule.from);
  const to = endMinute(rule.to);
  if (from === null || to === null) return false;
  if (from < to) return rule.weekdays.includes(day) && minute >= from && minute < to;
  // Past midnight: the evening part on its own weekday, the morning part on the next day.
  return (rule.weekdays.includes(day) && minute >= from) || (rule.weekdays.includes(previousWeekday(day)) && minute < to);
}

/**
 * True when `instant`, read on the wall clock of `timeZone` (IANA), falls in a rule and its local
 * date in no holiday range.
 */
export function matchesTimeWindow(settings: TimeWindow, timeZone: string, instant: Date | number): boolean {
  const millis = typeof instant === 'number' ? instant : instant.getTime();
  if (!Number.isFinite(millis)) return false;
  const local = DateTime.fromMillis(millis, { zone: timeZone });
  if (!local.isValid) return false;
  const date = local.toISODate();
  if (date === null || settings.holidays.some((range) => range.from <= date && date <= range.to)) return false;
  const day = WEEKDAYS[local.weekday - 1];
  const minute = local.hour * 60 + local.minute;
  return settings.rules.some((rule) => ruleCovers(rule, day, minute));
}

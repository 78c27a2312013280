/**
 * Date arithmetic on calendar dates (`YYYY-MM-DD`, proleptic Gregorian, no time zones): add days,
 * days between two dates, day of the week. Days are counted in UTC so daylight-saving changes never
 * shift a result.
 */
import { z } from 'zod';
import { defineTool, ToolError } from '../api.js';

const DAY_MS = 86_400_000;
const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] as const;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Days since 1970-01-01 of an ISO date. Throws `ToolError` for malformed or impossible dates (2023-02-30). */
export function parseDate(text: string): number {
  const m = ISO_DATE.exec(text.trim());
  if (!m) throw new ToolError(`date ${JSON.stringify(text)} is not in YYYY-MM-DD form`);
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(y, mo - 1, d);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) {
    throw new ToolError(`date ${JSON.stringify(text)} does not exist`);
  }
  return Math.round(ms / DAY_MS);
}

/** ISO date of a day number (days since 1970-01-01). */
export function formatDate(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** `date` plus `days` (negative goes back). */
export const addDays = (date: string, days: number): string => formatDate(parseDate(date) + days);
/** Whole days from `start` to `end` (negative when `end` is earlier). */
export const daysBetween = (start: string, end: string): number => parseDate(end) - parseDate(start);
/** English weekday name of `date`. */
export const dayOfWeek = (date: string): string => WEEKDAYS[(((parseDate(date) + 4) % 7) + 7) % 7]!;

const isoDate = z.string().describe('A calendar date in YYYY-MM-DD form, e.g. "2024-03-01".');

/** `add_days`. */
export const addDaysTool = defineTool({
  name: 'add_days',
  description: 'Add a number of days to a date (negative to go back). Returns the date as YYYY-MM-DD.',
  schema: z.object({
    date: isoDate,
    days: z.int().min(-1_000_000).max(1_000_000).describe('Days to add; negative goes back.'),
  }),
  run: ({ date, days }) => addDays(date, days),
});

/** `days_between`. */
export const daysBetweenTool = defineTool({
  name: 'days_between',
  description:
    'Count the days from a start date to an end date. Returns an integer (negative if end is earlier).',
  schema: z.object({ start: isoDate, end: isoDate }),
  run: ({ start, end }) => daysBetween(start, end),
});

/** `day_of_week`. */
export const dayOfWeekTool = defineTool({
  name: 'day_of_week',
  description: 'The day of the week of a date, e.g. "Monday".',
  schema: z.object({ date: isoDate }),
  run: ({ date }) => dayOfWeek(date),
});

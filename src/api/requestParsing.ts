// Turning the wire's strings into values, with field messages in the original service's style.
import { createHash } from 'node:crypto';
import { fieldError, RequestError } from './requestError.ts';

const ISO_DATETIME =
  /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)$/i;

export const DATETIME_FORMAT_MESSAGE =
  'Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]]+HH:MM or Z.';

const invalid = (field: string, message: string) => fieldError(field, message);

/**
 * A JSON number literal as the exact decimal text it stands for, so an amount never passes through
 * a float: `10.000` keeps its three places, `1.5e2` -> `150`, `25e-3` -> `0.025` (digits moved, no
 * arithmetic).
 */
export function exactNumberText(literal: string): string {
  const match = /^(-?)(\d+)(?:\.(\d+))?[eE]([+-]?\d+)$/.exec(literal);
  if (!match) return literal;
  const [, sign, whole = '', fraction = '', exponentText = ''] = match;
  const exponent = Number(exponentText);
  // Far out of any amount's range: left as written (an amount refuses it, a delay reads it).
  if (Math.abs(exponent) > 30) return literal;
  const digits = whole + fraction;
  const point = whole.length + exponent;
  const expanded =
    point <= 0
      ? `0.${'0'.repeat(-point)}${digits}`
      : point >= digits.length
        ? digits + '0'.repeat(point - digits.length)
        : `${digits.slice(0, point)}.${digits.slice(point)}`;
  return sign + expanded.replace(/^0+(?=\d)/, '');
}

/**
 * The fields of a request body holding text PostgreSQL cannot store (U+0000, a lone surrogate),
 * with the original service's messages; `undefined` when all is well.
 */
export function findUnstorableText(body: unknown): Record<string, string[]> | undefined {
  if (!body || typeof body !== 'object') return undefined;
  let errors: Record<string, string[]> | undefined;
  for (const [field, value] of Object.entries(body)) {
    const message = unstorable(value);
    if (message) {
      errors ??= Object.create(null) as Record<string, string[]>;
      errors[field] = [message];
    }
  }
  return errors;
}

function unstorable(value: unknown): string | undefined {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) return 'Null characters are not allowed.';
    const surrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.exec(
      value,
    );
    if (surrogate) {
      const code = surrogate[0].charCodeAt(0).toString(16).toUpperCase();
      return `Surrogate characters are not allowed: U+${code}.`;
    }
    return undefined;
  }
  if (value && typeof value === 'object') {
    for (const item of Object.values(value)) {
      const message = unstorable(item);
      if (message) return message;
    }
  }
  return undefined;
}

/**
 * An ISO 8601 date-time that states its offset; anything else is refused for `field`. A date or
 * time the calendar does not have (Date.parse would roll 2030-02-30 over to 2 March) is refused
 * saying so.
 */
export function parseDateTime(value: string, field: string): Date {
  const text = value.trim();
  if (!ISO_DATETIME.test(text)) throw invalid(field, DATETIME_FORMAT_MESSAGE);
  const impossible = notInCalendar(text);
  if (impossible) throw invalid(field, impossible);
  const time = Date.parse(text.replace(' ', 'T'));
  if (Number.isNaN(time)) throw invalid(field, DATETIME_FORMAT_MESSAGE);
  return new Date(time);
}

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

const DATE_AND_TIME = /^(\d{4})-(\d\d)-(\d\d).((\d\d):(\d\d)(?::(\d\d))?)/;

/** What is wrong with the date or time of day of an ISO 8601 text, if it does not exist. */
function notInCalendar(text: string): string | undefined {
  const [, ...parts] = DATE_AND_TIME.exec(text) ?? [];
  const [year, month, day, , hour, minute, second] = parts.map(Number) as number[];
  const date = text.slice(0, 10);
  const monthName = MONTHS[(month ?? 0) - 1];
  if (!monthName) return `${date} is not a valid date (there is no month ${month}).`;
  const days = daysInMonth(year ?? 0, month ?? 0);
  if (!day || day > days) {
    return `${date} is not a valid date (${monthName} ${year} has ${days} days).`;
  }
  // `second` is NaN when absent, and NaN > 59 is false.
  if ((hour ?? 0) > 23 || (minute ?? 0) > 59 || (second ?? 0) > 59) {
    return `${parts[3]} is not a valid time of day.`;
  }
  return undefined;
}

function daysInMonth(year: number, month: number): number {
  if (month !== 2) return [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
}

const ISO_DURATION =
  /^P(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i;
const SECONDS = /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/;
export const DURATION_FORMAT_MESSAGE =
  'Duration has wrong format. Use a number of seconds or an ISO 8601 duration such as PT30S or P1DT2H.';

/** A delay in milliseconds: seconds as a number or numeric string, or an ISO 8601 duration (no years or months). */
export function parseDelay(value: string | number): number {
  let seconds: number;
  if (typeof value === 'number') {
    seconds = value;
  } else if (SECONDS.test(value.trim())) {
    seconds = Number(value.trim());
  } else {
    const match = ISO_DURATION.exec(value.trim());
    if (!match || value.trim().toUpperCase() === 'P' || value.trim().toUpperCase().endsWith('T')) {
      throw invalid('delay', DURATION_FORMAT_MESSAGE);
    }
    const [weeks, days, hours, minutes, secs] = match.slice(1).map((part) => Number(part ?? 0));
    seconds =
      ((((weeks ?? 0) * 7 + (days ?? 0)) * 24 + (hours ?? 0)) * 60 + (minutes ?? 0)) * 60 +
      (secs ?? 0);
  }
  if (!Number.isFinite(seconds)) throw invalid('delay', DURATION_FORMAT_MESSAGE);
  if (seconds <= 0) throw invalid('delay', 'Ensure the delay is greater than 0 seconds.');
  const ms = Math.round(seconds * 1000);
  if (ms < 1) throw invalid('delay', 'Ensure the delay is at least 0.001 seconds.');
  return ms;
}

/** When the withdrawal is due: exactly one of `scheduled_time` and `delay`. */
export function parseSchedule(
  body: { scheduled_time?: string; delay?: string | number },
  now: Date,
): Date {
  if (body.scheduled_time !== undefined && body.delay !== undefined) {
    const message = 'Give either scheduled_time or delay, not both.';
    throw invalid('non_field_errors', message);
  }
  if (body.delay !== undefined) return new Date(now.getTime() + parseDelay(body.delay));
  if (body.scheduled_time === undefined) {
    throw invalid('scheduled_time', 'This field is required.');
  }
  return parseDateTime(body.scheduled_time, 'scheduled_time');
}

/** A command without fields (cancel): no body, `{}`, or an empty form; anything else is a 400. */
export function refuseFields(body: unknown): void {
  if (body === undefined || body === null) return;
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw invalid('non_field_errors', 'Invalid data. Expected a dictionary.');
  }
  const fields = Object.keys(body);
  if (fields.length > 0) {
    throw new RequestError(
      400,
      Object.fromEntries(fields.map((field) => [field, ['Unknown field.']])),
    );
  }
}

/** A page size from the query: `fallback` when absent, else a whole number from 1 to `max`. */
export function parseLimit(value: string | undefined, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  const limit = Number(value);
  if (limit < 1) throw invalid('limit', 'Ensure this value is greater than or equal to 1.');
  if (limit > max) throw invalid('limit', `Ensure this value is less than or equal to ${max}.`);
  return limit;
}

const KEY = /^[\x21-\x7e]{1,255}$/;

/** The `Idempotency-Key` header checked, with the hash of the request it came with. */
export function readIdempotency(
  header: string | string[] | undefined,
  operation: string,
  body: unknown,
): { key: string; requestHash: string } | undefined {
  if (header === undefined) return undefined;
  const key = Array.isArray(header) ? header[0] : header;
  if (key === undefined || !KEY.test(key)) {
    throw invalid(
      'Idempotency-Key',
      'Idempotency-Key must be 1 to 255 visible ASCII characters without spaces.',
    );
  }
  const requestHash = createHash('sha256')
    .update(`${operation}\n${canonicalJson(body ?? {})}`)
    .digest('hex');
  return { key, requestHash };
}

/** JSON with object keys sorted, so equal bodies hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The revisions named by an `If-None-Match` header (`"7"`, `W/"7"`, lists), lowest first. */
export function revisionsFromETags(header: string | undefined): bigint[] {
  if (!header) return [];
  return [...header.matchAll(/"(\d{1,19})"/g)]
    .map((match) => BigInt(match[1] as string))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export const etagOf = (revision: bigint) => `"${revision}"`;

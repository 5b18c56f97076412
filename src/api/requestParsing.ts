// Turning the wire's strings into values, with field messages in the original service's style.
import { createHash } from 'node:crypto';
import { MAX_SCHEDULE_AHEAD_MS, WalletError } from '../domain/wallet.ts';

const ISO_DATETIME =
  /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)$/i;

export const DATETIME_FORMAT_MESSAGE =
  'Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]]+HH:MM or Z.';

const invalid = (field: string, message: string) =>
  new WalletError('invalid', message, { [field]: [message] });

/** An ISO 8601 date-time that states its offset; anything else is refused for `field`. */
export function parseDateTime(value: string, field: string): Date {
  const time = ISO_DATETIME.test(value.trim())
    ? Date.parse(value.trim().replace(' ', 'T'))
    : Number.NaN;
  if (Number.isNaN(time)) throw invalid(field, DATETIME_FORMAT_MESSAGE);
  return new Date(time);
}

const ISO_DURATION =
  /^P(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i;
const SECONDS = /^\d+(\.\d+)?$/;
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
  if (seconds * 1000 > MAX_SCHEDULE_AHEAD_MS)
    throw invalid('delay', 'Ensure the delay is at most 10 years.');
  return Math.round(seconds * 1000);
}

/** When the withdrawal is due: exactly one of `scheduled_time` and `delay`. */
export function parseSchedule(
  body: { scheduled_time?: string; delay?: string | number },
  now: Date,
): Date {
  if (body.scheduled_time !== undefined && body.delay !== undefined) {
    const message = 'Give either scheduled_time or delay, not both.';
    throw new WalletError('invalid', message, { non_field_errors: [message] });
  }
  if (body.delay !== undefined) return new Date(now.getTime() + parseDelay(body.delay));
  if (body.scheduled_time === undefined) {
    throw invalid('scheduled_time', 'This field is required.');
  }
  return parseDateTime(body.scheduled_time, 'scheduled_time');
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

/** The highest revision named by an `If-None-Match` header (`"7"`, `W/"7"`, lists), if any. */
export function revisionFromETags(header: string | undefined): bigint | undefined {
  if (!header) return undefined;
  let highest: bigint | undefined;
  for (const match of header.matchAll(/"(\d{1,19})"/g)) {
    const revision = BigInt(match[1] as string);
    if (highest === undefined || revision > highest) highest = revision;
  }
  return highest;
}

export const etagOf = (revision: bigint) => `"${revision}"`;

import t from 'tap';
import { RequestError } from '../../src/api/requestError.ts';
import { exactNumberText, parseDateTime } from '../../src/api/requestParsing.ts';

/** The field messages a refused date-time gets, or its ISO text when it is accepted. */
const read = (value: string, field = 'scheduled_time') => {
  try {
    return parseDateTime(value, field).toISOString();
  } catch (error) {
    if (error instanceof RequestError) return error.body;
    throw error;
  }
};

t.test('a date the calendar does not have is refused saying so', async (t) => {
  for (const [text, message] of [
    ['2030-02-29T00:00:00Z', '2030-02-29 is not a valid date (February 2030 has 28 days).'],
    ['1900-02-29 10:00+01:00', '1900-02-29 is not a valid date (February 1900 has 28 days).'],
    ['2030-04-31T00:00:00Z', '2030-04-31 is not a valid date (April 2030 has 30 days).'],
    ['2030-01-00T00:00:00Z', '2030-01-00 is not a valid date (January 2030 has 31 days).'],
    ['2030-13-01T00:00:00Z', '2030-13-01 is not a valid date (there is no month 13).'],
    ['2030-01-01T24:00:00Z', '24:00:00 is not a valid time of day.'],
    ['2030-01-01T23:60Z', '23:60 is not a valid time of day.'],
    ['2030-01-01T23:59:60Z', '23:59:60 is not a valid time of day.'],
  ] as const) {
    t.same(read(text), { scheduled_time: [message] }, text);
  }
  t.same(read('2030-02-29T00:00:00Z', 'at'), {
    at: ['2030-02-29 is not a valid date (February 2030 has 28 days).'],
  });
});

t.test('leap days that exist, and every last day of a month, are read', async (t) => {
  t.equal(read('2032-02-29T00:00:00Z'), '2032-02-29T00:00:00.000Z');
  t.equal(read('2000-02-29T12:30:00+02:00'), '2000-02-29T10:30:00.000Z');
  for (const [month, days] of [
    [1, 31],
    [2, 28],
    [3, 31],
    [4, 30],
    [5, 31],
    [6, 30],
    [7, 31],
    [8, 31],
    [9, 30],
    [10, 31],
    [11, 30],
    [12, 31],
  ] as const) {
    const month2 = String(month).padStart(2, '0');
    t.equal(read(`2031-${month2}-${days}T00:00:00Z`), `2031-${month2}-${days}T00:00:00.000Z`);
    t.same(Object.keys(read(`2031-${month2}-${days + 1}T00:00:00Z`) as object), ['scheduled_time']);
  }
});

t.test(
  'text that is not an ISO 8601 date-time with offset keeps the original message',
  async (t) => {
    const wrongFormat = {
      scheduled_time: [
        'Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]]+HH:MM or Z.',
      ],
    };
    for (const text of ['tomorrow', '2030-02-29', '2030-01-01T00:00:00', '2030-1-1T00:00Z', ''])
      t.same(read(text), wrongFormat, text);
  },
);

t.test('a number literal as its exact decimal text', async (t) => {
  t.equal(exactNumberText('10.000'), '10.000');
  t.equal(exactNumberText('0.009999999999999999999'), '0.009999999999999999999');
  t.equal(exactNumberText('1.5e1'), '15');
  t.equal(exactNumberText('1.50e1'), '15.0');
  t.equal(exactNumberText('100e-2'), '1.00');
  t.equal(exactNumberText('-25E-3'), '-0.025');
  t.equal(exactNumberText('3E+2'), '300');
  t.equal(exactNumberText('0.05e1'), '0.5');
  t.equal(exactNumberText('1e400'), '1e400', 'far exponents stay as written');
});

import type { FastifyError } from 'fastify';
import t from 'tap';
import { parseFormBody, parseJsonBody } from '../../src/api/bodyParsers.ts';
import { NOT_UTF8_MESSAGE } from '../../src/api/jsonBody.ts';
import { RequestError } from '../../src/api/requestError.ts';

const JSON_TYPE = 'application/json';
const FORM_TYPE = 'application/x-www-form-urlencoded';

/** Text and raw bytes, joined into one body. */
const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(
    parts.map((part) => (typeof part === 'string' ? Buffer.from(part) : Buffer.from(part))),
  );

/** What the client gets: the value, or the status with the field messages or the detail. */
function answer(parse: typeof parseJsonBody, body: Buffer, contentType: string | undefined) {
  try {
    return { value: parse(body, contentType) };
  } catch (error) {
    if (error instanceof RequestError) return { status: error.status, fields: { ...error.body } };
    const { statusCode, message } = error as FastifyError;
    return { status: statusCode, detail: message };
  }
}
const json = (body: Buffer | string, contentType: string | undefined = JSON_TYPE) =>
  answer(parseJsonBody, typeof body === 'string' ? Buffer.from(body) : body, contentType);
const form = (body: Buffer | string, contentType: string | undefined = FORM_TYPE) =>
  answer(parseFormBody, typeof body === 'string' ? Buffer.from(body) : body, contentType);

t.test('a charset other than UTF-8 is a 415 naming it, for JSON and forms', async (t) => {
  // Each content type, and the charset it is refused for (null: accepted).
  for (const [contentType, refused] of [
    ['application/json; charset=utf-8', null],
    ['application/json; charset=UTF-8', null],
    ['application/json;charset=utf8', null],
    ['application/json; charset="UTF-8"', null],
    ['application/json', null],
    ['application/json; charset=utf-16', 'utf-16'],
    ['application/json; charset="UTF-16LE"', 'UTF-16LE'],
    ['application/json; charset=iso-8859-1', 'iso-8859-1'],
    ['application/json; charset=', ''],
    ['application/json; charset=utf-8; charset=latin1', 'latin1'],
  ] as const) {
    t.same(
      json('{"amount":"1.00"}', contentType),
      refused === null
        ? { value: { amount: '1.00' } }
        : {
            status: 415,
            detail: `Unsupported charset "${refused}" in request: send the body as UTF-8.`,
          },
      contentType,
    );
  }
  t.same(json('', 'application/json; charset=utf-16').status, 415, 'an empty body too');
  t.same(form('amount=1.00', `${FORM_TYPE}; charset=windows-1252`), {
    status: 415,
    detail: 'Unsupported charset "windows-1252" in request: send the body as UTF-8.',
  });
  t.same(form('amount=1.00', `${FORM_TYPE}; charset=UTF-8`), { value: { amount: '1.00' } });
});

t.test('JSON bytes that are not UTF-8 are a 400, on the field where they are', async (t) => {
  const owner = (...raw: number[]) => json(bytes('{"amount":"1","owner":"a', raw, '"}'));
  const refused = { status: 400, fields: { owner: [NOT_UTF8_MESSAGE] } };
  t.same(owner(0xff, 0xc3), refused, 'the issue: a\\xff\\xc3');
  t.same(owner(0xc0, 0xaf), refused, 'an overlong encoding of /');
  t.same(owner(0xed, 0xa0, 0x80), refused, 'an encoded surrogate');
  t.same(owner(0xe2, 0x82), refused, 'a character cut short');
  t.same(owner(0x80), refused, 'a lone continuation byte');
  t.same(owner(0xf4, 0x90, 0x80, 0x80), refused, 'past U+10FFFF');
  t.same(owner(0xef, 0xbf, 0xbd), { value: { amount: '1', owner: 'a\uFFFD' } }, 'U+FFFD is text');
  t.same(owner(0xf0, 0x9f, 0x98, 0x80), { value: { amount: '1', owner: 'a😀' } });
  t.same(json(bytes('{"own', [0xff], 'er":"x"}')), {
    status: 400,
    fields: { non_field_errors: [NOT_UTF8_MESSAGE] },
  });
  t.same(json(bytes('{"amount":"1"', [0xff], '}')), {
    status: 400,
    detail: 'The request body is not valid UTF-8.',
  });
  t.same(json(bytes('{"amount":"1","owner":"', [0xc3])), {
    status: 400,
    detail: 'The request body is not valid UTF-8.',
  });
  t.same(json(bytes('\uFEFF{"owner":"é', [0xe2, 0x82], '"}')), {
    status: 400,
    fields: { owner: [NOT_UTF8_MESSAGE] },
  });
});

t.test(
  'JSON bodies: empty is {}, a byte order mark is dropped, errors as the API promises',
  async (t) => {
    t.same(json(''), { value: {} });
    t.same(json(' \r\n\t'), { value: {} });
    t.same(json('\uFEFF{"amount": 1.50}'), { value: { amount: '1.50' } });
    t.same(json('[1, 2]'), { value: ['1', '2'] });
    t.same(json('7'), { value: 7 });
    t.same(json('{"amount": '), {
      status: 400,
      detail: 'JSON parse error - Expected a value, found the end at position 11.',
    });
    for (const [body, fields] of [
      ['{"amount":"1.00","amount":"999.00"}', { amount: ['This field was given more than once.'] }],
      // ['__proto__']: an own key (a plain `__proto__:` would set the prototype, matching anything).
      [
        '{"__proto__": {"x": 1}, "amount": "1.00"}',
        { ['__proto__']: ['The key "__proto__" is not allowed.'] },
      ],
      ['{"owner": "a\\u0000b"}', { owner: ['Null characters are not allowed.'] }],
      ['{"owner": "\\ud800"}', { owner: ['Surrogate characters are not allowed: U+D800.'] }],
    ] as const) {
      t.same(json(body), { status: 400, fields }, body);
    }
  },
);

t.test('forms: a field given twice is a 400, bytes must be UTF-8', async (t) => {
  const twice = ['This field was given more than once.'];
  for (const [body, fields] of [
    ['amount=1.00&amount=5.00', { amount: twice }],
    ['amount=1.00&amount=1.00&a%6Dount=2', { amount: twice }],
    ['amount=1.00&owner=a%FF%C3', { owner: [NOT_UTF8_MESSAGE] }],
    [bytes('amount=1.00&owner=a', [0xff, 0xc3]), { owner: [NOT_UTF8_MESSAGE] }],
    ['amount=1.00&own%FFer=x', { non_field_errors: [NOT_UTF8_MESSAGE] }],
    ['owner=a%00', { owner: ['Null characters are not allowed.'] }],
  ] as const) {
    t.same(form(body), { status: 400, fields }, body.toString());
  }
  const proto = form('__proto__=x&amount=1').value as Record<string, unknown>;
  t.same(Object.keys(proto), ['__proto__', 'amount'], 'a field named __proto__ stays a field');
  t.equal(Object.getPrototypeOf(proto), Object.prototype);
});

t.test('forms decode as URLSearchParams decodes them', async (t) => {
  for (const text of [
    '',
    'amount=1.00',
    'amount=1.00&owner=J%C3%B6rg+M%C3%BCller%2B1',
    'owner=Jörg&amount=%31',
    'a=1&&b=2&',
    'flag&x=',
    '=empty-name',
    'a=%zz&b=%4&c=%',
    'a=1=2',
    '%2B=%26%3D',
    'emoji=%F0%9F%98%80',
  ]) {
    t.same(form(text), { value: Object.fromEntries(new URLSearchParams(text)) }, text);
  }
});

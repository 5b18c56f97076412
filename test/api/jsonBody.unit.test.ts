import t from 'tap';
import { JsonSyntaxError, NOT_UTF8_MESSAGE, readJson } from '../../src/api/jsonBody.ts';
import { RequestError } from '../../src/api/requestError.ts';

/** The field messages of a refused body (its value when it is accepted). */
const refusal = (text: string, notUtf8At?: number) => {
  try {
    return readJson(text, notUtf8At);
  } catch (error) {
    if (error instanceof RequestError) return { ...error.body };
    throw error;
  }
};

// A tiny deterministic generator, so a failure can be replayed.
function randomSource(seed: number) {
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)] as T;
  const digits = (n: number) => Array.from({ length: n }, () => pick([...'0123456789'])).join('');
  return { random, pick, digits };
}

t.test('numbers inside JSON become their exact text; strings and top level stay', async (t) => {
  t.same(readJson('{"a": 10.000, "b": [1, -2.5e1, 3E+2, 1e-3, 0, -0]}'), {
    a: '10.000',
    b: ['1', '-25', '300', '0.001', '0', '-0'],
  });
  t.same(readJson('{"s": "a 5 \\" 7 \\\\", "t": "\\\\", "n": 8}'), {
    s: 'a 5 " 7 \\',
    t: '\\',
    n: '8',
  });
  t.same(readJson('{"x": 100e-2, "y": 0.05e1, "z": 1.50e1}'), { x: '1.00', y: '0.5', z: '15.0' });
  t.same(readJson('{"c": 0.009999999999999999999}'), { c: '0.009999999999999999999' });
  t.same(readJson('{"big": 1e400}'), { big: '1e400' }, 'far exponents stay as written');
  t.equal(readJson(' 5 '), 5, 'a bare number is not a body field');
  t.equal(readJson('"x"'), 'x');
  t.same(readJson('[true, false, null, "\\u00e9\\/\\b\\f\\n\\r\\t"]'), [
    true,
    false,
    null,
    'é/\b\f\n\r\t',
  ]);
});

t.test('malformed JSON is a syntax error that says what and where', async (t) => {
  /** The message of the JsonSyntaxError `text` raises: a 400 shows it ("JSON parse error - ..."). */
  const syntaxError = (text: string) => {
    try {
      readJson(text);
      return 'no error';
    } catch (error) {
      if (error instanceof JsonSyntaxError) return error.message;
      throw error;
    }
  };
  for (const [text, message] of [
    ['', 'Expected a value, found the end at position 0.'],
    [' ', 'Expected a value, found the end at position 1.'],
    ['{"a":01}', "Expected ',', found '1' at position 6."],
    ['{1:2}', "Expected a quoted key, found '1' at position 1."],
    ['{ -1.5e1 : "x"}', "Expected a quoted key, found '-' at position 2."],
    ['{"a":-}', "Expected a number, found '-' at position 5."],
    ['[1,]', "Expected a value, found ']' at position 3."],
    ['{"a":1,}', "Expected a quoted key, found '}' at position 7."],
    ['{"a":1.}', "Expected ',', found '.' at position 6."],
    ['{"a":.5}', "Expected a value, found '.' at position 5."],
    ['{"a":+1}', "Expected a value, found '+' at position 5."],
    ['{"a":1e}', "Expected ',', found 'e' at position 6."],
    ["{'a':1}", "Expected a quoted key, found ''' at position 1."],
    ['{"a":NaN}', "Expected a value, found 'N' at position 5."],
    ['{"a":Infinity}', "Expected a value, found 'I' at position 5."],
    ['{"a":tru}', "Expected a value, found 't' at position 5."],
    ['{"a":truex}', "Expected ',', found 'x' at position 9."],
    ['{"a" 1}', "Expected ':', found '1' at position 5."],
    ['{"a":1 "b":2}', `Expected ',', found '"' at position 7.`],
    ['{"a":"\\x"}', "Invalid escape in a string, found '\\' at position 6."],
    ['{"a":"\\u12"}', "Invalid \\u escape in a string, found '\\' at position 6."],
    ['{"a":"\\u12G4"}', "Invalid \\u escape in a string, found '\\' at position 6."],
    ['{"a":"tab\there"}', "Control character in a string, found '\t' at position 9."],
    ['{"a":"line\nbreak"}', "Control character in a string, found '\n' at position 10."],
    ['{"a":"open', 'Unterminated string, found the end at position 10.'],
    ['{"a":1} x', "Expected the end of the text, found 'x' at position 8."],
    ['{"a":1}{}', "Expected the end of the text, found '{' at position 7."],
    ['{"a":1 // note\n}', "Expected ',', found '/' at position 7."],
    ['\u00a0{}', "Expected a value, found '\u00a0' at position 0."],
    ['[', 'Expected a value, found the end at position 1.'],
    ['{', 'Expected a quoted key, found the end at position 1.'],
    ['}', "Expected a value, found '}' at position 0."],
    ['{"amount": ', 'Expected a value, found the end at position 11.'],
  ] as const) {
    t.equal(syntaxError(text), message, JSON.stringify(text));
  }
});

t.test('random JSON reads as JSON.parse reads it, numbers as their exact text', async (t) => {
  const { random, pick } = randomSource(7);
  const value = (depth: number): unknown => {
    const kind = depth > 3 ? pick(['n', 's', 'l']) : pick(['n', 's', 'l', 'a', 'o']);
    if (kind === 'n') return (random() - 0.5) * 10 ** Math.floor(random() * 12 - 4);
    if (kind === 's') return pick(['', 'x', '1.5', '"', '\\', '\\"1"', '{[', 'é\u2028', '\u0001']);
    if (kind === 'l') return pick([true, false, null]);
    if (kind === 'a')
      return Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1));
    return Object.fromEntries(
      Array.from({ length: Math.floor(random() * 4) }, (_, i) => [`k${i}`, value(depth + 1)]),
    );
  };
  // Where JSON.parse gives a number, readJson gives text of exactly that number.
  const same = (plain: unknown, read: unknown): boolean =>
    typeof plain === 'number'
      ? typeof read === 'string' && Number(read) === plain
      : Array.isArray(plain)
        ? Array.isArray(read) &&
          plain.length === read.length &&
          plain.every((v, i) => same(v, read[i]))
        : plain && typeof plain === 'object'
          ? !!read &&
            typeof read === 'object' &&
            Object.keys(plain).join() === Object.keys(read).join() &&
            Object.entries(plain).every(([k, v]) => same(v, (read as Record<string, unknown>)[k]))
          : plain === read;
  let mismatches = 0;
  for (let i = 0; i < 2000; i++) {
    const text = JSON.stringify({ field: value(0) }, null, i % 2 ? 1 : 0);
    if (!same(JSON.parse(text), readJson(text))) mismatches++;
  }
  t.equal(mismatches, 0);
});

/** A decimal as [digits without leading zeros, power of ten], trailing zeros dropped. */
function exactValue(literal: string): [bigint, number] {
  const match = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(literal);
  if (!match) throw new Error(`not a number: ${literal}`);
  const [, sign, whole = '', fraction = '', exponent = '0'] = match;
  let digits = BigInt(`${sign}${whole}${fraction}`);
  let power = Number(exponent) - fraction.length;
  while (digits !== 0n && digits % 10n === 0n) {
    digits /= 10n;
    power++;
  }
  return [digits, digits === 0n ? 0 : power];
}

t.test(
  'random number literals keep their exact value, and their places when written out',
  async (t) => {
    const { random, pick, digits } = randomSource(11);
    const wrong: string[] = [];
    for (let i = 0; i < 5000; i++) {
      const whole =
        random() < 0.3 ? '0' : pick([...'123456789']) + digits(Math.floor(random() * 20));
      const fraction = random() < 0.5 ? '' : `.${digits(1 + Math.floor(random() * 25))}`;
      const exponent =
        random() < 0.5
          ? ''
          : `${pick(['e', 'E'])}${pick(['', '+', '-'])}${Math.floor(random() * 30)}`;
      const literal = `${pick(['', '-'])}${whole}${fraction}${exponent}`;
      const read = (readJson(`{"amount": ${literal}}`) as { amount: string }).amount;
      const exact =
        /^-?\d+(\.\d+)?$/.test(read) &&
        exactValue(read).join() === exactValue(literal).join() &&
        (exponent !== '' || read === literal);
      if (!exact) wrong.push(`${literal} -> ${read}`);
    }
    t.same(wrong, [], 'exact, without an exponent, and as written when it had none');
  },
);

t.test('a key given twice is refused on its field, whatever the values', async (t) => {
  const twice = ['This field was given more than once.'];
  for (const [text, fields] of [
    ['{"amount":"1.00","amount":"999.00"}', { amount: twice }],
    ['{"amount":"1.00","amount":"1.00"}', { amount: twice }],
    [
      '{"amount":1,"amount":1.0,"amount":"1","owner":null,"owner":null}',
      { amount: twice, owner: twice },
    ],
    ['{"amount":"1.00","\\u0061mount":"5.00"}', { amount: twice }],
    [
      '{"owner":{"a":1,"a":2},"x":[{"b":1,"b":1}]}',
      {
        owner: ['The key "a" was given more than once.'],
        x: ['The key "b" was given more than once.'],
      },
    ],
    ['[{"a":1,"a":2}]', { non_field_errors: ['The key "a" was given more than once.'] }],
  ] as const) {
    t.same(refusal(text), fields, text);
  }
  t.same(refusal('{"a":1,"A":2,"a ":3}'), { a: '1', A: '2', 'a ': '3' }, 'other keys are other');
  t.throws(
    () => readJson('{"a":1,"a":'),
    JsonSyntaxError,
    'malformed JSON is first of all malformed',
  );
});

t.test('keys that reach a prototype are refused by name, and pollute nothing', async (t) => {
  const proto = ['The key "__proto__" is not allowed.'];
  // ['__proto__'] (computed) is an own key; a plain `__proto__:` would set the prototype instead,
  // and t.same would then accept a refusal without the field.
  const constructorPrototype = ['The key "constructor" holding "prototype" is not allowed.'];
  for (const [text, fields] of [
    ['{"__proto__": {"isAdmin": true}, "amount": "1.00"}', { ['__proto__']: proto }],
    ['{"amount": "1.00", "__pr\\u006fto__": "x"}', { ['__proto__']: proto }],
    ['{"owner": {"__proto__": {"x": 1}}}', { owner: proto }],
    ['{"constructor": {"prototype": {"x": 1}}}', { constructor: constructorPrototype }],
    ['[{"a": {"constructor": {"prototype": 1}}}]', { non_field_errors: constructorPrototype }],
  ] as const) {
    t.same(refusal(text), fields, text);
  }
  t.same(refusal('{"constructor": "x", "prototype": {"constructor": 1}}'), {
    constructor: 'x',
    prototype: { constructor: '1' },
  });
  t.equal(({} as Record<string, unknown>).isAdmin, undefined, 'Object.prototype untouched');
  const value = readJson('{"toString": "x", "hasOwnProperty": 1}') as Record<string, unknown>;
  t.equal(Object.getPrototypeOf(value), Object.prototype);
  t.same(Object.keys(value), ['toString', 'hasOwnProperty']);
});

t.test('nesting is bounded: a deep body is a syntax error, not a stack overflow', async (t) => {
  const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
  t.same(readJson(nested(64)), JSON.parse(nested(64)));
  t.throws(() => readJson(nested(65)), { message: /^Nested deeper than 64 levels/ });
  t.throws(() => readJson('{"a":'.repeat(16 * 1024)), JsonSyntaxError);
  t.throws(() => readJson('['.repeat(16 * 1024)), JsonSyntaxError);
});

t.test('the string holding bytes that were not UTF-8 is refused on its field', async (t) => {
  const text = '{"amount": "1.00", "owner": "a\uFFFD\uFFFD"}';
  t.same(refusal(text, text.indexOf('\uFFFD')), { owner: [NOT_UTF8_MESSAGE] });
  t.same(
    refusal(text),
    { amount: '1.00', owner: 'a\uFFFD\uFFFD' },
    'a U+FFFD sent as such is text',
  );
  const key = '{"amount": "1.00", "own\uFFFDer": "x"}';
  t.same(refusal(key, key.indexOf('\uFFFD')), { non_field_errors: [NOT_UTF8_MESSAGE] });
  const nested = '{"owner": {"x": ["\uFFFD"]}}';
  t.same(refusal(nested, nested.indexOf('\uFFFD')), { owner: [NOT_UTF8_MESSAGE] });
});

import t from 'tap';
import { quoteJsonNumbers } from '../../src/api/requestParsing.ts';

const parse = (text: string) => JSON.parse(quoteJsonNumbers(text));

t.test('numbers inside JSON become their exact text; strings and top level stay', async (t) => {
  t.same(parse('{"a": 10.000, "b": [1, -2.5e1, 3E+2, 1e-3, 0, -0]}'), {
    a: '10.000',
    b: ['1', '-25', '300', '0.001', '0', '-0'],
  });
  t.same(parse('{"s": "a 5 \\" 7 \\\\", "t": "\\\\", "n": 8}'), {
    s: 'a 5 " 7 \\',
    t: '\\',
    n: '8',
  });
  t.same(parse('{"x": 100e-2, "y": 0.05e1, "z": 1.50e1}'), { x: '1.00', y: '0.5', z: '15.0' });
  t.same(parse('{"big": 1e400}'), { big: '1e400' }, 'far exponents stay as written');
  t.equal(parse('5'), 5, 'a bare number is not a body field');
});

t.test('malformed JSON stays malformed', async (t) => {
  for (const text of ['{"a":01}', '{1:2}', '{ -1.5e1 : "x"}', '{"a":-}', '[1,]', '{"a":1.}'])
    t.throws(() => parse(text), text);
});

t.test('round trip on random JSON: equal to JSON.parse with numbers as text', async (t) => {
  let seed = 7;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)] as T;
  const value = (depth: number): unknown => {
    const kind = depth > 3 ? pick(['n', 's', 'l']) : pick(['n', 's', 'l', 'a', 'o']);
    if (kind === 'n') return (random() - 0.5) * 10 ** Math.floor(random() * 12 - 4);
    if (kind === 's') return pick(['', 'x', '1.5', '"', '\\', '\\"1"', '{[', 'é\u2028']);
    if (kind === 'l') return pick([true, false, null]);
    if (kind === 'a')
      return Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1));
    return Object.fromEntries(
      Array.from({ length: Math.floor(random() * 4) }, (_, i) => [`k${i}`, value(depth + 1)]),
    );
  };
  // Where JSON.parse gives a number, the quoted parse gives text of exactly that number.
  const same = (plain: unknown, quoted: unknown): boolean =>
    typeof plain === 'number'
      ? typeof quoted === 'string' && Number(quoted) === plain
      : Array.isArray(plain)
        ? Array.isArray(quoted) &&
          plain.length === quoted.length &&
          plain.every((v, i) => same(v, quoted[i]))
        : plain && typeof plain === 'object'
          ? !!quoted &&
            typeof quoted === 'object' &&
            Object.keys(plain).join() === Object.keys(quoted).join() &&
            Object.entries(plain).every(([k, v]) => same(v, (quoted as Record<string, unknown>)[k]))
          : plain === quoted;
  let mismatches = 0;
  for (let i = 0; i < 2000; i++) {
    const text = JSON.stringify({ field: value(0) }, null, i % 2 ? 1 : 0);
    if (!same(JSON.parse(text), parse(text))) mismatches++;
  }
  t.equal(mismatches, 0);
});

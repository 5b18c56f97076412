import t from 'tap';
import {
  currencyExponent,
  formatAmount,
  isCurrency,
  parseAmount,
  toMinorUnits,
} from '../../src/domain/money.ts';

t.test('formats minor units with the currency exponent', async (t) => {
  t.equal(formatAmount(10050n, 'USD'), '100.50');
  t.equal(formatAmount(0n, 'USD'), '0.00');
  t.equal(formatAmount(5n, 'USD'), '0.05');
  t.equal(formatAmount(-5000n, 'USD'), '-50.00');
  t.equal(formatAmount(1234n, 'JPY'), '1234');
  t.equal(formatAmount(1234n, 'KWD'), '1.234');
  t.equal(formatAmount(123456789012345678901234567890n, 'EUR'), '1234567890123456789012345678.90');
});

t.test('currency exponents follow ISO 4217, not display digits', async (t) => {
  t.equal(currencyExponent('USD'), 2);
  t.equal(currencyExponent('IRR'), 2);
  t.equal(currencyExponent('JPY'), 0);
  t.equal(currencyExponent('BHD'), 3);
  t.ok(isCurrency('EUR'));
  t.notOk(isCurrency('XYZ'));
  t.notOk(isCurrency('usd'));
});

t.test('parses valid amounts exactly', async (t) => {
  t.same(parseAmount('100.00', 'USD'), { ok: true, minor: 10000n });
  t.same(parseAmount('100', 'USD'), { ok: true, minor: 10000n });
  t.same(parseAmount('0.01', 'USD'), { ok: true, minor: 1n });
  t.same(parseAmount(' 12.3 ', 'USD'), { ok: true, minor: 1230n });
  t.same(parseAmount('.5', 'USD'), { ok: true, minor: 50n });
  t.same(parseAmount(42, 'USD'), { ok: true, minor: 4200n });
  t.same(parseAmount(0.1, 'USD'), { ok: true, minor: 10n }, 'a JSON number by its decimal text');
  t.same(parseAmount('500', 'JPY'), { ok: true, minor: 500n });
  t.same(
    parseAmount('1000000000000', 'USD'),
    { ok: true, minor: 100000000000000n },
    'the upper bound',
  );
});

t.test('names what is wrong (the API words it as the original did)', async (t) => {
  const notANumber = { ok: false, problems: [{ kind: 'not_a_number' }] };
  t.same(parseAmount('-50.00', 'USD'), {
    ok: false,
    problems: [{ kind: 'not_positive', value: -5000n, minimum: 1n }],
  });
  t.same(parseAmount('0', 'USD'), {
    ok: false,
    problems: [{ kind: 'not_positive', value: 0n, minimum: 1n }],
  });
  for (const bad of ['abc', '', '1e5', '1.2.3', 'NaN', 'Infinity', '0x10', '1,00', '--1', '.']) {
    t.same(parseAmount(bad, 'USD'), notANumber, bad);
  }
  for (const bad of [null, true, {}, [], Number.NaN]) t.same(parseAmount(bad, 'USD'), notANumber);
  t.same(parseAmount('1.001', 'USD'), {
    ok: false,
    problems: [{ kind: 'too_many_places', maxPlaces: 2 }],
  });
  t.same(parseAmount('1.5', 'JPY'), {
    ok: false,
    problems: [{ kind: 'too_many_places', maxPlaces: 0 }],
  });
  t.same(parseAmount('1000000000000.01', 'USD'), {
    ok: false,
    problems: [{ kind: 'too_large', maximum: 100000000000000n }],
  });
  t.same(parseAmount('9'.repeat(40), 'USD').ok, false, 'no 10-digit cap, but a bound');
});

t.test('toMinorUnits round-trips formatAmount and refuses what it cannot represent', async (t) => {
  for (const [minor, currency] of [
    [0n, 'USD'],
    [1n, 'USD'],
    [987654321n, 'KWD'],
    [7n, 'JPY'],
  ] as const) {
    t.equal(toMinorUnits(formatAmount(minor, currency), currency), minor);
  }
  t.throws(() => toMinorUnits('1.234', 'USD'));
  t.throws(() => toMinorUnits('x', 'USD'));
});

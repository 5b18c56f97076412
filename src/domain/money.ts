// Money is integer minor units (bigint) inside and a decimal string on the wire and in events.
// Nothing here ever goes through a float.

/** ISO 4217 minor units of the currencies whose exponent is not 2. */
const EXPONENTS: Readonly<Record<string, number>> = {
  ...Object.fromEntries(
    'BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF'
      .split(' ')
      .map((code) => [code, 0]),
  ),
  ...Object.fromEntries('BHD IQD JOD KWD LYD OMR TND'.split(' ').map((code) => [code, 3])),
  CLF: 4,
  UYW: 4,
};

// ICU's list of current ISO 4217 codes; its display digits are not ISO minor units, hence the table.
const KNOWN = new Set([...Intl.supportedValuesOf('currency'), ...Object.keys(EXPONENTS)]);

export function isCurrency(code: string): boolean {
  return KNOWN.has(code);
}

export function currencyExponent(currency: string): number {
  return EXPONENTS[currency] ?? 2;
}

/**
 * Largest amount one command may move, in major units: a guard against abuse, not a storage limit
 * (balances are unbounded bigints). Replaces the original service's 10-digit cap.
 */
export const MAX_AMOUNT = '1000000000000';

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?$/;

/** The decimal string of `minor` units in `currency`, e.g. `10050n, 'USD'` -> `"100.50"`. */
export function formatAmount(minor: bigint, currency: string): string {
  const exponent = currencyExponent(currency);
  const sign = minor < 0n ? '-' : '';
  const digits = (minor < 0n ? -minor : minor).toString().padStart(exponent + 1, '0');
  if (exponent === 0) return sign + digits;
  return `${sign}${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
}

/** Exact parse of a well-formed decimal string into minor units; throws on anything else. */
export function toMinorUnits(amount: string, currency: string): bigint {
  const parsed = parseDecimal(amount, currencyExponent(currency));
  if (parsed === undefined || parsed.places > currencyExponent(currency)) {
    throw new Error(`Not an amount in ${currency}: ${amount}`);
  }
  return parsed.minor;
}

/** What is wrong with a client's amount; the API words it (the original service's messages). */
export type AmountProblem =
  | { readonly kind: 'not_a_number' }
  | { readonly kind: 'too_many_places'; readonly maxPlaces: number }
  /** Zero or negative: `value` is what was given, `minimum` one minor unit. */
  | { readonly kind: 'not_positive'; readonly value: bigint; readonly minimum: bigint }
  | { readonly kind: 'too_large'; readonly maximum: bigint };

export type AmountResult =
  | { ok: true; minor: bigint }
  | { ok: false; problems: readonly AmountProblem[] };

/**
 * Reads a client's amount: a number (string or JSON number), no more decimal places than the
 * currency has, positive and at least one minor unit, at most `MAX_AMOUNT`.
 */
export function parseAmount(input: unknown, currency: string): AmountResult {
  const exponent = currencyExponent(currency);
  const text =
    typeof input === 'string'
      ? input.trim()
      : typeof input === 'number' && Number.isFinite(input)
        ? String(input)
        : undefined;
  const parsed = text === undefined ? undefined : parseDecimal(text, exponent);
  if (parsed === undefined) return { ok: false, problems: [{ kind: 'not_a_number' }] };
  if (parsed.places > exponent) {
    return { ok: false, problems: [{ kind: 'too_many_places', maxPlaces: exponent }] };
  }
  const problems: AmountProblem[] = [];
  if (parsed.minor <= 0n) problems.push({ kind: 'not_positive', value: parsed.minor, minimum: 1n });
  const maximum = toMinorUnits(MAX_AMOUNT, currency);
  if (parsed.minor > maximum) problems.push({ kind: 'too_large', maximum });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, minor: parsed.minor };
}

/** `places` counts the written decimal places, trailing zeros included (as the original did). */
function parseDecimal(
  text: string,
  exponent: number,
): { minor: bigint; places: number } | undefined {
  const match = DECIMAL.exec(text);
  if (!match) return undefined;
  const [, sign = '', whole = '', fraction] = match;
  if (whole === '' && (fraction === undefined || fraction === '')) return undefined;
  const places = fraction?.length ?? 0;
  const scaled = (fraction ?? '').padEnd(exponent, '0');
  // More places than the currency has: the caller reports it; keep the value's integer part only.
  const minor = BigInt((whole || '0') + scaled.slice(0, Math.max(exponent, 0)));
  return { minor: sign === '-' ? -minor : minor, places };
}

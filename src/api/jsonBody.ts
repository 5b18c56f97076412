// A request body's JSON read strictly: one meaning per body or a 400. Numbers keep their exact
// text (an amount never passes through a float), a key given twice is refused instead of the last
// one winning, and keys that could reach an object's prototype (`__proto__`, `constructor` holding
// `prototype`) are refused, as secure-json-parse (Fastify's default) refuses them, but by name.
import { RequestError } from './requestError.ts';
import { exactNumberText } from './requestParsing.ts';

export const NOT_UTF8_MESSAGE = 'Not valid UTF-8: the request body must be encoded in UTF-8.';

/** `fields` (made when undefined) with `message` added to `field`'s messages once. */
export function addFieldMessage(
  fields: Record<string, string[]> | undefined,
  field: string,
  message: string,
): Record<string, string[]> {
  // No prototype: a field named `__proto__` is a field like any other.
  const result = fields ?? (Object.create(null) as Record<string, string[]>);
  const messages = result[field] ?? [];
  if (!messages.includes(message)) messages.push(message);
  result[field] = messages;
  return result;
}

/** Not JSON at all: the text says where. */
export class JsonSyntaxError extends Error {
  override readonly name = 'JsonSyntaxError';
}

// Far deeper than any body of this API; keeps a hostile body from exhausting the stack.
const MAX_DEPTH = 64;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const HEX4 = /^[0-9a-fA-F]{4}$/;
const ESCAPES: Record<string, string> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

/**
 * The value of a JSON text (RFC 8259). Numbers inside objects and arrays become strings of their
 * exact decimal value (`10.000` keeps three places, `1.5e1` is `15`); a bare top-level number stays
 * a number, so the caller can say what it got. Throws JsonSyntaxError for malformed text, then an
 * a RequestError (400) naming the top-level field (`non_field_errors` outside one) of every key
 * given twice or refused. `notUtf8At`: where the text holds the replacement for bytes that were
 * not UTF-8; the string holding it is refused with NOT_UTF8_MESSAGE.
 */
export function readJson(text: string, notUtf8At = -1): unknown {
  return new JsonReader(text, notUtf8At).read();
}

// A class, not closures: its methods are made once, not on every body.
class JsonReader {
  private i = 0;
  /** The top-level field being read: where a refused key is reported. */
  private field = 'non_field_errors';
  private refused: Record<string, string[]> | undefined;

  constructor(
    private readonly text: string,
    private readonly notUtf8At: number,
  ) {}

  read(): unknown {
    const body = this.value(0);
    this.skipWhitespace();
    if (this.i < this.text.length) this.fail('Expected the end of the text');
    if (this.refused) throw new RequestError(400, this.refused);
    return body;
  }

  private fail(what: string): never {
    const found = this.i < this.text.length ? `'${this.text[this.i]}'` : 'the end';
    throw new JsonSyntaxError(`${what}, found ${found} at position ${this.i}.`);
  }

  private refuse(message: string): void {
    this.refused = addFieldMessage(this.refused, this.field, message);
  }

  private skipWhitespace(): void {
    const { text } = this;
    let c = text.charCodeAt(this.i);
    while (c === 32 || c === 10 || c === 13 || c === 9) c = text.charCodeAt(++this.i);
  }

  private expect(char: string): void {
    this.skipWhitespace();
    if (this.text[this.i] !== char) this.fail(`Expected '${char}'`);
    this.i++;
  }

  private value(depth: number): unknown {
    this.skipWhitespace();
    const c = this.text[this.i];
    if (c === '"') return this.string();
    if (c === '{') return this.object(depth + 1);
    if (c === '[') return this.array(depth + 1);
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number(depth);
    for (const [word, literal] of LITERALS) {
      if (this.text.startsWith(word, this.i)) {
        this.i += word.length;
        return literal;
      }
    }
    return this.fail('Expected a value');
  }

  private number(depth: number): string | number {
    NUMBER.lastIndex = this.i;
    const literal = NUMBER.exec(this.text)?.[0] ?? this.fail('Expected a number');
    this.i += literal.length;
    return depth === 0 ? Number(literal) : exactNumberText(literal);
  }

  private string(): string {
    const { text } = this;
    let out = '';
    const begin = ++this.i;
    let start = begin;
    for (;;) {
      const c = text.charCodeAt(this.i);
      if (c === 34) {
        out += text.slice(start, this.i);
        if (this.notUtf8At >= begin && this.notUtf8At < this.i) this.refuse(NOT_UTF8_MESSAGE);
        this.i++;
        return out;
      }
      if (c === 92) {
        out += text.slice(start, this.i);
        const escaped = text[this.i + 1] ?? '';
        if (escaped === 'u') {
          const hex = text.slice(this.i + 2, this.i + 6);
          if (!HEX4.test(hex)) this.fail('Invalid \\u escape in a string');
          out += String.fromCharCode(Number.parseInt(hex, 16));
          this.i += 6;
        } else {
          out += ESCAPES[escaped] ?? this.fail('Invalid escape in a string');
          this.i += 2;
        }
        start = this.i;
      } else if (c < 32 || Number.isNaN(c)) {
        this.fail(Number.isNaN(c) ? 'Unterminated string' : 'Control character in a string');
      } else {
        this.i++;
      }
    }
  }

  private object(depth: number): Record<string, unknown> {
    if (depth > MAX_DEPTH) this.fail(`Nested deeper than ${MAX_DEPTH} levels`);
    this.i++;
    const result: Record<string, unknown> = {};
    this.skipWhitespace();
    if (this.text[this.i] === '}') {
      this.i++;
      return result;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.i] !== '"') this.fail('Expected a quoted key');
      if (depth === 1) this.field = 'non_field_errors';
      const key = this.string();
      if (depth === 1) this.field = key;
      this.expect(':');
      const item = this.value(depth);
      if (Object.hasOwn(result, key)) {
        this.refuse(
          depth === 1
            ? 'This field was given more than once.'
            : `The key "${key}" was given more than once.`,
        );
      } else if (key === '__proto__') {
        this.refuse('The key "__proto__" is not allowed.');
      } else if (key === 'constructor' && isObject(item) && Object.hasOwn(item, 'prototype')) {
        this.refuse('The key "constructor" holding "prototype" is not allowed.');
      } else {
        result[key] = item;
      }
      this.skipWhitespace();
      if (this.text[this.i] === '}') {
        this.i++;
        return result;
      }
      this.expect(',');
    }
  }

  private array(depth: number): unknown[] {
    if (depth > MAX_DEPTH) this.fail(`Nested deeper than ${MAX_DEPTH} levels`);
    this.i++;
    const result: unknown[] = [];
    this.skipWhitespace();
    if (this.text[this.i] === ']') {
      this.i++;
      return result;
    }
    for (;;) {
      result.push(this.value(depth));
      this.skipWhitespace();
      if (this.text[this.i] === ']') {
        this.i++;
        return result;
      }
      this.expect(',');
    }
  }
}

const LITERALS = [
  ['true', true],
  ['false', false],
  ['null', null],
] as const;

const isObject = (value: unknown): value is object =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

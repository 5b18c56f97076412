// The request bodies the API takes: JSON and form data, in UTF-8, each with exactly one meaning or
// a 4xx. An empty JSON body is `{}`, as the original accepted a bare POST; any other media type
// (text/plain included) is Fastify's 415. Bytes that are not UTF-8 are refused, not replaced.
import { isUtf8 } from 'node:buffer';
import type { FastifyError, FastifyInstance } from 'fastify';
import { addFieldMessage, JsonSyntaxError, NOT_UTF8_MESSAGE, readJson } from './jsonBody.ts';
import { RequestError } from './requestError.ts';
import { findUnstorableText } from './requestParsing.ts';

export function installBodyParsers(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  for (const [mediaType, parse] of [
    ['application/json', parseJsonBody],
    ['application/x-www-form-urlencoded', parseFormBody],
  ] as const) {
    app.addContentTypeParser(mediaType, { parseAs: 'buffer' }, (request, body, done) => {
      try {
        done(null, parse(body as Buffer, request.headers['content-type']));
      } catch (error) {
        done(error as Error, undefined);
      }
    });
  }
}

/** A JSON body: its value, or a 400 / 415 saying what is wrong with it. */
export function parseJsonBody(bytes: Buffer, contentType: string | undefined): unknown {
  requireUtf8(contentType);
  const { text, notUtf8At } = decode(bytes);
  if (notUtf8At < 0 && text.trim() === '') return {};
  let value: unknown;
  try {
    value = readJson(text, notUtf8At);
  } catch (error) {
    if (!(error instanceof JsonSyntaxError)) throw error;
    // Bytes that are not UTF-8 outside any string: that, not the JSON, is the first thing wrong.
    throw notUtf8At >= 0
      ? httpError(400, 'The request body is not valid UTF-8.')
      : httpError(400, `JSON parse error - ${error.message}`);
  }
  return refuseUnstorableText(value);
}

/**
 * A form body (`application/x-www-form-urlencoded`, decoded as URLSearchParams decodes it, but a
 * field given twice or bytes that are not UTF-8 are a 400 instead of the last value or U+FFFD).
 */
export function parseFormBody(bytes: Buffer, contentType: string | undefined): unknown {
  requireUtf8(contentType);
  const fields = new Map<string, string>();
  let refused: Record<string, string[]> | undefined;
  // Latin-1 keeps one character per byte, so percent-escapes and raw bytes decode alike below.
  for (const pair of bytes.toString('latin1').split('&')) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    const name = formText(equals < 0 ? pair : pair.slice(0, equals));
    const value = formText(equals < 0 ? '' : pair.slice(equals + 1));
    if (name === undefined || value === undefined) {
      refused = addFieldMessage(refused, name ?? 'non_field_errors', NOT_UTF8_MESSAGE);
    } else if (fields.has(name)) {
      refused = addFieldMessage(refused, name, 'This field was given more than once.');
    } else {
      fields.set(name, value);
    }
  }
  if (refused) throw new RequestError(400, refused);
  // fromEntries defines own properties: a field named `__proto__` stays a field (an unknown one).
  return refuseUnstorableText(Object.fromEntries(fields));
}

/** One name or value of a form: `+` is a space, `%XX` a byte; the bytes must be UTF-8. */
function formText(latin1: string): string | undefined {
  const bytes = Buffer.from(
    latin1
      .replaceAll('+', ' ')
      .replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) =>
        String.fromCharCode(Number.parseInt(hex, 16)),
      ),
    'latin1',
  );
  return isUtf8(bytes) ? bytes.toString('utf8') : undefined;
}

const CHARSET = /;\s*charset\s*=\s*("[^"]*"|[^;\s]*)/gi;

/** Bodies are UTF-8: a Content-Type naming any other charset is a 415, not read as if it were. */
function requireUtf8(contentType: string | undefined): void {
  for (const [, value = ''] of (contentType ?? '').matchAll(CHARSET)) {
    const charset = value.replace(/^"(.*)"$/, '$1');
    if (!/^utf-?8$/i.test(charset)) {
      throw httpError(415, `Unsupported charset "${charset}" in request: send the body as UTF-8.`);
    }
  }
}

/**
 * The body as text (a leading byte order mark dropped, as JSON parsers do) and where in it the
 * first bytes that are not UTF-8 were replaced (-1 when all are UTF-8).
 */
function decode(bytes: Buffer): { text: string; notUtf8At: number } {
  const text = bytes.toString('utf8');
  let notUtf8At = isUtf8(bytes) ? -1 : firstReplacement(bytes, text);
  if (!text.startsWith('\uFEFF')) return { text, notUtf8At };
  if (notUtf8At > 0) notUtf8At--;
  return { text: text.slice(1), notUtf8At };
}

/** Where in `text` (`bytes` decoded with replacements) the first replaced bytes are. */
function firstReplacement(bytes: Buffer, text: string): number {
  const reencoded = Buffer.from(text);
  let same = 0;
  while (same < bytes.length && bytes[same] === reencoded[same]) same++;
  // The bytes before are UTF-8 but may stop inside a character: `stream` holds that one back.
  return new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes.subarray(0, same), {
    stream: true,
  }).length;
}

/** A 400 for text that cannot be stored, before it reaches an event (and fails a whole append). */
function refuseUnstorableText<T>(body: T): T {
  const fields = findUnstorableText(body);
  if (fields) throw new RequestError(400, fields);
  return body;
}

function httpError(statusCode: number, detail: string): FastifyError {
  return Object.assign(new Error(detail), { statusCode }) as FastifyError;
}

// Every failure becomes a JSON answer a client can act on: 400 with field -> messages (the original
// service's shape), 404/409/413/415 with {"detail"}, and 500 only for our own faults, never with a
// stack trace. The body parsers are in bodyParsers.ts.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ConcurrencyError } from '../commands/walletCommandHandler.ts';
import { WalletError } from '../domain/wallet.ts';
import { DATETIME_FORMAT_MESSAGE, DURATION_FORMAT_MESSAGE } from './requestParsing.ts';

/** What a failed schema check says about each field (Ajv's own words are not for end users). */
const FIELD_MESSAGES: Record<string, string> = {
  amount: 'A valid number is required.',
  scheduled_time: DATETIME_FORMAT_MESSAGE,
  delay: DURATION_FORMAT_MESSAGE,
  target: 'Must be a valid UUID.',
  currency: 'Must be an ISO 4217 currency code such as "USD".',
  owner: 'Must be a string of at most 200 characters.',
  limit: 'A valid integer is required.',
  from_revision: 'A valid integer is required.',
  min_revision: 'A valid integer is required.',
};

interface AjvError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

/** The field and message for one failed schema check. */
function describeError(error: AjvError, body: unknown): [field: string, message: string] {
  const field = error.instancePath.split('/')[1];
  if (error.keyword === 'required')
    return [String(error.params.missingProperty), 'This field is required.'];
  if (error.keyword === 'additionalProperties') {
    return [String(error.params.additionalProperty), 'Unknown field.'];
  }
  if (!field) {
    return [
      'non_field_errors',
      `Invalid data. Expected a dictionary, but got ${pythonType(body)}.`,
    ];
  }
  if (FIELD_MESSAGES[field]) return [field, FIELD_MESSAGES[field]];
  if (error.keyword === 'enum' || error.keyword === 'const' || error.keyword === 'anyOf') {
    return [field, 'Not a valid choice.'];
  }
  return [field, 'Invalid value.'];
}

/** The type names the original (Python) service used in its messages. */
function pythonType(value: unknown): string {
  if (Array.isArray(value)) return 'list';
  if (value === null) return 'NoneType';
  if (typeof value === 'string') return 'str';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  return typeof value;
}

export function fieldErrors(errors: readonly AjvError[], body: unknown): Record<string, string[]> {
  // No prototype: a field named `__proto__` is a field like any other.
  const fields: Record<string, string[]> = Object.create(null);
  for (const error of errors) {
    const [field, message] = describeError(error, body);
    const list = fields[field] ?? [];
    if (!list.includes(message)) list.push(message);
    fields[field] = list;
  }
  return fields;
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ detail: 'Not found.' }));

  app.setErrorHandler(
    (
      error: FastifyError & { validation?: AjvError[]; validationContext?: string },
      request,
      reply,
    ) => {
      if (error.validation) {
        const input = error.validationContext === 'body' ? request.body : request.query;
        return reply.code(400).send(fieldErrors(error.validation, input));
      }
      if (error instanceof WalletError) {
        if (error.kind === 'invalid')
          return reply.code(400).send(error.fields ?? { detail: error.message });
        return reply.code(error.kind === 'not_found' ? 404 : 409).send({ detail: error.message });
      }
      if (error instanceof ConcurrencyError) {
        return reply.code(503).header('retry-after', '1').send({ detail: error.message });
      }
      const status = error.statusCode ?? 500;
      if (status >= 400 && status < 500) {
        const detail =
          error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
            ? `Unsupported media type "${request.headers['content-type'] ?? ''}" in request.`
            : error.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
              ? 'Request body is too large.'
              : error.message;
        return reply.code(status).send({ detail });
      }
      request.log.error({ err: error }, 'request failed');
      return reply.code(500).send({ detail: 'Internal server error.' });
    },
  );
}

const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/**
 * A known path asked with a method it does not have is a 405 naming the methods it has, as the
 * original answered, not a 404. Call before the routes are added; call the returned function
 * after they are, to add the 405 answers.
 */
export function collectMethods(app: FastifyInstance): () => void {
  const methods = new Map<string, Set<string>>();
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/docs')) return;
    const known = methods.get(route.url) ?? new Set<string>();
    for (const method of [route.method].flat()) known.add(method);
    methods.set(route.url, known);
  });
  return () => {
    for (const [url, known] of methods) {
      const others = HTTP_METHODS.filter((method) => !known.has(method));
      if (others.length === 0) continue;
      const allow = [...known].join(', ');
      const notAllowed = (request: FastifyRequest, reply: FastifyReply) =>
        reply
          .code(405)
          .header('allow', allow)
          .send({ detail: `Method "${request.method}" not allowed.` });
      // Answered on arrival, before any body is read: the method is wrong whatever the body.
      app.route({
        method: others,
        url,
        schema: { hide: true },
        onRequest: async (request, reply) => notAllowed(request, reply),
        handler: notAllowed,
      });
    }
  };
}

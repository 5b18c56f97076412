// Every failure becomes a JSON answer a client can act on: 400 with field -> messages (the original
// service's shape), 404/409/413/415 with {"detail"}, and 500 only for our own faults, never with a
// stack trace. The body parsers are in bodyParsers.ts.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ConcurrencyError } from '../commands/walletCommandHandler.ts';
import * as domain from '../domain/errors.ts';
import { type AmountProblem, formatAmount } from '../domain/money.ts';
import { DatabaseUnavailableError } from '../infra/postgres.ts';
import { RequestError } from './requestError.ts';
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
  // The webhook routes' fields (src/webhooks/schemas.ts).
  url: 'Enter a valid URL of at most 2048 characters.',
  events: 'Must be a list of at most 50 event types, or null for all.',
  description: 'Must be a string of at most 500 characters.',
  enabled: 'Must be true or false.',
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

/** The original service's messages for an amount (Django REST framework's words). */
function amountMessages(problem: AmountProblem, currency: string): string[] {
  switch (problem.kind) {
    case 'not_a_number':
      return ['A valid number is required.'];
    case 'too_many_places':
      return [`Ensure that there are no more than ${problem.maxPlaces} decimal places.`];
    case 'not_positive':
      return [
        `Positive value required, got ${formatAmount(problem.value, currency)}.`,
        `Ensure this value is greater than or equal to ${formatAmount(problem.minimum, currency)}.`,
      ];
    case 'too_large':
      return [
        `Ensure this value is less than or equal to ${formatAmount(problem.maximum, currency)}.`,
      ];
  }
}

/** When a withdrawal is due, as the request said it: `delay` or `scheduled_time`. */
function scheduleMessage(error: domain.InvalidScheduledTime, body: unknown): [string, string] {
  const byDelay = typeof body === 'object' && body !== null && 'delay' in body;
  if (byDelay) {
    return error.problem === 'not_in_future'
      ? ['delay', 'Ensure the delay is greater than 0 seconds.']
      : ['delay', 'Ensure the delay is at most 10 years.'];
  }
  const messages = {
    not_a_time: 'Scheduled time is out of range.',
    not_in_future: 'Scheduled time must be in the future.',
    too_far_ahead: 'Scheduled time must be within 10 years.',
  };
  return ['scheduled_time', messages[error.problem]];
}

function targetMessage(error: domain.InvalidTarget, body: unknown): string {
  const given = (body as { target?: unknown } | undefined)?.target;
  switch (error.problem.kind) {
    case 'not_found':
      return `Invalid pk "${typeof given === 'string' ? given : error.targetId}" - object does not exist.`;
    case 'same_wallet':
      return 'Target wallet must differ from the source wallet.';
    case 'other_currency':
      return `Target wallet holds ${error.problem.targetCurrency}, this wallet holds ${error.problem.currency}.`;
  }
}

/** Status and body for what the domain refused: the one place its errors meet HTTP. */
export function domainErrorReply(
  error: domain.DomainError,
  body: unknown,
): { status: number; body: Record<string, unknown> } {
  const fields = (field: string, ...messages: string[]) => ({
    status: 400,
    body: { [field]: messages },
  });
  const detail = (status: number, text: string) => ({ status, body: { detail: text } });
  if (error instanceof domain.WalletNotFound) return detail(404, 'Not found.');
  if (error instanceof domain.WithdrawalNotFound) return detail(404, error.message);
  if (error instanceof domain.InvalidAmount) {
    return fields('amount', ...error.problems.flatMap((p) => amountMessages(p, error.currency)));
  }
  if (error instanceof domain.InvalidCurrency) {
    return fields('currency', `"${error.currency}" is not a valid ISO 4217 currency code.`);
  }
  if (error instanceof domain.InvalidScheduledTime) {
    const [field, message] = scheduleMessage(error, body);
    return fields(field, message);
  }
  if (error instanceof domain.InvalidTarget) return fields('target', targetMessage(error, body));
  if (
    error instanceof domain.WalletAlreadyExists ||
    error instanceof domain.IdempotencyKeyReused ||
    error instanceof domain.WithdrawalNotCancellable ||
    error instanceof domain.WithdrawalNotSettleable
  ) {
    return detail(409, error.message);
  }
  return detail(400, error.message);
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
      if (error instanceof RequestError) {
        return reply.code(error.status).headers(error.headers).send(error.body);
      }
      if (error instanceof domain.DomainError) {
        const answer = domainErrorReply(error, request.body);
        return reply.code(answer.status).send(answer.body);
      }
      if (error instanceof ConcurrencyError) {
        return reply.code(503).header('retry-after', '1').send({ detail: error.message });
      }
      if (error instanceof DatabaseUnavailableError) {
        request.log.warn(error.message); // an outage, not a fault: one line, no stack
        return reply
          .code(503)
          .header('retry-after', '2')
          .send({ detail: 'The database is unavailable; try again shortly.' });
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

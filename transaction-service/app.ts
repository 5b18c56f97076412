// The third-party payout service (a stand-in for a bank), its own small Fastify app. It speaks the
// original Django project's stub protocol, so a client written for one works against the other,
// and adds idempotency, a status lookup and fault injection. Its books (bank.ts) are kept in
// PostgreSQL, or in memory when it runs without a database.
//
// POST /                 any body, any or no content type; optional headers:
//                          Idempotency-Key: <1..255 chars>   (our scheduler sends the withdrawal id)
//                          X-Latency-Ms: <integer>           (this request's latency, for tests)
//   After the latency (default 1000 ms), one of:
//   200 {"data": "success", "status": 200}   paid (or, for a key already paid, paid before:
//                                            nothing new is paid; header Idempotent-Replayed: true)
//   200 {"data": "failed", "status": 503}    transient failure, not paid (the random failure rate,
//                                            default 0.1, or a "failed" rule); retry with the key
//   422 {"data": "refused", "status": 422}   definite refusal: never paid, and every later request
//                                            with the same key is refused too
//   500 {"data": "error", "status": 500}     fault rule "http500", not paid
//   503 {"data": "unavailable", "status": 503}   fault rule "http503", not paid
//   no answer                                fault rules "hang" (not paid), "lostAnswer" (paid, then
//                                            the socket is destroyed), "lostAnswerHang" (paid, then
//                                            never answers)
//   400 {"data": "bad request", "status": 400, "message"}   malformed Idempotency-Key / X-Latency-Ms
//   Body fields amount, currency, target, wallet (JSON or form-encoded) are recorded as text.
//   Requests with one key are serialised: an attempt holds its key for its processing time, so
//   concurrent duplicates pay once; across processes sharing the books, the books' unique key
//   decides (the later attempt answers the first one's verdict, replayed). Without a key, every
//   request is a new payout, as originally.
//   Transport faults (failed, http500, http503, hang) hit a matching request even when its key is
//   already decided, as a real outage would; they never change the books.
//
// GET /transfers/:key    waits for attempts in progress with that key in this process, then
//   200 {"found": true, "key", "status": "paid" | "refused", "amount"?, "currency"?, "target"?,
//        "wallet"?, "paidAt"? | "refusedAt"? + "reason"?, "attempts"}
//   404 {"key", "found": false}   nothing was paid or refused for that key (failed tries only)
// GET /transfers         200 {"count", "transfers": [<the 200 shape above, without "found">]}
//                        every payout in order, keyless ones with "key": null
// GET /health            200 {"status": "ok"}
// GET /metrics           Prometheus text: this process's memory, CPU and event-loop delay
//
// GET /faults            200 {"latencyMs", "failureRate", "rules": [rule]} (times = what is left)
// PUT /faults            JSON {"latencyMs"?, "failureRate"?, "rules"?: [rule]} replaces all active
//                        faults (omitted fields take the start-up values); 200 with GET's shape,
//                        400 {"error", "message"} for bad input
// DELETE /faults         back to the start-up values; 200 with GET's shape
//   rule: {"mode", "times"?, "key"? | "keyPrefix"?, "latencyMs"?, "hangMs"?}, see faults.ts.
//   The first rule matching a request's key applies and, with "times", counts down.
import { STATUS_CODES } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  type FastifyReply,
  type FastifyRequest,
  type FastifySchemaValidationError,
  type FastifyServerOptions,
} from 'fastify';
import { createKeyedMutex } from '../src/infra/keyedMutex.ts';
import { type Bank, createMemoryBank, type PayoutDetails, readPayoutDetails } from './bank.ts';
import {
  assertFaultSettings,
  createFaultController,
  type FaultMode,
  type FaultRule,
  FaultSettingsSchema,
  findFaultSettingsProblem,
  MAX_DELAY_MS,
} from './faults.ts';
import { metricsRoutes } from './metrics.ts';

export interface TransactionServiceOptions {
  /** Latency of every request unless a rule or header says otherwise (default 1000 ms). */
  latencyMs?: number;
  /** Share of requests answered "failed" (transient, not paid), 0..1 (default 0.1). */
  failureRate?: number;
  /** Fault rules active from the start, and again after `DELETE /faults` (validated here). */
  rules?: FaultRule[];
  /** Source of randomness for the failure rate, [0, 1). */
  random?: () => number;
  clock?: () => Date;
  logger?: FastifyServerOptions['logger'];
  /** Where the books are kept (closed with the app); default: memory. */
  bank?: Bank;
}

const SUCCESS = { data: 'success', status: 200 } as const;
const FAILED = { data: 'failed', status: 503 } as const;
const REFUSED = { data: 'refused', status: 422 } as const;
const REFUSAL_REASON = 'refused by fault injection';

type Outcome = { verdict: 'paid' | 'failed' | 'refused'; replayed: boolean };

export function buildTransactionService(options: TransactionServiceOptions = {}) {
  const startup = {
    latencyMs: options.latencyMs ?? 1000,
    failureRate: options.failureRate ?? 0.1,
    rules: options.rules ?? [],
  };
  assertFaultSettings(startup);
  const faults = createFaultController(startup);
  const bank = options.bank ?? createMemoryBank();
  const clock = options.clock ?? (() => new Date());
  const random = options.random ?? Math.random;
  /**
   * One attempt at a time per key in this process, in arrival order: a second request with the
   * same key (or a status lookup) waits and then sees the first one's verdict instead of paying
   * again or answering "not found" while the first is about to pay.
   */
  const runExclusive = createKeyedMutex();

  const app = Fastify({
    logger: options.logger ?? false,
    // Hung requests must not keep close() waiting.
    forceCloseConnections: true,
    routerOptions: { maxParamLength: 300 },
    // Reject what the schema does not allow instead of coercing or silently dropping it.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
    schemaErrorFormatter: formatSchemaErrors,
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Client errors keep their message (bad JSON, schema, 413, 415); anything else is a bare 500.
  app.setErrorHandler((error: { statusCode?: number; message?: string }, request, reply) => {
    const status =
      error.statusCode && error.statusCode >= 400 && error.statusCode < 500
        ? error.statusCode
        : 500;
    if (status === 500) request.log.error({ err: error }, 'request failed');
    return reply.code(status).send({
      error: STATUS_CODES[status],
      message: status === 500 ? 'internal error' : error.message,
    });
  });

  /** Decides an attempt that may pay and whose key had no verdict when it began. */
  const decidePayout = async (
    key: string | null,
    mode: FaultMode,
    details: PayoutDetails,
  ): Promise<Outcome> => {
    if (mode === 'normal' && random() < faults.readFaults().failureRate) {
      return { verdict: 'failed', replayed: false };
    }
    const { status, replayed } = await bank.recordVerdict(
      key,
      mode === 'refuse'
        ? { status: 'refused', details, at: clock(), reason: REFUSAL_REASON }
        : { status: 'paid', details, at: clock() },
    );
    return { verdict: status, replayed };
  };

  /** Latency then decision; a keyed attempt holds its key meanwhile (a replay does not). */
  const settlePayout = async (
    key: string | null,
    mode: FaultMode,
    details: PayoutDetails,
    latencyMs: number,
  ): Promise<Outcome> => {
    if (key === null) {
      await wait(latencyMs);
      return decidePayout(null, mode, details);
    }
    const outcome = await runExclusive(key, async (): Promise<Outcome> => {
      // The key's earlier verdict wins over everything.
      const known = await bank.findVerdict(key);
      if (known) return { verdict: known.status, replayed: true };
      await wait(latencyMs);
      return decidePayout(key, mode, details);
    });
    if (outcome.replayed) await wait(latencyMs);
    return outcome;
  };

  // The payout route accepts any body under any content type (the original did), so it lives in
  // its own scope whose only parser takes the raw bytes; the admin routes keep strict JSON.
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) =>
      done(null, body),
    );

    scope.post('/', { onRequest: dropContentType }, async (request, reply) => {
      const key = readHeader(request, 'idempotency-key');
      if (key !== undefined && (key.length === 0 || key.length > 255)) {
        return sendBadRequest(reply, 'Idempotency-Key must be 1 to 255 characters');
      }
      const latencyHeader = readHeader(request, 'x-latency-ms');
      const headerLatency = latencyHeader === undefined ? undefined : Number(latencyHeader);
      if (
        headerLatency !== undefined &&
        !(/^\d+$/.test(latencyHeader ?? '') && headerLatency <= MAX_DELAY_MS)
      ) {
        return sendBadRequest(reply, `X-Latency-Ms must be an integer from 0 to ${MAX_DELAY_MS}`);
      }

      const keyOrNull = key ?? null;
      if (keyOrNull !== null) await bank.countAttempt(keyOrNull);
      const rule = faults.takeRule(keyOrNull);
      const mode = rule?.mode ?? 'normal';
      const latencyMs = headerLatency ?? rule?.latencyMs ?? faults.readFaults().latencyMs;

      switch (mode) {
        case 'hang':
          if (rule?.hangMs === undefined) return reply.hijack();
          await wait(rule.hangMs);
          return reply.send(FAILED);
        case 'failed':
          await wait(latencyMs);
          return reply.send(FAILED);
        case 'http500':
          await wait(latencyMs);
          return reply.code(500).send({ data: 'error', status: 500 });
        case 'http503':
          await wait(latencyMs);
          return reply.code(503).send({ data: 'unavailable', status: 503 });
      }

      const details = readPayoutDetails(request.body as Buffer | undefined);
      const outcome = await settlePayout(keyOrNull, mode, details, latencyMs);
      if (mode === 'lostAnswer' || mode === 'lostAnswerHang') {
        reply.hijack();
        if (mode === 'lostAnswer') request.raw.socket.destroy();
        return;
      }
      if (outcome.replayed) reply.header('idempotent-replayed', 'true');
      if (outcome.verdict === 'refused') return reply.code(422).send(REFUSED);
      return reply.send(outcome.verdict === 'paid' ? SUCCESS : FAILED);
    });
  });

  app.get(
    '/transfers/:key',
    { schema: { params: Type.Object({ key: Type.String({ minLength: 1, maxLength: 255 }) }) } },
    async (request, reply) => {
      const { key } = request.params;
      // Behind attempts in progress, so "not found" is not said while one is about to pay.
      const transfer = await runExclusive(key, () => bank.findVerdict(key));
      if (!transfer) return reply.code(404).send({ key, found: false });
      return { found: true, ...transfer };
    },
  );

  app.get('/transfers', async () => {
    const transfers = await bank.listPayouts();
    return { count: transfers.length, transfers };
  });

  app.get('/health', async () => ({ status: 'ok' }));
  void app.register(metricsRoutes);

  app.get('/faults', async () => faults.readFaults());

  app.put('/faults', { schema: { body: FaultSettingsSchema } }, async (request, reply) => {
    const problem = findFaultSettingsProblem(request.body);
    if (problem) return reply.code(400).send({ error: 'Bad Request', message: problem });
    faults.replaceFaults(request.body);
    return faults.readFaults();
  });

  app.delete('/faults', async () => {
    faults.resetFaults();
    return faults.readFaults();
  });

  app.addHook('onClose', () => bank.close());

  return app;
}

/** Not kept alive by its timer: a closing process does not wait for a pending latency. */
function wait(ms: number): Promise<void> {
  return ms > 0 ? sleep(ms, undefined, { ref: false }) : Promise.resolve();
}

function readHeader(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(', ') : value?.trim();
}

function sendBadRequest(reply: FastifyReply, message: string) {
  return reply.code(400).send({ data: 'bad request', status: 400, message });
}

/**
 * The payout body is sniffed, not typed: forgetting the declared content type lets even a
 * malformed header reach the raw-bytes parser instead of a 415.
 */
async function dropContentType(request: FastifyRequest) {
  delete request.raw.headers['content-type'];
}

/** One readable line per problem, e.g. `body/rules/0/mode must be one of: normal, success, ...`. */
function formatSchemaErrors(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const allowed = new Map<string, unknown[]>();
  for (const error of errors) {
    if (error.keyword === 'const') {
      allowed.set(error.instancePath, [
        ...(allowed.get(error.instancePath) ?? []),
        error.params.allowedValue,
      ]);
    }
  }
  const lines = errors
    .filter((error) => error.keyword !== 'const')
    .map((error) => {
      const where = `${dataVar}${error.instancePath}`;
      const choices = allowed.get(error.instancePath);
      if (error.keyword === 'anyOf' && choices)
        return `${where} must be one of: ${choices.join(', ')}`;
      if (error.keyword === 'additionalProperties') {
        return `${where} has an unknown property "${String(error.params.additionalProperty)}"`;
      }
      return `${where} ${error.message ?? 'is invalid'}`;
    });
  return new Error(lines.join('; '));
}

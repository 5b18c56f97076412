// The api role: a Fastify server with the wallet endpoints, live updates (Server-Sent Events),
// operations endpoints, OpenAPI docs and the web console.
import { randomUUID } from 'node:crypto';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance, type FastifyReply, LogController } from 'fastify';
import type pg from 'pg';
import type { ProjectionWaiter } from '../../projections/queries.ts';
import { type AccessOptions, accessPlugin } from '../access/plugin.ts';
import type { WalletCommandHandler } from '../commands/walletCommandHandler.ts';
import { consolePlugin } from '../console/plugin.ts';
import type { EventStore } from '../eventstore/eventStore.ts';
import type { LiveConfig } from '../infra/config.ts';
import { metrics } from '../infra/metrics.ts';
import { type WebhookRoutesOptions, webhookRoutes } from '../webhooks/routes.ts';
import { installBodyParsers } from './bodyParsers.ts';
import { collectMethods, installErrorHandling } from './errors.ts';
import { createLiveHub } from './live/hub.ts';
import { liveRoutes } from './live/routes.ts';
import { operationsRoutes } from './routes/operations.ts';
import { overviewRoutes } from './routes/overview.ts';
import { walletRoutes } from './routes/wallets.ts';
import { securityHeadersPlugin } from './securityHeaders.ts';

export interface ApiOptions {
  readonly commands: WalletCommandHandler;
  readonly store: EventStore;
  readonly pool: pg.Pool;
  readonly waiter: ProjectionWaiter;
  readonly defaultCurrency: string;
  readonly logLevel?: string;
  readonly trustProxy?: boolean;
  /** Links (wallet `url`, `next`) start with this instead of the request's scheme and host. */
  readonly publicUrl?: string;
  readonly clock?: () => Date;
  /** /metrics on this port (API_METRICS); default true. */
  readonly metrics?: boolean;
  /** Keys, limits, allow-list and access log (README, "Access"); `config.auth` false: none. */
  readonly access: Omit<AccessOptions, 'pool' | 'publicUrl'>;
  /** Webhook registrations (README, "Webhooks"); default: private targets refused, no sealing key. */
  readonly webhooks?: Omit<WebhookRoutesOptions, 'pool' | 'publicUrl'>;
  /** Event streams: heartbeat, key re-checks, slow-client limit (README, "Live updates"). */
  readonly live: LiveConfig;
}

export async function buildApi(options: ApiOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: { level: options.logLevel ?? 'info' },
    // Per-request log lines cost more than the request on a hot path; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { ignoreTrailingSlash: true },
    // One proxy in front (the peer): the client is what that proxy saw (the last
    // X-Forwarded-For entry), never what a client wrote into the header itself.
    trustProxy: options.trustProxy ? (_address: string, hop: number) => hop === 0 : false,
    // A URL the router cannot take (bad percent-encoding, an over-long id) names no wallet: 404.
    frameworkErrors: (_error, _request, reply) => {
      void (reply as FastifyReply).code(404).send({ detail: 'Not found.' });
    },
    bodyLimit: 16 * 1024,
    // The request's id is the correlation id of the events it makes: the client's X-Request-Id
    // when it sent a sane one, else a fresh uuid; it is sent back either way.
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
    },
    // No coercion: `["7"]` or `true` is not a string, as the original refused them too.
    ajv: { customOptions: { allErrors: true, removeAdditional: false, coerceTypes: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  installErrorHandling(app);
  installBodyParsers(app);
  // Callback hooks where nothing is awaited: an async hook costs a promise per request.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  // Before collectMethods: CORS adds an OPTIONS route for every path, which must not make others 405.
  await app.register(securityHeadersPlugin, { corsOrigins: options.access.config.corsOrigins });
  const answerOtherMethods = collectMethods(app);
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unknown';
    metrics.httpRequests.inc({ method: request.method, route, status: reply.statusCode });
    metrics.httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    done();
  });

  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: 'Wallet ledger',
        version: '0.1.0',
        description:
          'Event-sourced wallets: deposits, withdrawals scheduled for a future moment, audit history. ' +
          'Every command accepts an Idempotency-Key header; wallet reads carry an ETag (the stream revision). ' +
          'Every /api request carries `Authorization: Bearer <key>` (unless the service runs with AUTH=off).',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(fastifySwaggerUi, {
    routePrefix: '/docs',
    // The UI's own content policy (its scripts and styles), without upgrade-insecure-requests,
    // which would break the UI served over plain http on any host but localhost.
    staticCSP: true,
    transformStaticCSP: (header) => header.replace(/\s*upgrade-insecure-requests;?/, ''),
  });
  await app.register(accessPlugin, {
    ...options.access,
    pool: options.pool,
    publicUrl: options.publicUrl,
  });
  const { commands, store, pool, waiter, defaultCurrency, clock } = options;
  await app.register(walletRoutes, {
    commands,
    store,
    pool,
    waiter,
    defaultCurrency,
    clock,
    publicUrl: options.publicUrl,
  });
  const hub = createLiveHub({
    store,
    onError: (error) => app.log.error({ err: error }, 'the live updates subscription failed'),
  });
  // Open event streams would keep the server from closing: they end first.
  app.addHook('preClose', async () => {
    await hub.close();
  });
  await app.register(liveRoutes, { hub, commands, store, live: options.live });
  await app.register(consolePlugin);
  await app.register(overviewRoutes, { pool, clock: clock ?? (() => new Date()) });
  await app.register(operationsRoutes, {
    pool,
    store,
    auth: options.access.config.auth,
    metrics: options.metrics ?? true,
  });
  await app.register(webhookRoutes, {
    allowPrivateTargets: false,
    secretKey: undefined,
    ...options.webhooks,
    pool,
    publicUrl: options.publicUrl,
  });
  answerOtherMethods();
  return app;
}

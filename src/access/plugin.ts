// Who may call the API: one Fastify plugin that (with AUTH on) identifies every request to an
// /api route by its bearer key, limits its rate, applies the operator allow-list and the scope the
// route declares, and writes refused requests to the access log. The keys and access-log routes
// come with it. Routes declare what they need in their options:
//   config: { scope: 'wallets:read' }    a key with that scope (owner or operator)
//   config: { operatorOnly: true }       an operator key
// An /api route declaring neither needs any valid key. With AUTH=off every request is anonymous
// and nothing is checked or limited (the original's open API).
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type pg from 'pg';
import type { AccessConfig } from '../infra/config.ts';
import { metrics } from '../infra/metrics.ts';
import { createAccessLogWriter } from './accessLog.ts';
import { addressFilter, limitSubject } from './addresses.ts';
import { readBearer } from './apiKeys.ts';
import { createAuthenticator } from './authenticator.ts';
import { bootstrapOperatorKey } from './bootstrap.ts';
import { migrateAccess } from './postgres/migrations.ts';
import { pruneRateWindows } from './postgres/pruneRateWindows.ts';
import { pruneRefusals } from './postgres/pruneRefusals.ts';
import type { RefusalReason } from './postgres/refusal.ts';
import { ANONYMOUS, hasScope, type Principal, type Scope } from './principal.ts';
import { createRateLimiter, type RateDecision, WINDOW_MS } from './rateLimiter.ts';
import { accessRoutes } from './routes.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The scope a key needs for this route. */
    scope?: Scope;
    /** Only operator keys may call this route. */
    operatorOnly?: boolean;
  }
  interface FastifyRequest {
    /** Who is asking (anonymous on open routes and with AUTH=off). */
    principal: Principal;
  }
}

export interface AccessOptions {
  readonly pool: pg.Pool;
  readonly config: AccessConfig;
  /** Where the bootstrap operator key's file goes (DATA_DIR). */
  readonly dataDir: string;
  /** Where links point (PUBLIC_URL); absent: the request's own scheme and host. */
  readonly publicUrl?: string | undefined;
  /** How long a key lookup is trusted by this instance (the revocation delay); default 500 ms. */
  readonly keyCacheMs?: number;
  /** The clock of rate-limit windows and key lookups (tests). */
  readonly now?: () => number;
  /** How often old rate windows and access-log entries are deleted; default 10 minutes. */
  readonly pruneEveryMs?: number;
}

const DAY_MS = 86_400_000;

const DETAIL = {
  no_credentials: 'Authentication credentials were not provided.',
  invalid_token: 'Invalid token.',
  operator_only: 'This action needs an operator key.',
  address_not_allowed: 'Operator keys are not accepted from this address.',
} as const;

interface RefusalNote {
  readonly reason: RefusalReason;
  readonly keyId: string | null;
}
const refusals = new WeakMap<FastifyRequest, RefusalNote>();

/** Whether a request is for an /api route: by the route matched (not the raw URL, which may
 * spell the path another way), or by the URL when no route matched (a 404). */
function isApiRoute(route: string): boolean {
  return route === '/api' || route.startsWith('/api/');
}

const addressBucket = (request: FastifyRequest) => `address:${limitSubject(request.ip)}`;

function setRateHeaders(reply: FastifyReply, decision: RateDecision): void {
  if (decision.limit === 0) return;
  reply.header('ratelimit-limit', decision.limit);
  reply.header('ratelimit-remaining', decision.remaining);
  reply.header('ratelimit-reset', decision.resetSeconds);
}

const accessControl: FastifyPluginAsync<AccessOptions> = async (app, options) => {
  const { pool, config } = options;
  // Set by the onRequest hook below on every request (null is only the decorator's placeholder).
  app.decorateRequest('principal', null as never);
  if (!config.auth) {
    app.log.warn(
      'AUTH=off: the API accepts every request without a key, limit or allow-list (the original service’s open API)',
    );
    app.addHook('onRequest', async (request) => {
      request.principal = ANONYMOUS;
    });
    return;
  }

  await migrateAccess(pool);
  await bootstrapOperatorKey({
    pool,
    operatorApiKey: config.operatorApiKey,
    dataDir: options.dataDir,
    log: { info: (m) => app.log.info(m), warn: (m) => app.log.warn(m) },
  });
  const authenticator = createAuthenticator({
    pool,
    ttlMs: options.keyCacheMs,
    now: options.now,
    onError: (error) => app.log.warn({ err: error }, 'could not record the last use of keys'),
  });
  const limiter = createRateLimiter({ pool, now: options.now });
  const accessLog = createAccessLogWriter({
    pool,
    onError: (error, dropped) =>
      app.log.warn({ err: error, dropped }, 'could not write the access log (retrying)'),
  });
  const operatorAddressAllowed = addressFilter(config.operatorAllowedCidrs);

  const prune = async () => {
    limiter.sweep();
    const now = (options.now ?? Date.now)();
    await pruneRateWindows(pool, new Date(now - 2 * WINDOW_MS));
    await pruneRefusals(pool, new Date(now - config.accessLogRetentionDays * DAY_MS));
  };
  const pruning = setInterval(
    () => prune().catch((error) => app.log.warn({ err: error }, 'access pruning failed')),
    options.pruneEveryMs ?? 600_000,
  );
  pruning.unref();
  app.addHook('onClose', async () => {
    clearInterval(pruning);
    await Promise.all([authenticator.close(), accessLog.close()]);
  });

  const refuse = (
    request: FastifyRequest,
    reply: FastifyReply,
    status: 401 | 403 | 429,
    reason: RefusalReason,
    keyId: string | null,
    detail: string,
  ) => {
    refusals.set(request, { reason, keyId });
    if (status === 401) reply.header('www-authenticate', 'Bearer');
    return reply.code(status).send({ detail });
  };

  /** Counts the request against `bucket`: its headers, and the decision when over the limit. */
  const overLimit = async (reply: FastifyReply, bucket: string, limit: number) => {
    const decision = await limiter.take(bucket, limit);
    setRateHeaders(reply, decision);
    return decision.allowed ? undefined : decision;
  };
  const throttle = (
    request: FastifyRequest,
    reply: FastifyReply,
    decision: RateDecision,
    keyId: string | null,
  ) => {
    reply.header('retry-after', decision.resetSeconds);
    const detail = `Request was throttled. Expected available in ${decision.resetSeconds} seconds.`;
    return refuse(request, reply, 429, 'rate_limited', keyId, detail);
  };

  app.addHook('onRequest', async (request, reply) => {
    request.principal = ANONYMOUS;
    const { url: route, config: needs } = request.routeOptions;
    if (!isApiRoute(route ?? request.url)) return;
    const credentials = readBearer(request.headers.authorization);
    const principal =
      typeof credentials === 'object'
        ? await authenticator.authenticate(credentials.token)
        : undefined;
    if (!principal) {
      // Requests without a valid key share their address's (low) limit: guessing keys is slow.
      const over = await overLimit(reply, addressBucket(request), config.rateLimitAnonymous);
      if (over) return throttle(request, reply, over, null);
      const reason =
        credentials === 'missing' || credentials === 'malformed'
          ? 'no_credentials'
          : 'invalid_token';
      return refuse(request, reply, 401, reason, null, DETAIL[reason]);
    }
    const { keyId } = principal;
    if (principal.kind === 'operator' && !operatorAddressAllowed(request.ip)) {
      // A stolen operator key used from outside: limited like a request without a key.
      const over = await overLimit(reply, addressBucket(request), config.rateLimitAnonymous);
      if (over) return throttle(request, reply, over, keyId);
      return refuse(request, reply, 403, 'address_not_allowed', keyId, DETAIL.address_not_allowed);
    }
    // A key's bucket is its id (a uuid: never `address:...`).
    const over = await overLimit(reply, keyId, config.rateLimitPerKey);
    if (over) return throttle(request, reply, over, keyId);
    request.principal = principal;
    const { scope, operatorOnly } = needs;
    if (operatorOnly && principal.kind !== 'operator') {
      return refuse(request, reply, 403, 'operator_only', keyId, DETAIL.operator_only);
    }
    if (scope && !hasScope(principal, scope)) {
      const detail = `This key does not have the "${scope}" scope.`;
      return refuse(request, reply, 403, 'missing_scope', keyId, detail);
    }
  });

  app.addHook('onResponse', async (request, reply) => {
    const refusal = refusals.get(request);
    if (!refusal) return;
    metrics.refusedRequests.inc({ reason: refusal.reason });
    accessLog.record({
      at: new Date(),
      keyId: refusal.keyId,
      address: request.ip,
      method: request.method,
      path: request.url.split('?')[0]?.slice(0, 500) ?? '',
      status: reply.statusCode,
      reason: refusal.reason,
    });
  });

  await app.register(accessRoutes, { pool, authenticator, publicUrl: options.publicUrl });
};

/** Registered at the top level (its hooks apply to every route), after the body parsers. */
export const accessPlugin = fp(accessControl, { name: 'access-control' });

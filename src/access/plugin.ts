// Who may call the API: one Fastify plugin that (with AUTH on) identifies every request to an
// /api route by its bearer key (or, from the console, by its session cookie), limits its rate,
// applies the operator allow-list and the scope the route declares, and writes refused requests to
// the access log. The keys, access-log and console session routes come with it. A request with a
// session cookie that changes anything must come from the service's own origin (`Origin`), on top
// of the cookie's SameSite=Strict. Routes declare what they need in their options:
//   config: { scope: 'wallets:read' }    a key with that scope (owner or operator)
//   config: { operatorOnly: true }       an operator key
// An /api route declaring neither needs any valid key. With AUTH=off every request is anonymous
// and nothing is checked or limited (the original's open API).
import { fastifyCookie } from '@fastify/cookie';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type pg from 'pg';
import type { AccessConfig } from '../infra/config.ts';
import { metrics } from '../infra/metrics.ts';
import { createAccessLogWriter } from './accessLog.ts';
import { addressFilter, limitSubject } from './addresses.ts';
import { readBearer, sameSecret } from './apiKeys.ts';
import { createAuthenticator } from './authenticator.ts';
import { bootstrapOperatorKey } from './bootstrap.ts';
import { findKeyBySession } from './postgres/findKeyBySession.ts';
import { migrateAccess } from './postgres/migrations.ts';
import { pruneRateWindows } from './postgres/pruneRateWindows.ts';
import { pruneRefusals } from './postgres/pruneRefusals.ts';
import { pruneSessions } from './postgres/pruneSessions.ts';
import type { RefusalReason } from './postgres/refusal.ts';
import { ANONYMOUS, hasScope, type KeyPrincipal, type Principal, type Scope } from './principal.ts';
import { createRateLimiter, type RateDecision, WINDOW_MS } from './rateLimiter.ts';
import { accessRoutes } from './routes.ts';
import { type Presented, presentedAs, SESSION_COOKIE, sessionRoutes } from './sessionRoutes.ts';

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
    /**
     * Whether the key (or session) this request came with is still valid: asked again by
     * long-lived answers (event streams), which end when it is not. True for anonymous requests.
     */
    principalStillValid(): Promise<boolean>;
    /** With AUTH on: the key or session an admitted request presented (null until admitted). */
    admittedWith: Presented | null;
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
  invalid_session: 'Your session has ended; sign in again.',
  operator_only: 'This action needs an operator key.',
  address_not_allowed: 'Operator keys are not accepted from this address.',
  origin_mismatch: 'Cross-origin request refused: send it from this service’s own pages.',
} as const;

/** Methods that change nothing: a session cookie alone is enough for them. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

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
    app.decorateRequest('principalStillValid', async () => true);
    app.log.warn(
      'AUTH=off: the API accepts every request without a key, limit or allow-list (the original service’s open API)',
    );
    app.addHook('onRequest', (request, _reply, done) => {
      request.principal = ANONYMOUS;
      done();
    });
    await app.register(sessionRoutes, { auth: false });
    return;
  }

  await migrateAccess(pool);
  await bootstrapOperatorKey({
    pool,
    operatorApiKey: config.operatorApiKey,
    dataDir: options.dataDir,
    log: { info: (m) => app.log.info(m), warn: (m) => app.log.warn(m) },
  });
  const onKeyUseError = (error: unknown) =>
    app.log.warn({ err: error }, 'could not record the last use of keys');
  const authenticator = createAuthenticator({
    pool,
    ttlMs: options.keyCacheMs,
    now: options.now,
    onError: onKeyUseError,
  });
  // Sessions resolve to their key through the same cache: revoking the key ends them as quickly.
  const sessions = createAuthenticator({
    pool,
    lookup: findKeyBySession,
    ttlMs: options.keyCacheMs,
    now: options.now,
    onError: onKeyUseError,
  });
  const limiter = createRateLimiter({ pool, now: options.now });
  const accessLog = createAccessLogWriter({
    pool,
    onError: (error, dropped) =>
      app.log.warn({ err: error, dropped }, 'could not write the access log (retrying)'),
  });
  const operatorAddressAllowed = addressFilter(config.operatorAllowedCidrs);
  /** The principal of a key or session, through its cache. */
  const authenticate = (presented: Presented) =>
    typeof presented === 'object'
      ? (presented.kind === 'key' ? authenticator : sessions).authenticate(presented.hash)
      : undefined;
  // The credentials an admitted request presented (null: none were needed), so that a long
  // answer (an event stream) can ask again whether they are still valid. A request property, not
  // a map keyed by requests: this runs for every request.
  app.decorateRequest('admittedWith', null);
  app.decorateRequest('principalStillValid', async function (this: FastifyRequest) {
    return this.admittedWith === null || Boolean(await authenticate(this.admittedWith));
  });

  const prune = async () => {
    limiter.sweep();
    const now = (options.now ?? Date.now)();
    await pruneRateWindows(pool, new Date(now - 2 * WINDOW_MS));
    await pruneRefusals(pool, new Date(now - config.accessLogRetentionDays * DAY_MS));
    await pruneSessions(pool, new Date(now));
  };
  const pruning = setInterval(
    () => prune().catch((error) => app.log.warn({ err: error }, 'access pruning failed')),
    options.pruneEveryMs ?? 600_000,
  );
  pruning.unref();
  app.addHook('onClose', async () => {
    clearInterval(pruning);
    await Promise.all([authenticator.close(), sessions.close(), accessLog.close()]);
  });

  const refuse = (
    request: FastifyRequest,
    reply: FastifyReply,
    status: 401 | 403 | 429,
    reason: RefusalReason,
    keyId: string | null,
    detail: string,
  ) => {
    metrics.refusedRequests.inc({ reason });
    accessLog.record({
      at: new Date(),
      keyId,
      address: request.ip,
      method: request.method,
      path: request.url.split('?')[0]?.slice(0, 500) ?? '',
      status,
      reason,
    });
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

  /**
   * The principal of the presented key or session, counted against its rate limit and checked
   * against the operator allow-list; undefined when refused (the answer is sent).
   */
  const admit = async (
    request: FastifyRequest,
    reply: FastifyReply,
    presented: Presented,
  ): Promise<KeyPrincipal | undefined> => {
    const principal = await authenticate(presented);
    if (!principal) {
      // Requests without a valid key share their address's (low) limit: guessing keys is slow.
      const over = await overLimit(reply, addressBucket(request), config.rateLimitAnonymous);
      if (over) return void throttle(request, reply, over, null);
      const reason =
        typeof presented !== 'object'
          ? 'no_credentials'
          : presented.kind === 'key'
            ? 'invalid_token'
            : 'invalid_session';
      return void refuse(request, reply, 401, reason, null, DETAIL[reason]);
    }
    const { keyId } = principal;
    if (principal.kind === 'operator' && !operatorAddressAllowed(request.ip)) {
      // A stolen operator key used from outside: limited like a request without a key.
      const over = await overLimit(reply, addressBucket(request), config.rateLimitAnonymous);
      if (over) return void throttle(request, reply, over, keyId);
      return void refuse(
        request,
        reply,
        403,
        'address_not_allowed',
        keyId,
        DETAIL.address_not_allowed,
      );
    }
    // A key's bucket is its id (a uuid: never `address:...`).
    const over = await overLimit(reply, keyId, config.rateLimitPerKey);
    if (over) return void throttle(request, reply, over, keyId);
    request.admittedWith = presented;
    return principal;
  };

  /** Whether the request comes from the service's own pages (its `Origin` header). */
  const sameOrigin = (request: FastifyRequest): boolean => {
    const origin = request.headers.origin;
    if (!origin) return false;
    if (origin === `${request.protocol}://${request.host}`) return true;
    return options.publicUrl !== undefined && origin === new URL(options.publicUrl).origin;
  };
  const refuseCrossOrigin = (request: FastifyRequest, reply: FastifyReply, keyId: string | null) =>
    refuse(request, reply, 403, 'origin_mismatch', keyId, DETAIL.origin_mismatch);

  /**
   * `admit` without waiting: the principal when this instance already knows the key (or session)
   * and holds a request of its rate limit; undefined, having counted nothing, when `admit` has to
   * decide (a lookup or a claim to wait for, or a refusal to make).
   */
  const admitNow = (
    request: FastifyRequest,
    reply: FastifyReply,
    presented: Presented,
  ): KeyPrincipal | undefined => {
    if (typeof presented !== 'object') return undefined;
    const principal = (presented.kind === 'key' ? authenticator : sessions).peek(presented.hash);
    if (!principal) return undefined;
    if (principal.kind === 'operator' && !operatorAddressAllowed(request.ip)) return undefined;
    const decision = limiter.takeNow(principal.keyId, config.rateLimitPerKey);
    if (!decision) return undefined;
    setRateHeaders(reply, decision);
    request.admittedWith = presented;
    return principal;
  };

  /** Whether an admitted principal may make this request; if not, the refusal is sent. */
  const authorize = (
    request: FastifyRequest,
    reply: FastifyReply,
    presented: Presented,
    principal: KeyPrincipal,
  ): boolean => {
    const { keyId } = principal;
    if (
      typeof presented === 'object' &&
      presented.kind === 'session' &&
      !SAFE_METHODS.has(request.method) &&
      !sameOrigin(request)
    ) {
      refuseCrossOrigin(request, reply, keyId);
      return false;
    }
    request.principal = principal;
    const { scope, operatorOnly } = request.routeOptions.config;
    if (operatorOnly && principal.kind !== 'operator') {
      refuse(request, reply, 403, 'operator_only', keyId, DETAIL.operator_only);
      return false;
    }
    if (scope && !hasScope(principal, scope)) {
      const detail = `This key does not have the "${scope}" scope.`;
      refuse(request, reply, 403, 'missing_scope', keyId, detail);
      return false;
    }
    return true;
  };

  // A callback hook, not an async one: a request with a known key and a claimed request of its
  // limit (nearly every request) goes on without a promise or a turn of the event loop. A refused
  // request is answered here and goes no further (`done` is not called).
  app.addHook('onRequest', (request, reply, done) => {
    request.principal = ANONYMOUS;
    if (!isApiRoute(request.routeOptions.url ?? request.url)) return done();
    const presented = presentedCredentials(request);
    const known = admitNow(request, reply, presented);
    if (known) return authorize(request, reply, presented, known) ? done() : undefined;
    admit(request, reply, presented).then((principal) => {
      let admitted: boolean;
      try {
        admitted = principal !== undefined && authorize(request, reply, presented, principal);
      } catch (error) {
        return done(error as Error); // a 500, as from an async hook, not a request left hanging
      }
      if (admitted) done();
    }, done);
  });

  await app.register(accessRoutes, {
    pool,
    authenticator,
    accessLog,
    publicUrl: options.publicUrl,
  });
  await app.register(sessionRoutes, {
    auth: true,
    pool,
    sessions,
    ttlMs: config.sessionTtlMs,
    now: options.now,
    admit,
    sameOrigin,
    refuseCrossOrigin,
  });
};

/**
 * The Authorization header a connection sent last, parsed: a client sends the same one with every
 * request, so a connection's key is parsed and hashed once. Kept as long as the connection is
 * open. A proxy may carry several clients over one connection, so the header is compared in
 * constant time (`sameSecret`), as a key with another client's.
 */
const lastAuthorization = new WeakMap<object, { header: string; presented: Presented }>();

/** A bearer key if the request has an Authorization header, else its session cookie if any. */
function presentedCredentials(request: FastifyRequest): Presented {
  const header = request.headers.authorization;
  if (header) {
    const last = lastAuthorization.get(request.raw.socket);
    if (last && sameSecret(last.header, header)) return last.presented;
    const bearer = readBearer(header);
    const credentials = typeof bearer === 'object' ? presentedAs('key', bearer.token) : bearer;
    lastAuthorization.set(request.raw.socket, { header, presented: credentials });
    return credentials;
  }
  // Parsed here, not by a hook on every request: most requests carry a key and no cookie.
  const cookies = request.headers.cookie;
  const session = cookies ? fastifyCookie.parse(cookies)[SESSION_COOKIE] : undefined;
  return session ? presentedAs('session', session) : 'missing';
}

/** Registered at the top level (its hooks apply to every route), after the body parsers. */
export const accessPlugin = fp(accessControl, { name: 'access-control' });

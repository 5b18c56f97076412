// The console's sessions: an API key exchanged for a session cookie (HttpOnly, SameSite=Strict,
// with an expiry), so that the page never holds the key. The session id is 256 random bits; only
// its SHA-256 hash is stored (access.sessions), beside the key it stands for: revoking the key ends
// its sessions, signing out ends one. Signing in and out must come from the service's own origin.
//   POST   /console/session  {"key": "wlk_..."}  201 who signed in, Set-Cookie
//   GET    /console/session                       200 who is signed in, 401 nobody
//   DELETE /console/session                       204, the session ended and the cookie cleared
import { randomBytes } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import { Nullable } from '../api/nullable.ts';
import { ErrorResponse } from '../api/schemas.ts';
import { hashApiKey, hashApiKeyText, type KeyHash } from './apiKeys.ts';
import type { Authenticator } from './authenticator.ts';
import { deleteSession } from './postgres/deleteSession.ts';
import { insertSession } from './postgres/insertSession.ts';
import type { KeyPrincipal } from './principal.ts';

export const SESSION_COOKIE = 'wallet_session';

/** What a request presents: a bearer key or a session cookie (the hash of its secret, as the
 * cache and the database know it), or nothing usable. */
export type Presented =
  | { readonly kind: 'key' | 'session'; readonly hash: KeyHash }
  | 'missing'
  | 'malformed';

export const presentedAs = (kind: 'key' | 'session', token: string): Presented => ({
  kind,
  hash: hashApiKeyText(token),
});

export type SessionRoutesOptions =
  | { readonly auth: false }
  | {
      readonly auth: true;
      readonly pool: pg.Pool;
      /** Session id -> the principal of its key (a cached lookup, like keys). */
      readonly sessions: Authenticator;
      readonly ttlMs: number;
      readonly now?: (() => number) | undefined;
      /** The access plugin's checks of presented credentials; undefined: refused and answered. */
      readonly admit: (
        request: FastifyRequest,
        reply: FastifyReply,
        presented: Presented,
      ) => Promise<KeyPrincipal | undefined>;
      readonly sameOrigin: (request: FastifyRequest) => boolean;
      readonly refuseCrossOrigin: (
        request: FastifyRequest,
        reply: FastifyReply,
        keyId: string | null,
      ) => FastifyReply;
    };

const SignInBody = Type.Object(
  { key: Type.String({ minLength: 1, maxLength: 512, description: 'An API key' }) },
  { additionalProperties: false },
);

const SessionInfo = Type.Object({
  auth: Type.Union([Type.Literal('on'), Type.Literal('off')]),
  kind: Type.Union([Type.Literal('owner'), Type.Literal('operator'), Type.Literal('anonymous')]),
  key_id: Nullable(Type.String()),
  owner: Nullable(Type.String()),
  name: Nullable(Type.String()),
  scopes: Type.Array(Type.String()),
  expires: Nullable(Type.String()),
});

function sessionInfo(principal: KeyPrincipal, expires: Date | null) {
  return {
    auth: 'on' as const,
    kind: principal.kind,
    key_id: principal.keyId,
    owner: principal.kind === 'owner' ? principal.owner : null,
    name: principal.kind === 'operator' ? principal.name : null,
    scopes: [...principal.scopes],
    expires: expires?.toISOString() ?? null,
  };
}

const NOT_SIGNED_IN = { detail: 'Not signed in.' };

export const sessionRoutes: FastifyPluginAsyncTypebox<SessionRoutesOptions> = async (
  app,
  options,
) => {
  const common = { hide: true, response: { 401: ErrorResponse, 403: ErrorResponse } };
  if (!options.auth) {
    // AUTH=off: nobody signs in; the console works as the open API does.
    const open = {
      auth: 'off' as const,
      kind: 'anonymous' as const,
      key_id: null,
      owner: null,
      name: null,
      scopes: [],
      expires: null,
    };
    app.get('/console/session', { schema: { ...common } }, async () => open);
    return;
  }
  const { pool, sessions, ttlMs, admit, sameOrigin, refuseCrossOrigin } = options;
  // Cookies are read and set by these routes only (this plugin's scope, not every request's).
  await app.register(fastifyCookie);
  const now = options.now ?? Date.now;
  const secure = (request: FastifyRequest) => request.protocol === 'https';

  app.post(
    '/console/session',
    {
      schema: {
        ...common,
        body: SignInBody,
        response: { ...common.response, 201: SessionInfo, 400: ErrorResponse },
      },
    },
    async (request, reply) => {
      if (!sameOrigin(request)) return refuseCrossOrigin(request, reply, null);
      const principal = await admit(request, reply, presentedAs('key', request.body.key));
      if (!principal) return reply;
      const id = randomBytes(32).toString('base64url');
      const expires = new Date(now() + ttlMs);
      await insertSession(pool, {
        hash: hashApiKey(id),
        keyId: principal.keyId,
        expiresAt: expires,
      });
      return reply
        .code(201)
        .setCookie(SESSION_COOKIE, id, {
          path: '/',
          httpOnly: true,
          sameSite: 'strict',
          secure: secure(request),
          expires,
        })
        .send(sessionInfo(principal, expires));
    },
  );

  app.get(
    '/console/session',
    { schema: { ...common, response: { ...common.response, 200: SessionInfo } } },
    async (request, reply) => {
      const token = request.cookies[SESSION_COOKIE];
      if (!token) return reply.code(401).send(NOT_SIGNED_IN);
      const principal = await admit(request, reply, presentedAs('session', token));
      if (!principal) return reply;
      return sessionInfo(principal, null);
    },
  );

  app.delete(
    '/console/session',
    { schema: { ...common, response: { ...common.response, 204: Type.Null() } } },
    async (request, reply) => {
      if (!sameOrigin(request)) return refuseCrossOrigin(request, reply, null);
      const token = request.cookies[SESSION_COOKIE];
      if (token) {
        const hash = hashApiKeyText(token);
        await deleteSession(pool, Buffer.from(hash, 'base64'));
        sessions.forgetHash(hash);
      }
      return reply
        .code(204)
        .clearCookie(SESSION_COOKIE, {
          path: '/',
          httpOnly: true,
          sameSite: 'strict',
          secure: secure(request),
        })
        .send(null);
    },
  );
};

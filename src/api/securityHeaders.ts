// Security headers on every answer (helmet) and, only when CORS_ORIGINS lists origins, CORS for
// browsers on those origins. The API answers JSON only, so its content policy allows nothing;
// the OpenAPI UI at /docs sets a policy of its own (server.ts).
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';

export interface SecurityHeadersOptions {
  readonly corsOrigins: readonly string[];
}

const securityHeaders: FastifyPluginAsync<SecurityHeadersOptions> = async (app, options) => {
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
    },
  });
  if (options.corsOrigins.length === 0) return;
  // Preflights are answered in its onRequest hook, before any key is asked for.
  await app.register(cors, {
    origin: [...options.corsOrigins],
    methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'If-None-Match'],
    exposedHeaders: [
      'ETag',
      'Location',
      'Retry-After',
      'RateLimit-Limit',
      'RateLimit-Remaining',
      'RateLimit-Reset',
    ],
    maxAge: 600,
  });
};

export const securityHeadersPlugin = fp(securityHeaders, { name: 'security-headers' });

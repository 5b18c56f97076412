// Security headers on every answer (helmet's) and, only when CORS_ORIGINS lists origins, CORS for
// browsers on those origins. The API answers JSON only, so its content policy allows nothing;
// the OpenAPI UI at /docs and the console set policies of their own. helmet's headers do not
// depend on the request here, so they are taken from it once, not made again for every answer
// (as @fastify/helmet does).
import type { IncomingMessage, ServerResponse } from 'node:http';
import cors from '@fastify/cors';
import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import helmet from 'helmet';

export interface SecurityHeadersOptions {
  readonly corsOrigins: readonly string[];
}

/** The headers helmet sets for `options`, as they would go on any answer. */
function helmetHeaders(options: Parameters<typeof helmet>[0]): Record<string, string> {
  const headers: Record<string, string> = {};
  const collect = {
    setHeader: (name: string, value: string | number) => {
      headers[name.toLowerCase()] = String(value);
    },
    removeHeader: () => {},
  };
  let failure: unknown;
  helmet(options)({} as IncomingMessage, collect as unknown as ServerResponse, (error) => {
    failure = error;
  });
  if (failure) throw failure;
  return headers;
}

const securityHeaders: FastifyPluginAsync<SecurityHeadersOptions> = async (app, options) => {
  const headers = Object.entries(
    helmetHeaders({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
      },
    }),
  );
  // On the reply, not the raw response: Node then writes the reply's headers in one go instead of
  // keeping a header table per answer (allocation per request: README, "Performance").
  app.addHook('onRequest', (_request, reply, done) => {
    for (const [name, value] of headers) reply.header(name, value);
    done();
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

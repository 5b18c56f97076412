// The web console at /console/: a few static files read once at start (the page, its script
// modules and styles) and Preact, its hooks and htm served from node_modules as they are installed,
// so nothing is fetched from elsewhere and nothing is built. The pages' content policy is
// `default-src 'self'`: no inline script or style, no other origin. The console talks to the API
// as any client does, with a session cookie (access/sessionRoutes.ts) instead of a key.
import { readdirSync, readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export const CONSOLE_CSP =
  "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'";

const read = (url: URL | string) => readFileSync(url instanceof URL ? url : fileURLToPath(url));

/**
 * The vendored modules. Preact's hooks import `preact` by its bare name, which a browser cannot
 * resolve without an import map (an inline script the policy forbids): the one import is pointed
 * at the file served beside it.
 */
function vendorFiles(): Map<string, Buffer> {
  const hooks = read(import.meta.resolve('preact/hooks')).toString();
  const relinked = hooks.replace(/from\s*"preact"/, 'from"./preact.js"');
  if (relinked === hooks) throw new Error('preact/hooks no longer imports "preact" as expected');
  return new Map([
    ['vendor/preact.js', read(import.meta.resolve('preact'))],
    ['vendor/hooks.js', Buffer.from(relinked)],
    ['vendor/htm.js', read(import.meta.resolve('htm'))],
  ]);
}

function assetFiles(): Map<string, Buffer> {
  const folder = new URL('./assets/', import.meta.url);
  return new Map(
    readdirSync(folder)
      .filter((name) => extname(name) in TYPES)
      .map((name) => [name, read(new URL(name, folder))]),
  );
}

export const consolePlugin: FastifyPluginAsync = async (app) => {
  const files = new Map([...assetFiles(), ...vendorFiles()]);
  const routeOptions = { schema: { hide: true } };

  app.get('/console', routeOptions, async (request, reply) => {
    // ignoreTrailingSlash makes /console and /console/ one route: the page's relative links need
    // the slash. A relative redirect keeps a path prefix a proxy may add in front.
    if (!request.url.split('?')[0]?.endsWith('/')) return reply.redirect('console/', 301);
    return serve(reply, 'index.html');
  });
  app.get<{ Params: { '*': string } }>('/console/*', routeOptions, async (request, reply) =>
    serve(reply, request.params['*']),
  );

  function serve(reply: FastifyReply, name: string) {
    const body = files.get(name);
    if (!body) return reply.code(404).send({ detail: 'Not found.' });
    return reply
      .header('content-type', TYPES[extname(name)] as string)
      .header('content-security-policy', CONSOLE_CSP)
      .header('cache-control', 'no-cache')
      .send(body);
  }
};

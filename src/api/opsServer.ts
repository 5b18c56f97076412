// Health and metrics for the roles without an API (projector, scheduler), on OPS_PORT, so they can
// be probed and scraped like the api.
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import { registry } from '../infra/metrics.ts';

export async function startOpsServer(options: {
  port: number;
  host: string;
  /** The role's own view of its health; `ok: false` answers 503. */
  health: () => Promise<{ ok: boolean } & Record<string, unknown>>;
}): Promise<FastifyInstance> {
  const app = Fastify({ logController: new LogController({ disableRequestLogging: true }) });
  app.get('/health', async (_request, reply) => {
    const { ok, ...details } = await options.health().catch((error: Error) => ({
      ok: false,
      error: error.message,
    }));
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', ...details });
  });
  app.get('/metrics', async (_request, reply) =>
    reply.header('content-type', registry.contentType).send(await registry.metrics()),
  );
  await app.listen({ port: options.port, host: options.host });
  return app;
}

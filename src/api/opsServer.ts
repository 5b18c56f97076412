// Health and metrics for the roles without an API (projector, scheduler), on OPS_PORT, so they can
// be probed and scraped like the api.
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import { type HealthOptions, healthRoutes } from './routes/operations.ts';

export async function startOpsServer(
  options: HealthOptions & { port: number; host: string },
): Promise<FastifyInstance> {
  const app = Fastify({ logController: new LogController({ disableRequestLogging: true }) });
  await app.register(healthRoutes, { health: options.health });
  await app.listen({ port: options.port, host: options.host });
  return app;
}

// Health, readiness and metrics: what an operator and a load balancer ask.
import type { FastifyPluginAsync } from 'fastify';
import type pg from 'pg';
import { readProjectionStatus } from '../../../projections/queries.ts';
import { type EventStore, START } from '../../eventstore/eventStore.ts';
import { sendMetrics } from '../../infra/metrics.ts';
import { createDatabaseProbe } from '../../infra/postgres.ts';

export interface HealthOptions {
  /** The role's own view of whether it can serve; `ok: false` answers 503 with the details. */
  readonly health: () => Promise<{ ok: boolean } & Record<string, unknown>>;
  /** Serve /metrics here too; default true. */
  readonly metrics?: boolean;
}

/**
 * `/health` and `/metrics`, for the api and for the roles without one (on OPS_PORT). Health is
 * cheap (a probe answered from a short cache) and says whether the role can serve at all: a role
 * whose database is gone is not ok, whatever else still runs.
 */
export const healthRoutes: FastifyPluginAsync<HealthOptions> = async (
  app,
  { health, metrics = true },
) => {
  app.get('/health', { schema: { hide: true } }, async (_request, reply) => {
    const { ok, ...details } = await health().catch((error: Error) => ({
      ok: false,
      error: error.message,
    }));
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', ...details });
  });

  if (!metrics) return;
  app.get('/metrics', { schema: { hide: true } }, sendMetrics);
};

export interface OperationsOptions {
  readonly pool: pg.Pool;
  readonly store: EventStore;
  /** AUTH on or off: /ready says which, so an open API is never a surprise. */
  readonly auth: boolean;
  /** /metrics on the API's port (API_METRICS). */
  readonly metrics: boolean;
}

const check = async (probe: () => Promise<unknown>) => {
  try {
    await probe();
    return 'ok';
  } catch (error) {
    return `unavailable: ${(error as Error).message}`;
  }
};

/** The projector's checkpoint as /ready and /api/status show it. */
export function projectionJson(projection: Awaited<ReturnType<typeof readProjectionStatus>>) {
  const { lastRecordedAt, updatedAt } = projection;
  return {
    last_event_recorded_at: lastRecordedAt?.toISOString() ?? null,
    last_batch_at: updatedAt?.toISOString() ?? null,
    // How old the newest applied event was when its batch committed (projector lag).
    lag_ms: lastRecordedAt && updatedAt ? updatedAt.getTime() - lastRecordedAt.getTime() : null,
  };
}

export const operationsRoutes: FastifyPluginAsync<OperationsOptions> = async (
  app,
  { pool, store, auth, metrics },
) => {
  await app.register(healthRoutes, { health: createDatabaseProbe(pool), metrics });

  app.get(
    '/ready',
    {
      schema: {
        summary: 'Event store and database reachable; projector lag; whether keys are required',
        security: [],
      },
    },
    async (_request, reply) => {
      const [database, eventStore] = await Promise.all([
        check(() => pool.query('select 1')),
        check(() => store.readAll(START, 1)),
      ]);
      const projection = await readProjectionStatus(pool).catch(() => undefined);
      const ready = database === 'ok' && eventStore === 'ok';
      return reply.code(ready ? 200 : 503).send({
        status: ready ? 'ready' : 'not ready',
        database,
        event_store: eventStore,
        auth: auth ? 'on' : 'off',
        projection: projection && projectionJson(projection),
      });
    },
  );
};

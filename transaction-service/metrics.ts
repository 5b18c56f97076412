// GET /metrics of the transaction-service: its process's health (memory, event-loop delay, ...)
// labelled role="transaction-service", scraped like the ledger's own roles.
import type { FastifyPluginAsync } from 'fastify';
import { sendMetrics, setMetricsRole } from '../src/infra/metrics.ts';

export const metricsRoutes: FastifyPluginAsync = async (app) => {
  setMetricsRole('transaction-service');
  app.get('/metrics', sendMetrics);
};

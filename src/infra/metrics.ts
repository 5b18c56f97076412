// Prometheus metrics of every role, in one registry per process (served at GET /metrics). The
// names are what monitoring/ (dashboard, alert rules) queries: test/ops checks that they match.
import type { FastifyReply } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export const registry = new Registry();
// The process's own health: memory, CPU, GC, event-loop delay (nodejs_eventloop_lag_p99_seconds).
collectDefaultMetrics({ register: registry });

/** Labels every metric of this process with its role (`role="serve"`, `"project"`, ...). */
export function setMetricsRole(role: string): void {
  registry.setDefaultLabels({ role });
}

/** GET /metrics: every metric of this process in Prometheus' text format. */
export async function sendMetrics(_request: unknown, reply: FastifyReply): Promise<FastifyReply> {
  return reply.header('content-type', registry.contentType).send(await registry.metrics());
}

export const metrics = {
  httpRequests: new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests by method, route and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  }),
  httpDuration: new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by method and route',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  }),
  refusedRequests: new Counter({
    name: 'wallet_http_refused_total',
    help: 'API requests refused by the access layer (401, 403, 429), by reason',
    labelNames: ['reason'] as const,
    registers: [registry],
  }),
  commandConflicts: new Counter({
    name: 'wallet_command_conflicts_total',
    help: 'Appends refused for a stale expected revision (each one is retried)',
    registers: [registry],
  }),
  projectedEvents: new Counter({
    name: 'projector_events_total',
    help: 'Events applied to the read models',
    registers: [registry],
  }),
  projectorLag: new Gauge({
    name: 'projector_lag_seconds',
    help: 'Age of the newest applied event when its batch committed',
    registers: [registry],
  }),
  projectorBatchSize: new Histogram({
    name: 'projector_batch_events',
    help: 'Events applied per read-model transaction',
    buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000],
    registers: [registry],
  }),
  projectorActive: new Gauge({
    name: 'projector_active',
    help: '1 while this instance holds the projector lock and projects, 0 while it stands by',
    registers: [registry],
  }),
  dueBacklog: new Gauge({
    name: 'scheduler_due_backlog',
    help: 'Withdrawal steps due now and not claimed',
    registers: [registry],
  }),
  lateness: new Histogram({
    name: 'scheduler_lateness_seconds',
    help: 'Time from a withdrawal being due to it starting (or failing for funds)',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    registers: [registry],
  }),
  payoutAttempts: new Counter({
    name: 'scheduler_payout_attempts_total',
    help: 'Third-party payout requests by result',
    labelNames: ['result'] as const,
    registers: [registry],
  }),
  awaitingSettlement: new Gauge({
    name: 'wallet_withdrawals_awaiting_settlement',
    help: 'Withdrawals whose payout outcome the third party cannot tell, waiting for an operator',
    registers: [registry],
  }),
  resendsAfterNotFound: new Counter({
    name: 'scheduler_payout_resends_after_not_found_total',
    help: 'Payout requests on record that the third party did not know, so another one follows',
    registers: [registry],
  }),
  outcomeConflicts: new Counter({
    name: 'scheduler_withdrawal_outcome_conflicts_total',
    help: 'Third-party verdicts that contradict how the withdrawal ended, by reported verdict',
    labelNames: ['reported'] as const,
    registers: [registry],
  }),
  withdrawalOutcomes: new Counter({
    name: 'scheduler_withdrawal_outcomes_total',
    help: 'Withdrawals ended by the scheduler, by outcome',
    labelNames: ['outcome'] as const,
    registers: [registry],
  }),
  webhookOutboxEvents: new Counter({
    name: 'webhook_outbox_events_total',
    help: 'Events the notify role read from the global log into its outbox',
    registers: [registry],
  }),
  webhookOutboxLag: new Gauge({
    name: 'webhook_outbox_lag_seconds',
    help: 'Age of the newest event in the outbox when its batch committed',
    registers: [registry],
  }),
  webhookOutboxActive: new Gauge({
    name: 'webhook_outbox_active',
    help: '1 while this notify instance writes the outbox, 0 while it stands by (it delivers either way)',
    registers: [registry],
  }),
  webhookSecretsUnreadable: new Gauge({
    name: 'webhook_secrets_unreadable',
    help: 'Webhook endpoints this notify instance cannot sign for (WEBHOOK_SECRET_KEY missing or another)',
    registers: [registry],
  }),
  webhookAttempts: new Counter({
    name: 'webhook_delivery_attempts_total',
    help: 'Webhook delivery attempts by result (delivered, http_error, timeout, connection_error, refused_target)',
    labelNames: ['result'] as const,
    registers: [registry],
  }),
  webhookAttemptDuration: new Histogram({
    name: 'webhook_attempt_duration_seconds',
    help: 'Time from sending a webhook to its answer (or to the failure)',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  }),
  webhookDeliveries: new Counter({
    name: 'webhook_deliveries_total',
    help: 'Webhook deliveries ended, by outcome (delivered, failed: every attempt spent)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  }),
  webhookOldestPending: new Gauge({
    name: 'webhook_oldest_pending_seconds',
    help: 'Age of the oldest undelivered delivery per endpoint (absent: nothing pending)',
    labelNames: ['endpoint'] as const,
    registers: [registry],
  }),
  webhookEndpointsDisabled: new Counter({
    name: 'webhook_endpoints_disabled_total',
    help: 'Webhook endpoints disabled for failing every attempt for WEBHOOK_DISABLE_AFTER',
    registers: [registry],
  }),
};

// Prometheus metrics of every role, in one registry per process (served at GET /metrics). The
// names are what monitoring/ (dashboard, alert rules) queries: test/ops checks that they match.
import type { FastifyReply } from 'fastify';
import {
  Counter,
  type CounterConfiguration,
  collectDefaultMetrics,
  Gauge,
  type GaugeConfiguration,
  Histogram,
  type HistogramConfiguration,
  Registry,
} from 'prom-client';

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

// Every metric below is registered in `registry` (and only there).
const counter = <L extends string>(config: CounterConfiguration<L>) =>
  new Counter({ ...config, registers: [registry] });
const gauge = <L extends string>(config: GaugeConfiguration<L>) =>
  new Gauge({ ...config, registers: [registry] });
const histogram = <L extends string>(config: HistogramConfiguration<L>) =>
  new Histogram({ ...config, registers: [registry] });

export const metrics = {
  httpRequests: counter({
    name: 'http_requests_total',
    help: 'HTTP requests by method, route and status code',
    labelNames: ['method', 'route', 'status'],
  }),
  httpDuration: histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by method and route',
    labelNames: ['method', 'route'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  }),
  refusedRequests: counter({
    name: 'wallet_http_refused_total',
    help: 'API requests refused by the access layer (401, 403, 429), by reason',
    labelNames: ['reason'],
  }),
  commandConflicts: counter({
    name: 'wallet_command_conflicts_total',
    help: 'Appends refused for a stale expected revision (each one is retried)',
  }),
  projectedEvents: counter({
    name: 'projector_events_total',
    help: 'Events applied to the read models',
  }),
  projectorLag: gauge({
    name: 'projector_lag_seconds',
    help: 'Age of the newest applied event when its batch committed',
  }),
  projectorBatchSize: histogram({
    name: 'projector_batch_events',
    help: 'Events applied per read-model transaction',
    buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000],
  }),
  projectorActive: gauge({
    name: 'projector_active',
    help: '1 while this instance holds the projector lock and projects, 0 while it stands by',
  }),
  dueBacklog: gauge({
    name: 'scheduler_due_backlog',
    help: 'Withdrawal steps due now and not claimed',
  }),
  lateness: histogram({
    name: 'scheduler_lateness_seconds',
    help: 'Time from a withdrawal being due to it starting (or failing for funds)',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
  }),
  payoutAttempts: counter({
    name: 'scheduler_payout_attempts_total',
    help: 'Third-party payout requests by result',
    labelNames: ['result'],
  }),
  awaitingSettlement: gauge({
    name: 'wallet_withdrawals_awaiting_settlement',
    help: 'Withdrawals whose payout outcome the third party cannot tell, waiting for an operator',
  }),
  resendsAfterNotFound: counter({
    name: 'scheduler_payout_resends_after_not_found_total',
    help: 'Payout requests on record that the third party did not know, so another one follows',
  }),
  outcomeConflicts: counter({
    name: 'scheduler_withdrawal_outcome_conflicts_total',
    help: 'Third-party verdicts that contradict how the withdrawal ended, by reported verdict',
    labelNames: ['reported'],
  }),
  withdrawalOutcomes: counter({
    name: 'scheduler_withdrawal_outcomes_total',
    help: 'Withdrawals ended by the scheduler, by outcome',
    labelNames: ['outcome'],
  }),
  webhookOutboxEvents: counter({
    name: 'webhook_outbox_events_total',
    help: 'Events the notify role read from the global log into its outbox',
  }),
  webhookOutboxLag: gauge({
    name: 'webhook_outbox_lag_seconds',
    help: 'Age of the newest event in the outbox when its batch committed',
  }),
  webhookOutboxActive: gauge({
    name: 'webhook_outbox_active',
    help: '1 while this notify instance writes the outbox, 0 while it stands by (it delivers either way)',
  }),
  webhookSecretsUnreadable: gauge({
    name: 'webhook_secrets_unreadable',
    help: 'Webhook endpoints this notify instance cannot sign for (WEBHOOK_SECRET_KEY missing or another)',
  }),
  webhookAttempts: counter({
    name: 'webhook_delivery_attempts_total',
    help: 'Webhook delivery attempts by result (delivered, http_error, timeout, connection_error, refused_target)',
    labelNames: ['result'],
  }),
  webhookAttemptDuration: histogram({
    name: 'webhook_attempt_duration_seconds',
    help: 'Time from sending a webhook to its answer (or to the failure)',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  }),
  webhookDeliveries: counter({
    name: 'webhook_deliveries_total',
    help: 'Webhook deliveries ended, by outcome (delivered, failed: every attempt spent)',
    labelNames: ['outcome'],
  }),
  webhookOldestPending: gauge({
    name: 'webhook_oldest_pending_seconds',
    help: 'Age of the oldest undelivered delivery per endpoint (absent: nothing pending)',
    labelNames: ['endpoint'],
  }),
  webhookEndpointsDisabled: counter({
    name: 'webhook_endpoints_disabled_total',
    help: 'Webhook endpoints disabled for failing every attempt for WEBHOOK_DISABLE_AFTER',
  }),
};

// Prometheus metrics of every role, in one registry per process (served at GET /metrics).
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export const registry = new Registry();
collectDefaultMetrics({ register: registry });

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
  withdrawalOutcomes: new Counter({
    name: 'scheduler_withdrawal_outcomes_total',
    help: 'Withdrawals ended by the scheduler, by outcome',
    labelNames: ['outcome'] as const,
    registers: [registry],
  }),
};

// Metrics of the live updates (Server-Sent Events), in the process's one registry.
import { Counter, Gauge } from 'prom-client';
import { registry } from '../../infra/metrics.ts';

export const liveMetrics = {
  clients: new Gauge({
    name: 'wallet_live_clients',
    help: 'Open event streams, by feed (wallet: one wallet; all: the operator feed)',
    labelNames: ['feed'] as const,
    registers: [registry],
  }),
  subscriptions: new Gauge({
    name: 'wallet_live_subscriptions',
    help: 'Event-store subscriptions feeding the event streams (one per API process while in use)',
    registers: [registry],
  }),
  subscriptionsStarted: new Counter({
    name: 'wallet_live_subscriptions_started_total',
    help: 'Event-store subscriptions started for the event streams',
    registers: [registry],
  }),
  ended: new Counter({
    name: 'wallet_live_streams_ended_total',
    help: 'Event streams the server ended, by reason (too_slow, revoked, unavailable, shutdown)',
    labelNames: ['reason'] as const,
    registers: [registry],
  }),
};

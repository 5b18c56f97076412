// The notify role: the outbox writer (one active per database) follows the global log into
// deliveries, and every instance delivers them (lanes claimed with SKIP LOCKED and a lease). The
// active writer also applies retry requests, keeps the oldest-undelivered gauge and sweeps (in a
// loop of its own, so a long sweep never holds up retries).
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { EventStore } from '../src/eventstore/eventStore.ts';
import type { WebhookConfig } from '../src/infra/config.ts';
import type { Logger } from '../src/infra/logger.ts';
import { metrics } from '../src/infra/metrics.ts';
import type { Resolve } from '../src/webhooks/targets.ts';
import { type Deliverer, startDeliverer } from './deliverer.ts';
import { runFollower } from './follower.ts';
import { attemptsFor } from './retryPolicy.ts';
import { migrateNotify, registrationsExist } from './schema.ts';
import { createSender } from './sender.ts';
import { applyRetries } from './store/applyRetries.ts';
import { oldestPending } from './store/oldestPending.ts';
import { sweep } from './sweeper.ts';

export interface NotifyOptions {
  readonly pool: pg.Pool;
  readonly store: EventStore;
  readonly config: WebhookConfig;
  readonly log: Logger;
  readonly clock?: () => Date;
  readonly random?: () => number;
  /** Name resolution for the target check (tests: a stand-in resolver). */
  readonly resolve?: Resolve;
  /**
   * How often retry requests are applied, the gauge is refreshed and the sweep starts (default
   * 500 ms / 10 s / 60 s; a sweep that did not catch up within its budget goes on at once).
   */
  readonly housekeepingMs?: { retries?: number; gauge?: number; sweep?: number };
  readonly pollMs?: number;
}

export interface Notify {
  /** Resolves when the role has stopped (after `stop`); rejects on a fatal error. */
  readonly done: Promise<void>;
  /** Whether this instance writes the outbox (the others only deliver). */
  isActive(): boolean;
  /** Claims due deliveries now instead of at the next poll (tests). */
  wake(): void;
  /** Endpoints whose signing secret this instance cannot read (it leaves them to others). */
  unreadableSecrets(): string[];
  stop(): Promise<void>;
}

export function startNotify(options: NotifyOptions): Notify {
  const { pool, store, config, log } = options;
  const clock = options.clock ?? (() => new Date());
  const controller = new AbortController();
  const { signal } = controller;
  let active = false;
  let deliverer: Deliverer | undefined;
  const sender = createSender({
    timeoutMs: config.timeoutMs,
    connections: config.concurrencyPerEndpoint,
    allowPrivateTargets: config.allowPrivateTargets,
    resolve: options.resolve,
  });
  const every = {
    retries: options.housekeepingMs?.retries ?? 500,
    gauge: options.housekeepingMs?.gauge ?? 10_000,
    sweep: options.housekeepingMs?.sweep ?? 60_000,
  };

  /**
   * Runs `work` every `ms` while this instance is active, the first time `firstMs` after it became
   * active (and at once again when it says it is not done).
   */
  async function repeat(
    name: string,
    { ms, firstMs = ms }: { ms: number; firstMs?: number },
    work: () => Promise<boolean | undefined>,
  ) {
    let wait = firstMs;
    while (!signal.aborted) {
      await sleep(wait, undefined, { signal }).catch(() => {});
      // A standby keeps looking at the first period, so it starts soon once it is active.
      wait = active ? ms : firstMs;
      if (!active || signal.aborted) continue;
      try {
        if ((await work()) === false) wait = 0;
      } catch (error) {
        log.warn(`notify ${name} failed`, { error: (error as Error).message });
      }
    }
  }

  let gaugeAt = 0;
  async function retriesAndGauge(): Promise<undefined> {
    if ((await applyRetries(pool, clock())) > 0) deliverer?.wake();
    const now = clock();
    if (now.getTime() - gaugeAt < every.gauge) return;
    gaugeAt = now.getTime();
    const oldest = await oldestPending(pool);
    metrics.webhookOldestPending.reset();
    for (const [endpoint, at] of oldest)
      metrics.webhookOldestPending.set({ endpoint }, (now.getTime() - at.getTime()) / 1000);
  }
  const housekeeping = () =>
    Promise.all([
      repeat('housekeeping', { ms: every.retries }, retriesAndGauge),
      repeat('sweep', { ms: every.sweep, firstMs: every.retries }, async () => {
        const swept = await sweep(pool, {
          now: clock(),
          retentionDays: config.retentionDays,
          signal,
        });
        return swept.done;
      }),
    ]);

  async function run(): Promise<void> {
    // The registrations are the API's: wait until an API has created them.
    let warned = false;
    while (!signal.aborted && !(await registrationsExist(pool).catch(() => false))) {
      if (!warned)
        log.warn('waiting for the api to create the webhook registrations (webhooks.endpoints)');
      warned = true;
      await sleep(1000, undefined, { signal }).catch(() => {});
    }
    if (signal.aborted) return;
    await migrateNotify(pool);
    deliverer = startDeliverer({
      pool,
      sender,
      retryScheduleMs: config.retryScheduleMs,
      concurrencyPerEndpoint: config.concurrencyPerEndpoint,
      leaseMs: config.leaseMs,
      disableAfterMs: config.disableAfterMs,
      secretKey: config.secretKey,
      log,
      clock,
      random: options.random,
      pollMs: options.pollMs,
    });
    await Promise.all([
      runFollower({
        store,
        pool,
        signal,
        clock,
        maxAttempts: attemptsFor(config.retryScheduleMs),
        retentionDays: config.retentionDays,
        log: (message, details) => log.info(message, details),
        onActive: (now) => {
          active = now;
          metrics.webhookOutboxActive.set(now ? 1 : 0);
          if (!now) metrics.webhookOldestPending.reset();
        },
        onBatch: ({ events, deliveries, last }) => {
          metrics.webhookOutboxEvents.inc(events);
          metrics.webhookOutboxLag.set((Date.now() - last.recordedAt.getTime()) / 1000);
          if (deliveries > 0) deliverer?.wake();
        },
      }),
      housekeeping(),
    ]);
  }

  const done = run().finally(async () => {
    await deliverer?.stop();
    await sender.close();
  });
  return {
    done,
    isActive: () => active,
    wake: () => deliverer?.wake(),
    unreadableSecrets: () => deliverer?.unreadableSecrets() ?? [],
    stop: async () => {
      controller.abort();
      await done;
    },
  };
}

// Wiring of the roles: what each one opens, starts and closes. The CLI composes them; tests start
// them the same way.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { type Notify, type NotifyOptions, startNotify } from '../../notify/notify.ts';
import { runProjector } from '../../projections/projector.ts';
import { createProjectionWaiter } from '../../projections/queries.ts';
import { createPayoutClient } from '../../scheduler/payoutClient.ts';
import { startScheduler } from '../../scheduler/scheduler.ts';
import type { AccessOptions } from '../access/plugin.ts';
import { startOpsServer } from '../api/opsServer.ts';
import { buildApi } from '../api/server.ts';
import { createWalletCommandHandler } from '../commands/walletCommandHandler.ts';
import type { EventStore } from '../eventstore/eventStore.ts';
import { openEventStore } from '../eventstore/index.ts';
import type { Config } from '../infra/config.ts';
import { type Database, openDatabase } from '../infra/database.ts';
import type { Logger } from '../infra/logger.ts';
import { metrics } from '../infra/metrics.ts';
import { nodeScriptArgs } from '../infra/nodeScript.ts';
import { isPortFree } from '../infra/ports.ts';
import { createDatabaseProbe } from '../infra/postgres.ts';
import { type Child, describeExit, type ExitStatus, superviseChild } from './supervision.ts';

export interface Runtime {
  readonly config: Config;
  readonly db: Database;
  readonly store: EventStore;
  readonly log: Logger;
  close(): Promise<void>;
}

export async function openRuntime(config: Config, log: Logger, poolSize = 30): Promise<Runtime> {
  const db = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    defaultDataDir: config.defaultDataDir,
    poolSize,
    log,
  });
  const store = await openEventStore({ eventStoreUrl: config.eventStoreUrl, pool: db.pool });
  return {
    config,
    db,
    store,
    log,
    close: async () => {
      await store.close();
      await db.close();
    },
  };
}

/** A role whose `done` resolves when `stop` has run. */
function untilStopped(stop: () => Promise<void>): Pick<Running, 'done' | 'stop'> {
  let stopped: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    stopped = resolve;
  });
  return {
    done,
    stop: async () => {
      await stop();
      stopped();
    },
  };
}

export interface Running {
  /** The role's name in log lines: api, projector, scheduler, ops, transaction-service. */
  readonly name: string;
  readonly url?: string;
  /** Resolves when the role has stopped (after `stop`, or by itself on a fatal error). */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

/** `access.now`: the clock of rate-limit windows and key lookups (tests). */
export async function startApi(
  runtime: Runtime,
  port = runtime.config.port,
  access: Pick<AccessOptions, 'now'> = {},
): Promise<Running> {
  const { config, db, store } = runtime;
  const waiter = await createProjectionWaiter(db.url);
  const commands = createWalletCommandHandler(store, {
    onConflict: () => metrics.commandConflicts.inc(),
  });
  const app = await buildApi({
    commands,
    store,
    pool: db.pool,
    waiter,
    defaultCurrency: config.defaultCurrency,
    logLevel: config.logLevel,
    trustProxy: config.trustProxy,
    publicUrl: config.publicUrl,
    metrics: config.apiMetrics,
    access: { config: config.access, dataDir: config.dataDir, ...access },
    webhooks: {
      allowPrivateTargets: config.webhooks.allowPrivateTargets,
      secretKey: config.webhooks.secretKey,
    },
    live: config.live,
  });
  await app.listen({ port, host: config.host });
  const address = app.server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  return {
    name: 'api',
    url: `http://localhost:${boundPort}`,
    ...untilStopped(async () => {
      await app.close();
      await waiter.close();
    }),
  };
}

/**
 * /health and /metrics on OPS_PORT (for a role without an API, or an api whose port keeps /metrics
 * off with API_METRICS=false): healthy while the database answers, with whatever the role adds
 * (the projector: whether it is the active one).
 */
export async function startOpsRole(
  runtime: Runtime,
  details: () => Record<string, unknown> = () => ({}),
): Promise<Running | undefined> {
  const { opsPort, host } = runtime.config;
  if (opsPort === undefined) return undefined;
  const database = createDatabaseProbe(runtime.db.pool);
  const app = await startOpsServer({
    port: opsPort,
    host,
    health: async () => ({ ...(await database()), ...details() }),
  });
  runtime.log.info(`health and metrics on http://${host}:${opsPort}`);
  return { name: 'ops', ...untilStopped(() => app.close()) };
}

export function startProjector(runtime: Runtime): Running & { isActive(): boolean } {
  const controller = new AbortController();
  let active = false;
  const done = runProjector({
    store: runtime.store,
    pool: runtime.db.pool,
    signal: controller.signal,
    log: (message, details) => runtime.log.info(message, details),
    onBatch: ({ events, lagMs }) => {
      metrics.projectedEvents.inc(events);
      metrics.projectorBatchSize.observe(events);
      metrics.projectorLag.set(lagMs / 1000);
    },
    onActive: (now) => {
      active = now;
      metrics.projectorActive.set(now ? 1 : 0);
      // A standby projects nothing: its last lag as the active one must not linger in max().
      if (!now) metrics.projectorLag.set(0);
    },
  });
  return {
    name: 'projector',
    done,
    isActive: () => active,
    stop: async () => {
      controller.abort();
      await done;
    },
  };
}

export async function startSchedulerRole(
  runtime: Runtime,
  transactionServiceUrl: string,
): Promise<Running> {
  const { config, db, store, log } = runtime;
  const payouts = createPayoutClient({
    baseUrl: transactionServiceUrl,
    timeoutMs: config.thirdPartyTimeoutMs,
    connections: config.schedulerConcurrency,
  });
  const scheduler = await startScheduler({
    pool: db.pool,
    commands: createWalletCommandHandler(store, {
      onConflict: () => metrics.commandConflicts.inc(),
    }),
    payouts,
    concurrency: config.schedulerConcurrency,
    maxAttempts: config.withdrawalMaxAttempts,
    retryBaseMs: config.withdrawalRetryBaseMs,
    leaseMs: config.leaseMs,
    log,
  });
  return {
    name: 'scheduler',
    ...untilStopped(async () => {
      await scheduler.stop();
      await payouts.close();
    }),
  };
}

/**
 * The notify role: the outbox writer (one active per database) and the deliverer (in every
 * instance). `options` lets tests give a clock, a resolver or shorter housekeeping periods.
 */
export function startNotifyRole(
  runtime: Runtime,
  options: Partial<Omit<NotifyOptions, 'pool' | 'store' | 'log'>> = {},
): Running & Pick<Notify, 'isActive' | 'unreadableSecrets'> {
  const notify = startNotify({
    pool: runtime.db.pool,
    store: runtime.store,
    config: runtime.config.webhooks,
    log: runtime.log,
    ...options,
  });
  const { done, isActive, unreadableSecrets, stop } = notify;
  return { name: 'notify', done, isActive, unreadableSecrets, stop };
}

const TRANSACTION_SERVICE = nodeScriptArgs('../../transaction-service/main.ts', import.meta.url);

/**
 * The transaction-service as a child process (what `npm start` runs beside the other roles), on
 * its configured port, or a free one when that is taken (say, by another `npm start`). A crash is
 * restarted on the same port with backoff (supervision.ts).
 */
export async function spawnTransactionService(
  config: Config,
  log: Logger,
  env: Record<string, string> = {},
): Promise<Running> {
  let port = (await isPortFree(config.transactionServicePort)) ? config.transactionServicePort : 0;
  return superviseChild({
    name: 'transaction-service',
    log,
    start: async () => {
      const child = await startTransactionServiceChild(port, env);
      port = Number(new URL(child.url).port);
      log.info(
        `transaction-service (third-party stand-in, pid ${child.pid}) listening at ${child.url}${child.said}`,
      );
      return child;
    },
  });
}

const READY = /^transaction-service listening at (\S+)(.*)$/;

/** One transaction-service process, ready; its output after the ready line goes to ours. */
function startTransactionServiceChild(
  port: number,
  env: Record<string, string>,
): Promise<Child & { said: string }> {
  const child = spawn(process.execPath, TRANSACTION_SERVICE, {
    env: { ...process.env, ...env, TRANSACTION_SERVICE_PORT: String(port) },
    // The IPC channel lets the child notice when this process is gone, even after a SIGKILL.
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const exited = new Promise<ExitStatus>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  return new Promise((resolve, reject) => {
    let ready = false;
    const timer = setTimeout(() => {
      reject(new Error('transaction-service was not ready within 60 s'));
      void stop();
    }, 60_000);
    child.once('error', reject); // it could not be spawned at all
    void exited.then((status) => {
      clearTimeout(timer);
      if (!ready)
        reject(
          new Error(`transaction-service ended before it was ready (${describeExit(status)})`),
        );
    });
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const match = ready ? null : READY.exec(line);
      if (!match) {
        process.stdout.write(`${line}\n`);
        return;
      }
      ready = true;
      clearTimeout(timer);
      resolve({ pid: child.pid, url: match[1] as string, said: match[2] ?? '', exited, stop });
    });
  });
}

// Wiring of the roles: what each one opens, starts and closes. The CLI composes them; tests start
// them the same way.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
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
import { isPortFree } from '../infra/ports.ts';

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
    poolSize,
    log: (message) => log.info(message),
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
    access: { config: config.access, dataDir: config.dataDir, ...access },
  });
  await app.listen({ port, host: config.host });
  const address = app.server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  return {
    url: `http://localhost:${boundPort}`,
    ...untilStopped(async () => {
      await app.close();
      await waiter.close();
    }),
  };
}

/**
 * /health and /metrics on OPS_PORT for a role without an API: healthy while the database answers,
 * with whatever the role adds (the projector: whether it is the active one).
 */
export async function startOpsRole(
  runtime: Runtime,
  details: () => Record<string, unknown> = () => ({}),
): Promise<Running | undefined> {
  const { opsPort, host } = runtime.config;
  if (opsPort === undefined) return undefined;
  const app = await startOpsServer({
    port: opsPort,
    host,
    health: async () => {
      await runtime.db.pool.query('select 1');
      return { ok: true, ...details() };
    },
  });
  return untilStopped(() => app.close());
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
      metrics.projectorLag.set(lagMs / 1000);
    },
    onActive: (now) => {
      active = now;
    },
  });
  return {
    done,
    isActive: () => active,
    stop: async () => {
      controller.abort();
      await done;
    },
  };
}

export function startSchedulerRole(runtime: Runtime, transactionServiceUrl: string): Running {
  const { config, db, store, log } = runtime;
  const payouts = createPayoutClient({
    baseUrl: transactionServiceUrl,
    timeoutMs: config.thirdPartyTimeoutMs,
    connections: config.schedulerConcurrency,
  });
  const scheduler = startScheduler({
    pool: db.pool,
    commands: createWalletCommandHandler(store, {
      onConflict: () => metrics.commandConflicts.inc(),
    }),
    payouts,
    concurrency: config.schedulerConcurrency,
    maxAttempts: config.withdrawalMaxAttempts,
    retryBaseMs: config.withdrawalRetryBaseMs,
    leaseMs: config.leaseMs,
    log: (message, details) => log.warn(message, details),
  });
  return {
    ...untilStopped(async () => {
      await scheduler.stop();
      await payouts.close();
    }),
  };
}

const TRANSACTION_SERVICE_MAIN = fileURLToPath(
  new URL('../../transaction-service/main.ts', import.meta.url),
);

/**
 * The transaction-service as a child process (what `npm start` runs beside the other roles). On
 * its configured port, or a free one when that is taken (say, by another `npm start`).
 */
export async function spawnTransactionService(
  config: Config,
  log: Logger,
  env: Record<string, string> = {},
): Promise<Running> {
  const port = (await isPortFree(config.transactionServicePort))
    ? config.transactionServicePort
    : 0;
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', TRANSACTION_SERVICE_MAIN],
    {
      env: { ...process.env, ...env, TRANSACTION_SERVICE_PORT: String(port) },
      // The IPC channel lets the child notice when this process is gone, even after a SIGKILL.
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const ready = /transaction-service listening at (\S+)/.exec(output);
      if (ready?.[1]) resolve(ready[1]);
    });
    child.once('exit', (code) => reject(new Error(`transaction-service exited with ${code}`)));
  });
  log.info(`transaction-service (third-party stand-in) listening at ${url}`);
  return {
    url,
    done: exited,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

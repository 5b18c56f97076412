// Where PostgreSQL comes from: DATABASE_URL, or the embedded cluster of DATA_DIR. A second process
// with the same DATA_DIR (the CLI, or a role, beside `npm start`) joins the running cluster instead
// of starting another. The cluster keeps its port across restarts, so the roles that joined it
// reconnect when it comes back.
import path from 'node:path';
import type pg from 'pg';
import {
  findRunningEmbeddedPostgres,
  placeCluster,
  type RunningPostgres,
  startRecordedCluster,
} from './embeddedPostgres.ts';
import type { Logger } from './logger.ts';
import { createPool, DatabaseUnavailableError } from './postgres.ts';

/** How long a role waits for an external database at its start before it gives up. */
const FIRST_CONNECTION_MS = 120_000;

/**
 * Waits for an external database to answer, with backoff: in a compose stack the roles may start
 * while PostgreSQL is still initialising. Anything but "unreachable" (a wrong password, say) fails
 * at once.
 */
export async function untilReachable(
  pool: pg.Pool,
  log: Pick<Logger, 'warn'>,
  {
    timeoutMs = FIRST_CONNECTION_MS,
    sleep = (ms: number) => new Promise((r) => setTimeout(r, ms)),
  } = {},
): Promise<void> {
  const started = Date.now();
  for (let delay = 250; ; delay = Math.min(delay * 2, 5000)) {
    try {
      await pool.query('select 1');
      return;
    } catch (error) {
      if (!(error instanceof DatabaseUnavailableError) || Date.now() - started > timeoutMs) {
        throw error;
      }
      log.warn(`database not reachable yet (${error.message}); trying again in ${delay} ms`);
      await sleep(delay);
    }
  }
}

export interface Database {
  readonly url: string;
  readonly pool: pg.Pool;
  /** True when this process started the embedded cluster (and stops it on close). */
  readonly ownsCluster: boolean;
  close(): Promise<void>;
}

export async function openDatabase(options: {
  databaseUrl: string | undefined;
  dataDir: string;
  /** DATA_DIR is the default one: its cluster may live elsewhere if PostgreSQL cannot reach it. */
  defaultDataDir?: boolean;
  poolSize?: number;
  log?: Pick<Logger, 'info' | 'warn'>;
}): Promise<Database> {
  const { poolSize = 20, log = { info: () => {}, warn: () => {} } } = options;
  const joined = (url: string): Database => {
    const pool = createPool(url, poolSize);
    return { url, pool, ownsCluster: false, close: () => pool.end() };
  };
  if (options.databaseUrl) {
    const database = joined(options.databaseUrl);
    await untilReachable(database.pool, log);
    return database;
  }

  const place = await placeCluster(options.dataDir, {
    mayRelocate: options.defaultDataDir ?? false,
  });
  if (place.setAside) {
    log.warn(
      `an earlier database of ${options.dataDir} (its link there was removed) is kept at ${place.setAside}: delete it when it is not needed`,
    );
  }
  const running = await findRunningEmbeddedPostgres(place.dir);
  if (running) {
    log.info(`joining the embedded PostgreSQL already running in ${place.dir}`);
    return joined(running);
  }
  let cluster: RunningPostgres;
  try {
    cluster = await startRecordedCluster(place.dir, options.dataDir, (from, to) =>
      log.warn(
        `port ${from} of the embedded PostgreSQL in ${place.dir} is taken by another program: it moves to port ${to} (roles that joined it on ${from} must be restarted)`,
      ),
    );
  } catch (error) {
    // Another process with the same DATA_DIR started it at the same moment: join that one.
    const other = await findRunningEmbeddedPostgres(place.dir);
    if (!other) throw error;
    log.info(`joining the embedded PostgreSQL just started in ${place.dir}`);
    return joined(other);
  }
  log.info(
    `embedded PostgreSQL in ${place.dir} on port ${cluster.port}${whyThere(options.dataDir, place.dir, place.closedFolder)}`,
  );
  const pool = createPool(cluster.url, poolSize);
  return {
    url: cluster.url,
    pool,
    ownsCluster: true,
    close: async () => {
      await pool.end();
      await cluster.stop();
    },
  };
}

/** Why the cluster is not in DATA_DIR itself, for the start log. */
function whyThere(dataDir: string, dir: string, closedFolder: string | undefined): string {
  if (dir === path.join(dataDir, 'postgres')) return '';
  const because = closedFolder
    ? ` because the "postgres" user it runs as cannot enter ${closedFolder}`
    : '';
  return ` (outside DATA_DIR ${dataDir}${because}; ${path.join(dataDir, 'postgres')} links to it)`;
}

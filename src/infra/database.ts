// Where PostgreSQL comes from: DATABASE_URL, or the embedded cluster in DATA_DIR. A second process
// with the same DATA_DIR (the CLI beside `npm start`) joins the running cluster instead of
// starting another.
import path from 'node:path';
import type pg from 'pg';
import { findRunningEmbeddedPostgres, startEmbeddedPostgres } from './embeddedPostgres.ts';
import { createPool } from './postgres.ts';

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
  poolSize?: number;
  log?: (message: string) => void;
}): Promise<Database> {
  const { poolSize = 20, log = () => {} } = options;
  if (options.databaseUrl) {
    const pool = createPool(options.databaseUrl, poolSize);
    return { url: options.databaseUrl, pool, ownsCluster: false, close: () => pool.end() };
  }
  const pgDir = path.join(options.dataDir, 'postgres');
  const running = await findRunningEmbeddedPostgres(pgDir);
  if (running) {
    log(`joining the embedded PostgreSQL already running in ${pgDir}`);
    const pool = createPool(running, poolSize);
    return { url: running, pool, ownsCluster: false, close: () => pool.end() };
  }
  log(`starting embedded PostgreSQL in ${pgDir}`);
  const cluster = await startEmbeddedPostgres({ dataDir: pgDir });
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

// A fresh database per test file, in the cluster `npm test` started (TEST_DATABASE_URL) or in the
// server DATABASE_URL names; a file run on its own starts a throwaway embedded cluster of its own.
import { randomUUID } from 'node:crypto';
import { chmod, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { startEmbeddedPostgres } from '../../src/infra/embeddedPostgres.ts';
import { createPool } from '../../src/infra/postgres.ts';

export interface TestDatabase {
  readonly url: string;
  readonly pool: pg.Pool;
  /** Ends the pool and drops the database. */
  drop(): Promise<void>;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

async function adminServer(): Promise<{ url: string; stop?: () => Promise<void> }> {
  const url = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL;
  if (url) return { url };
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'wallet-test-'));
  await chmod(tmp, 0o755);
  const cluster = await startEmbeddedPostgres({
    dataDir: path.join(tmp, 'pg'),
    ephemeral: true,
    settings: { fsync: 'off', synchronous_commit: 'off' },
  });
  return { url: cluster.url, stop: () => cluster.stop() };
}

export async function createTestDatabase(t: Teardown, poolSize = 20): Promise<TestDatabase> {
  const { url: admin, stop } = await adminServer();
  const name = `test_${randomUUID().replaceAll('-', '')}`;
  const adminPool = createPool(admin, 1);
  await adminPool.query(`create database ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  const pool = createPool(url.toString(), poolSize);
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    await pool.end();
    await adminPool.query(`drop database if exists ${name} with (force)`);
    await adminPool.end();
    await stop?.();
  };
  t.teardown(drop);
  return { url: url.toString(), pool, drop };
}

/**
 * The URL of a database beside `db` on its server that does not exist yet (for code that creates
 * its own), dropped when `t` ends if something created it.
 */
export function databaseToCreate(t: Teardown, db: TestDatabase, suffix: string): string {
  const url = new URL(db.url);
  const name = `${url.pathname.slice(1)}_${suffix}`;
  url.pathname = `/${name}`;
  t.teardown(() => db.pool.query(`drop database if exists ${name} with (force)`));
  return url.toString();
}

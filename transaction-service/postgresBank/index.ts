// The books in PostgreSQL: the database is created if missing and migrated on open.

import { ensureDatabase } from '../../src/infra/ensureDatabase.ts';
import { migrate } from '../../src/infra/migrate.ts';
import { createPool } from '../../src/infra/postgres.ts';
import type { Bank } from '../bank.ts';
import { countAttempt } from './countAttempt.ts';
import { findVerdict } from './findVerdict.ts';
import { listPayouts } from './listPayouts.ts';
import { bankMigrations } from './migrations.ts';
import { recordVerdict } from './recordVerdict.ts';

export async function openPostgresBank(databaseUrl: string, poolSize = 10): Promise<Bank> {
  await ensureDatabase(databaseUrl);
  const pool = createPool(databaseUrl, poolSize);
  try {
    await migrate(pool, 'transaction-service', bankMigrations);
  } catch (error) {
    await pool.end();
    throw error;
  }
  const url = new URL(databaseUrl);
  return {
    keptIn: `PostgreSQL, database ${decodeURIComponent(url.pathname.slice(1))} on ${url.host}`,
    countAttempt: (key) => countAttempt(pool, key),
    findVerdict: (key) => findVerdict(pool, key),
    recordVerdict: (key, verdict) => recordVerdict(pool, key, verdict),
    listPayouts: () => listPayouts(pool),
    close: () => pool.end(),
  };
}

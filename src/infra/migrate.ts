import type pg from 'pg';
import { withTransaction } from './postgres.ts';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/**
 * Applies the not yet applied migrations of one component (e.g. `eventstore`, `projections`) in one
 * transaction. The advisory lock makes concurrent starts (several api instances) wait, not race.
 * With `ownSchema`, the component's tables live in a schema of its name, created first.
 */
export async function migrate(
  pool: pg.Pool,
  component: string,
  migrations: readonly Migration[],
  { ownSchema = false }: { ownSchema?: boolean } = {},
): Promise<number[]> {
  return withTransaction(pool, async (client) => {
    await client.query(`select pg_advisory_xact_lock(hashtext('schema_migrations'))`);
    if (ownSchema) await client.query(`create schema if not exists ${component}`);
    await client.query(`
      create table if not exists schema_migrations (
        component text not null,
        version integer not null,
        name text not null,
        applied_at timestamptz not null default now(),
        primary key (component, version)
      )`);
    const { rows } = await client.query<{ version: number }>(
      'select version from schema_migrations where component = $1',
      [component],
    );
    const applied = new Set(rows.map((r) => r.version));
    const done: number[] = [];
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (applied.has(m.version)) continue;
      await client.query(m.sql);
      await client.query(
        'insert into schema_migrations (component, version, name) values ($1, $2, $3)',
        [component, m.version, m.name],
      );
      done.push(m.version);
    }
    return done;
  });
}

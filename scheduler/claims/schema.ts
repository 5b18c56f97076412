// The scheduler's own tables: its claims on the due list (lease token, lease, when to look again).
// The due list itself is the projector's read model; the scheduler only reads it.
import type pg from 'pg';
import { type Migration, migrate } from '../../src/infra/migrate.ts';

export const SCHEDULER_SCHEMA = 'scheduler';

const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'claims',
    sql: `
      create table ${SCHEDULER_SCHEMA}.claims (
        withdrawal_id uuid primary key,
        wallet_id uuid not null,
        -- the token of the claim holding the row (<instance>/<uuid>); null: nobody holds it
        lease text,
        leased_until timestamptz,
        -- not claimed again before this moment (a retry's backoff, a recheck, a finished step)
        not_before timestamptz
      );
    `,
  },
];

export async function migrateScheduler(pool: pg.Pool): Promise<void> {
  await migrate(pool, SCHEDULER_SCHEMA, migrations, { ownSchema: true });
}

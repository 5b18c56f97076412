// Read-model queries that run on every tick of a role keep to their indexes as the tables grow.
import t from 'tap';
import { countAwaitingSettlement } from '../../projections/queries.ts';
import { createReadModel, LIVE_SCHEMA } from '../../projections/readModelSchema.ts';
import { createTestDatabase } from '../support/database.ts';

t.test(
  'counting withdrawals awaiting settlement reads the partial index, not the table',
  async (t) => {
    const db = await createTestDatabase(t, 2);
    await createReadModel(db.pool, LIVE_SCHEMA);
    const client = await db.pool.connect();
    t.teardown(() => client.release());
    // First run on an empty table, as the scheduler's first tick: a plan kept from here would scan.
    t.equal(await countAwaitingSettlement(client), 0);
    await client.query(
      `insert into ${LIVE_SCHEMA}.transactions
     select gen_random_uuid(), gen_random_uuid(), 'withdrawal', 100, null, 'PROCESSING', '', now(),
            1, g % 5000 = 0, null, now(), now(), g
     from generate_series(1, 20000) g`,
    );
    await client.query('begin');
    t.equal(await countAwaitingSettlement(client), 4, 'the four waiting rows');
    // Rows this transaction read by scanning the table (a bitmap scan of an index reads none).
    const { rows } = await client.query<{ read: number }>(
      `select seq_tup_read::int as read from pg_stat_xact_user_tables
     where schemaname = $1 and relname = 'transactions'`,
      [LIVE_SCHEMA],
    );
    await client.query('commit');
    t.same(rows, [{ read: 0 }], 'no row read by a scan of the table');
  },
);

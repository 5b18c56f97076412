// ensureDatabase on a real PostgreSQL: creates a missing database once, however many processes
// race to, and leaves an existing one alone.
import t from 'tap';
import { ensureDatabase } from '../../src/infra/ensureDatabase.ts';
import { createPool } from '../../src/infra/postgres.ts';
import { createTestDatabase, databaseToCreate } from '../support/database.ts';

t.test('a missing database is created; racing callers all succeed', async (t) => {
  const db = await createTestDatabase(t, 1);
  const url = databaseToCreate(t, db, 'ensured');

  await Promise.all(Array.from({ length: 5 }, () => ensureDatabase(url)));
  const pool = createPool(url, 1);
  t.teardown(() => pool.end());
  const { rows } = await pool.query('select current_database() as name');
  t.equal(`/${rows[0].name}`, new URL(url).pathname);

  await pool.query('create table kept (id int)');
  await ensureDatabase(url);
  t.same((await pool.query('select count(*)::int as n from kept')).rows, [{ n: 0 }], 'left alone');
});

t.test('a server that refuses the login: the error says so', async (t) => {
  const db = await createTestDatabase(t, 1);
  const url = new URL(db.url);
  url.password = 'wrong';
  url.username = 'nobody';
  await t.rejects(ensureDatabase(url.toString()), /nobody/);
});

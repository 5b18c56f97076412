// ensureDatabase on a real PostgreSQL: creates a missing database once, however many processes
// race to, and leaves an existing one alone.
import t from 'tap';
import { ensureDatabase } from '../../src/infra/ensureDatabase.ts';
import { createPool } from '../../src/infra/postgres.ts';
import { createTestDatabase } from '../support/database.ts';

t.test('a missing database is created; racing callers all succeed', async (t) => {
  const db = await createTestDatabase(t, 1);
  const url = new URL(db.url);
  const name = `${url.pathname.slice(1)}_ensured`;
  url.pathname = `/${name}`;
  t.teardown(() => db.pool.query(`drop database if exists ${name} with (force)`));

  await Promise.all(Array.from({ length: 5 }, () => ensureDatabase(url.toString())));
  const pool = createPool(url.toString(), 1);
  t.teardown(() => pool.end());
  const { rows } = await pool.query('select current_database() as name');
  t.equal(rows[0].name, name);

  await pool.query('create table kept (id int)');
  await ensureDatabase(url.toString());
  t.same((await pool.query('select count(*)::int as n from kept')).rows, [{ n: 0 }], 'left alone');
});

t.test('a server that refuses the login: the error says so', async (t) => {
  const db = await createTestDatabase(t, 1);
  const url = new URL(db.url);
  url.password = 'wrong';
  url.username = 'nobody';
  await t.rejects(ensureDatabase(url.toString()), /nobody/);
});

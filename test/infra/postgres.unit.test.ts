import t from 'tap';
import {
  asDatabaseUnavailable,
  createDatabaseProbe,
  DatabaseUnavailableError,
} from '../../src/infra/postgres.ts';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

t.test('connection failures become DatabaseUnavailableError, with the cause kept', async (t) => {
  for (const error of [
    withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'),
    withCode('read ECONNRESET', 'ECONNRESET'),
    withCode('terminating connection due to administrator command', '57P01'),
    withCode('the database system is starting up', '57P03'),
    withCode('the database system is shutting down', '57P03'),
    withCode('sorry, too many clients already', '53300'),
    withCode('connection failure', '08006'),
    new Error('Connection terminated unexpectedly'),
    new Error('Connection terminated due to connection timeout'),
    new Error('timeout exceeded when trying to connect'),
    new Error('Client has encountered a connection error and is not queryable'),
    Object.assign(new AggregateError([withCode('connect ECONNREFUSED ::1:5432', 'ECONNREFUSED')]), {
      message: '',
    }),
  ]) {
    const mapped = asDatabaseUnavailable(error);
    t.type(mapped, DatabaseUnavailableError, error.message || 'AggregateError');
    t.equal((mapped as Error).cause, error);
    t.match((mapped as Error).message, /^The database is unavailable \(.+\)\.$/);
  }
});

t.test('every other error passes through unchanged', async (t) => {
  const unavailable = new DatabaseUnavailableError('already typed');
  t.equal(asDatabaseUnavailable(unavailable), unavailable);
  for (const error of [
    withCode('duplicate key value violates unique constraint', '23505'),
    withCode('relation "x" does not exist', '42P01'),
    withCode('password authentication failed for user "postgres"', '28P01'),
    new Error('Stream wallet-1: wrong expected version'),
    new AggregateError([new Error('something else')]),
  ]) {
    t.equal(asDatabaseUnavailable(error), error, error.message);
  }
  t.equal(asDatabaseUnavailable('a string'), 'a string');
});

t.test('the health probe asks the database at most once per ttl', async (t) => {
  let queries = 0;
  let up = true;
  const pool = {
    query: async () => {
      queries++;
      if (!up) throw new DatabaseUnavailableError('The database is unavailable (refused).');
      return { rows: [] };
    },
  } as never;
  const cached = createDatabaseProbe(pool, 60_000);
  t.same(await Promise.all([cached(), cached(), cached()]), [
    { ok: true },
    { ok: true },
    { ok: true },
  ]);
  t.equal(queries, 1, 'one query for three probes within the ttl');

  const fresh = createDatabaseProbe(pool, 0);
  up = false;
  t.same(await fresh(), { ok: false, error: 'The database is unavailable (refused).' });
  up = true;
  t.same(await fresh(), { ok: true }, 'healthy again as soon as the database answers');
  t.equal(queries, 3);
});

t.test('a role waits for an external database at its start, with backoff', async (t) => {
  const { untilReachable } = await import('../../src/infra/database.ts');
  const { DatabaseUnavailableError } = await import('../../src/infra/postgres.ts');
  let calls = 0;
  const waits: number[] = [];
  const warnings: string[] = [];
  const pool = {
    query: async () => {
      if (++calls < 5) throw new DatabaseUnavailableError('connect ECONNREFUSED');
      return { rows: [] };
    },
  } as unknown as Parameters<typeof untilReachable>[0];
  await untilReachable(
    pool,
    { warn: (m) => warnings.push(m) },
    {
      sleep: async (ms) => {
        waits.push(ms);
      },
    },
  );
  t.equal(calls, 5, 'asked until it answered');
  t.same(waits, [250, 500, 1000, 2000], 'backing off');
  t.equal(warnings.length, 4);
  const refused = {
    query: async () => {
      throw new Error('password authentication failed');
    },
  } as unknown as Parameters<typeof untilReachable>[0];
  await t.rejects(untilReachable(refused, { warn: () => {} }), /password/, 'a fault fails at once');
  const never = {
    query: async () => {
      throw new DatabaseUnavailableError('connect ECONNREFUSED');
    },
  } as unknown as Parameters<typeof untilReachable>[0];
  await t.rejects(
    untilReachable(never, { warn: () => {} }, { timeoutMs: -1, sleep: async () => {} }),
    DatabaseUnavailableError,
    'gives up after its time',
  );
});

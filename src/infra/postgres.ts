import pg from 'pg';

/**
 * The database cannot be reached right now (refused, reset, shutting down, starting up, no
 * connection within the timeout): the request may succeed later. Every pool made by `createPool`
 * throws this instead of the driver's own error, so callers (the API's error handler: a 503) can
 * tell an outage from a fault.
 */
export class DatabaseUnavailableError extends Error {
  override readonly name = 'DatabaseUnavailableError';
}

// Socket errors, and SQLSTATE class 08 (connection exception), 57P01 admin shutdown, 57P02 crash
// shutdown, 57P03 cannot connect now (starting or stopping), 53300 too many connections.
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
  '57P01',
  '57P02',
  '57P03',
  '53300',
]);
// What node-postgres and its pool say when a connection ends or never comes (they set no code).
const UNAVAILABLE_MESSAGES =
  /^(Connection terminated|Connection ended|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed)/;

/** `error` as a DatabaseUnavailableError if it says the database cannot be reached, else itself. */
export function asDatabaseUnavailable(error: unknown): unknown {
  if (!(error instanceof Error) || error instanceof DatabaseUnavailableError) return error;
  const code = (error as { code?: unknown }).code;
  const unavailable =
    (typeof code === 'string' && (UNAVAILABLE_CODES.has(code) || code.startsWith('08'))) ||
    UNAVAILABLE_MESSAGES.test(error.message) ||
    (error instanceof AggregateError &&
      error.errors.some(
        (inner) => asDatabaseUnavailable(inner) instanceof DatabaseUnavailableError,
      ));
  if (!unavailable) return error;
  const reason = error.message || String(code);
  return new DatabaseUnavailableError(`The database is unavailable (${reason}).`, {
    cause: error,
  });
}

const rethrow = (error: unknown): never => {
  throw asDatabaseUnavailable(error);
};

/**
 * A connection pool; callers own it and end it. After the server restarts it simply opens new
 * connections; while it cannot, its `query` and `connect` reject with DatabaseUnavailableError.
 */
export function createPool(connectionString: string, max = 20): pg.Pool {
  // Without a timeout a request would wait forever for a server that accepts and never answers.
  const pool = new pg.Pool({ connectionString, max, connectionTimeoutMillis: 5000 });
  // An idle client losing its connection (server restart) must not crash the process.
  pool.on('error', () => {});
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  pool.query = ((...args: unknown[]) => {
    const result = query(...args);
    return result instanceof Promise ? result.catch(rethrow) : result;
  }) as typeof pool.query;
  const connect = pool.connect.bind(pool) as (...args: unknown[]) => unknown;
  // The callback form is the pool's own, inside `query`: left as it is.
  pool.connect = ((...args: unknown[]) =>
    args.length > 0
      ? connect(...args)
      : (connect() as Promise<pg.PoolClient>).catch(rethrow)) as typeof pool.connect;
  return pool;
}

/** Runs `work` in one transaction on one pooled client: committed if it returns, rolled back if it throws. */
export async function withTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    const result = await work(client);
    await client.query('commit');
    return result;
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw asDatabaseUnavailable(error);
  } finally {
    client.release();
  }
}

export type DatabaseHealth = { ok: true } | { ok: false; error: string };

/**
 * Whether the pool reaches its database, cheaply enough for every health probe: at most one
 * `select 1` per `ttlMs`, its answer shared by the callers in between.
 */
export function createDatabaseProbe(pool: pg.Pool, ttlMs = 1000): () => Promise<DatabaseHealth> {
  let last: { at: number; health: Promise<DatabaseHealth> } | undefined;
  return () => {
    const now = Date.now();
    if (!last || now - last.at >= ttlMs) {
      last = {
        at: now,
        health: pool.query('select 1').then(
          () => ({ ok: true }),
          (error: Error) => ({ ok: false, error: error.message }),
        ),
      };
    }
    return last.health;
  };
}

/**
 * `rows` as one array per column (`row` lists a row's values in column order): the parameters of
 * a set-based insert, `select * from unnest($1::uuid[], $2::text[], ...)`.
 */
export function toColumns<T>(rows: readonly T[], row: (r: T) => readonly unknown[]): unknown[][] {
  const values = rows.map(row);
  return Array.from({ length: values[0]?.length ?? 0 }, (_, i) => values.map((v) => v[i]));
}

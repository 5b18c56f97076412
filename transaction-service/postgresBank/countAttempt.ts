import type pg from 'pg';

/** One more request received with this key. */
export async function countAttempt(pool: pg.Pool, key: string): Promise<void> {
  await pool.query(
    `insert into transaction_service.attempts (key, attempts) values ($1, 1)
     on conflict (key) do update set attempts = transaction_service.attempts.attempts + 1`,
    [key],
  );
}

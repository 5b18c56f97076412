import type pg from 'pg';

/** Deletes the rate-limit windows that started before `before`; returns how many. */
export async function pruneRateWindows(db: Pick<pg.Pool, 'query'>, before: Date): Promise<number> {
  const result = await db.query('delete from access.rate_windows where window_start < $1', [
    before,
  ]);
  return result.rowCount ?? 0;
}

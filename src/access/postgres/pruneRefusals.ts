import type pg from 'pg';

/** Deletes access-log entries older than `before`; returns how many. */
export async function pruneRefusals(db: Pick<pg.Pool, 'query'>, before: Date): Promise<number> {
  const result = await db.query('delete from access.access_log where at < $1', [before]);
  return result.rowCount ?? 0;
}

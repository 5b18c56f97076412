import type pg from 'pg';

/** Deletes expired sessions; returns how many. */
export async function pruneSessions(db: Pick<pg.Pool, 'query'>, now: Date): Promise<number> {
  const result = await db.query('delete from access.sessions where expires_at <= $1', [now]);
  return result.rowCount ?? 0;
}

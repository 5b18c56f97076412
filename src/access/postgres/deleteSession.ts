import type pg from 'pg';

/** Ends a session (signing out); true if it existed. */
export async function deleteSession(db: Pick<pg.Pool, 'query'>, hash: Buffer): Promise<boolean> {
  const result = await db.query('delete from access.sessions where session_hash = $1', [hash]);
  return (result.rowCount ?? 0) > 0;
}

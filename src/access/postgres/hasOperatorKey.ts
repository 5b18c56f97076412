import type pg from 'pg';

/** Whether any operator key was ever made (revoked ones count: the bootstrap runs once). */
export async function hasOperatorKey(db: Pick<pg.Pool, 'query'>): Promise<boolean> {
  const { rows } = await db.query(`select 1 from access.api_keys where kind = 'operator' limit 1`);
  return rows.length > 0;
}

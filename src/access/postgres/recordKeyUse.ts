import type pg from 'pg';

/** Sets the last use of many keys in one statement; an older time never replaces a newer one. */
export async function recordKeyUse(
  db: Pick<pg.Pool, 'query'>,
  uses: ReadonlyMap<string, Date>,
): Promise<void> {
  if (uses.size === 0) return;
  await db.query(
    `update access.api_keys k
     set last_used_at = greatest(k.last_used_at, u.at)
     from unnest($1::uuid[], $2::timestamptz[]) as u(key_id, at)
     where k.key_id = u.key_id`,
    [[...uses.keys()], [...uses.values()]],
  );
}

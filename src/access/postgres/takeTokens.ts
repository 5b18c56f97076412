import type pg from 'pg';

export interface Taken {
  /** Requests granted of those asked (0 when the window's limit was reached). */
  readonly granted: number;
  /** The window's count after this claim, as far as known (at least `limit` when none granted). */
  readonly used: number;
}

/**
 * Claims up to `count` requests of a bucket's window, never past `limit`, in one statement: the
 * row lock orders concurrent claims from every API instance. The stored count may pass the limit
 * by the part of the last claim that was not granted; it is only compared with the limit.
 */
export async function takeTokens(
  db: Pick<pg.Pool, 'query'>,
  bucket: string,
  windowStart: Date,
  count: number,
  limit: number,
): Promise<Taken> {
  const { rows } = await db.query<{ used: string }>({
    name: 'access-take-tokens',
    text: `insert into access.rate_windows as w (bucket, window_start, used) values ($1, $2, $3)
           on conflict (bucket, window_start) do update set used = w.used + $3
           where w.used < $4
           returning used`,
    values: [bucket, windowStart, count, limit],
  });
  if (!rows[0]) return { granted: 0, used: limit };
  const used = Number(rows[0].used);
  // Before this claim the window held used - count; what fitted under the limit is granted.
  return { granted: Math.max(0, Math.min(count, limit - (used - count))), used };
}

import type pg from 'pg';

/** How many events the streams with this id prefix hold (progress totals). */
export async function countEvents(pool: pg.Pool, streamPrefix: string): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(
    `select count(*)::text as n from events where left(stream_id, length($1)) = $1`,
    [streamPrefix],
  );
  return Number(rows[0]?.n ?? 0);
}

import type pg from 'pg';
import { NOTIFY_SCHEMA } from '../schema.ts';

/**
 * A batch of lanes with nothing pending and no claim (taken with SKIP LOCKED, so it never waits
 * for, or deadlocks with, the outbox writer or a claim; the writer makes a lane again when needed).
 */
export async function dropIdleLanes(
  pool: Pick<pg.Pool, 'query'>,
  { now, limit }: { now: Date; limit: number },
): Promise<number> {
  const { rowCount } = await pool.query({
    name: 'notify-drop-idle-lanes',
    text: `delete from ${NOTIFY_SCHEMA}.lanes
           where (endpoint_id, wallet_id) in (
             select endpoint_id, wallet_id from ${NOTIFY_SCHEMA}.lanes
             where head_due_at is null and (leased_until is null or leased_until <= $1)
             limit $2
             for update skip locked)`,
    values: [now, limit],
  });
  return rowCount ?? 0;
}

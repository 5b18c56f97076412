import type pg from 'pg';
import { NOTIFY_SCHEMA } from '../schema.ts';

/** A batch of delivered and failed deliveries past their retention (with their attempts). */
export async function expireDeliveries(
  pool: Pick<pg.Pool, 'query'>,
  { now, retentionDays, limit }: { now: Date; retentionDays: number; limit: number },
): Promise<number> {
  const { rowCount } = await pool.query({
    name: 'notify-expire-deliveries',
    text: `delete from ${NOTIFY_SCHEMA}.deliveries
           where delivery_id in (
             select delivery_id from ${NOTIFY_SCHEMA}.deliveries
             where status <> 'pending' and finished_at < $1::timestamptz - $2 * interval '1 day'
             limit $3)`,
    values: [now, retentionDays, limit],
  });
  return rowCount ?? 0;
}

import type pg from 'pg';
import { NOTIFY_SCHEMA } from '../schema.ts';

/** Per endpoint with something undelivered: when its oldest pending delivery was written. */
export async function oldestPending(pool: Pick<pg.Pool, 'query'>): Promise<Map<string, Date>> {
  const { rows } = await pool.query<{ endpoint_id: string; oldest: Date }>({
    name: 'notify-oldest-pending',
    text: `select endpoint_id, min(created_at) as oldest from ${NOTIFY_SCHEMA}.deliveries
           where status = 'pending' group by endpoint_id`,
  });
  return new Map(rows.map((r) => [r.endpoint_id, r.oldest]));
}

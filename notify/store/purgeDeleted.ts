// A batch of what deleted endpoints left behind: their deliveries (with their attempts), their
// idle lanes (SKIP LOCKED: never waits for a claim) and their health.
import type pg from 'pg';
import { WEBHOOKS_SCHEMA } from '../../src/webhooks/postgres/migrations.ts';
import { NOTIFY_SCHEMA } from '../schema.ts';

/** Rows removed by the batch: the larger of its deliveries and its lanes (`limit` of each). */
export async function purgeDeleted(
  pool: Pick<pg.Pool, 'query'>,
  { now, limit }: { now: Date; limit: number },
): Promise<number> {
  const { rows } = await pool.query<{ deliveries: number; lanes: number }>({
    name: 'notify-purge-deleted',
    text: `with gone as (
             select endpoint_id from ${WEBHOOKS_SCHEMA}.endpoints where deleted_at is not null
           ),
           dropped as (
             delete from ${NOTIFY_SCHEMA}.deliveries
             where delivery_id in (
               select delivery_id from ${NOTIFY_SCHEMA}.deliveries
               where endpoint_id in (select endpoint_id from gone)
               limit $2)
             returning 1
           ),
           health as (
             delete from ${NOTIFY_SCHEMA}.endpoint_health
             where endpoint_id in (select endpoint_id from gone)
           ),
           lanes as (
             delete from ${NOTIFY_SCHEMA}.lanes
             where (endpoint_id, wallet_id) in (
               select endpoint_id, wallet_id from ${NOTIFY_SCHEMA}.lanes
               where endpoint_id in (select endpoint_id from gone)
                 and (leased_until is null or leased_until <= $1)
               limit $2
               for update skip locked)
             returning 1
           )
           select (select count(*) from dropped)::int as deliveries,
                  (select count(*) from lanes)::int as lanes`,
    values: [now, limit],
  });
  const row = rows[0];
  return row ? Math.max(row.deliveries, row.lanes) : 0;
}

// Housekeeping by the active outbox writer: deliveries of deleted endpoints, finished deliveries
// past their retention, and idle lanes go. Lanes are taken with SKIP LOCKED, so the sweep never
// waits for (or deadlocks with) a writer or a claim.
import type pg from 'pg';
import { WEBHOOKS_SCHEMA } from '../../src/webhooks/postgres/migrations.ts';
import { NOTIFY_SCHEMA } from '../schema.ts';

export async function sweep(
  pool: Pick<pg.Pool, 'query'>,
  { now, retentionDays }: { now: Date; retentionDays: number },
): Promise<{ deliveries: number; lanes: number }> {
  const { rows } = await pool.query<{ deliveries: number; lanes: number }>({
    name: 'notify-sweep',
    text: `with gone as (
             select endpoint_id from ${WEBHOOKS_SCHEMA}.endpoints where deleted_at is not null
           ),
           dropped as (
             delete from ${NOTIFY_SCHEMA}.deliveries
             where delivery_id in (
               select delivery_id from ${NOTIFY_SCHEMA}.deliveries
               where endpoint_id in (select endpoint_id from gone)
                  or (status <> 'pending'
                      and finished_at < $1::timestamptz - $2 * interval '1 day')
               limit 10000)
             returning 1
           ),
           health as (
             delete from ${NOTIFY_SCHEMA}.endpoint_health
             where endpoint_id in (select endpoint_id from gone)
           ),
           idle as (
             delete from ${NOTIFY_SCHEMA}.lanes
             where (endpoint_id, wallet_id) in (
               select endpoint_id, wallet_id from ${NOTIFY_SCHEMA}.lanes
               where (head_due_at is null or endpoint_id in (select endpoint_id from gone))
                 and (leased_until is null or leased_until <= $1)
               limit 10000
               for update skip locked)
             returning 1
           )
           select (select count(*) from dropped)::int as deliveries,
                  (select count(*) from idle)::int as lanes`,
    values: [now, retentionDays],
  });
  return rows[0] ?? { deliveries: 0, lanes: 0 };
}

// Retries asked for through the API (webhooks.retry_requests, the API's table) made real in this
// role's tables: a failed delivery is due again now, with one more attempt; a pending one is due
// now (its attempts stay as they were); a delivered one stays delivered (the API refuses those,
// but a request may meet a delivery that was delivered after it was made). Each request is applied
// once (the delivery notes the request's time), each in a transaction of its own under its lane's
// lock.
import type pg from 'pg';
import { withTransaction } from '../../src/infra/postgres.ts';
import { WEBHOOKS_SCHEMA } from '../../src/webhooks/postgres/migrations.ts';
import { NOTIFY_SCHEMA } from '../schema.ts';
import { lockLane, refreshLaneHead } from './laneHead.ts';

export async function applyRetries(pool: pg.Pool, now: Date): Promise<number> {
  const { rows } = await pool.query<{
    delivery_id: string;
    endpoint_id: string;
    wallet_id: string;
  }>({
    name: 'notify-retry-requests',
    text: `select r.delivery_id, d.endpoint_id, d.wallet_id
           from ${WEBHOOKS_SCHEMA}.retry_requests r
           join ${NOTIFY_SCHEMA}.deliveries d on d.delivery_id = r.delivery_id
           where d.retry_requested_at is null or d.retry_requested_at < r.requested_at
           order by r.requested_at
           limit 1000`,
  });
  for (const request of rows) {
    await withTransaction(pool, async (client) => {
      await lockLane(client, request.endpoint_id, request.wallet_id, true);
      await client.query({
        name: 'notify-apply-retry',
        // The request's time is read here, not passed back: JavaScript dates drop microseconds.
        text: `update ${NOTIFY_SCHEMA}.deliveries d
               set max_attempts = case when d.status = 'failed' then d.attempts + 1
                                       else d.max_attempts end,
                   status = case when d.status = 'delivered' then d.status else 'pending' end,
                   next_attempt_at = case when d.status = 'delivered' then d.next_attempt_at
                                          else $2 end,
                   finished_at = case when d.status = 'delivered' then d.finished_at end,
                   retry_requested_at = r.requested_at
               from ${WEBHOOKS_SCHEMA}.retry_requests r
               where d.delivery_id = $1 and r.delivery_id = d.delivery_id
                 and (d.retry_requested_at is null or d.retry_requested_at < r.requested_at)`,
        values: [request.delivery_id, now],
      });
      await refreshLaneHead(client, request.endpoint_id, request.wallet_id, null);
    });
  }
  return rows.length;
}

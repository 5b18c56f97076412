// A batch of lanes of endpoints that have not been deliverable for longer than the retention
// (paused by their owner since their last change, or disabled for failing since then): their
// pending deliveries older than the retention are given up, marked failed with an attempt that
// says why, oldest first in each lane (deliveries join a lane in revision order, so the ones given
// up come before the ones that stay: the lane's order holds). The outbox writer writes such
// endpoints nothing new (see `dormantSince`), so nothing of theirs grows without bound.
import type pg from 'pg';
import { withTransaction } from '../../src/infra/postgres.ts';
import { ENDPOINTS } from '../../src/webhooks/postgres/endpointRecord.ts';
import { NOTIFY_SCHEMA } from '../schema.ts';

/** Lanes handled (each under its row lock, taken with SKIP LOCKED). */
export async function expireDormant(
  pool: pg.Pool,
  { now, retentionDays, limit }: { now: Date; retentionDays: number; limit: number },
): Promise<number> {
  const cutoff = new Date(now.getTime() - retentionDays * 86_400_000);
  const reason =
    `Not sent: the endpoint was paused or disabled for more than ${retentionDays} days ` +
    '(WEBHOOK_RETENTION_DAYS), and this delivery waited longer than that.';
  return withTransaction(pool, async (client) => {
    // The same rule as `dormantSince` (loadEndpoints.ts).
    const { rows: lanes } = await client.query<{ endpoint_id: string; wallet_id: string }>({
      name: 'notify-dormant-lanes',
      text: `select l.endpoint_id, l.wallet_id from ${NOTIFY_SCHEMA}.lanes l
             join ${ENDPOINTS} e on e.endpoint_id = l.endpoint_id
             left join ${NOTIFY_SCHEMA}.endpoint_health h on h.endpoint_id = l.endpoint_id
             where e.deleted_at is null and l.head_due_at is not null
               and case when not e.enabled then e.updated_at
                        when h.disabled_at >= e.enabled_at then h.disabled_at end < $1
               and exists (select 1 from ${NOTIFY_SCHEMA}.deliveries d
                           where d.endpoint_id = l.endpoint_id and d.wallet_id = l.wallet_id
                             and d.status = 'pending' and d.created_at < $1)
             order by l.endpoint_id, l.wallet_id
             limit $2
             for update of l skip locked`,
      values: [cutoff, limit],
    });
    if (lanes.length === 0) return 0;
    const endpointIds = lanes.map((l) => l.endpoint_id);
    const walletIds = lanes.map((l) => l.wallet_id);
    await client.query({
      name: 'notify-expire-dormant',
      text: `with given_up as (
               update ${NOTIFY_SCHEMA}.deliveries d
               set status = 'failed', attempts = attempts + 1, finished_at = $3
               from unnest($1::uuid[], $2::uuid[]) as l(endpoint_id, wallet_id)
               where d.endpoint_id = l.endpoint_id and d.wallet_id = l.wallet_id
                 and d.status = 'pending' and d.created_at < $4
               returning d.delivery_id, d.attempts
             )
             insert into ${NOTIFY_SCHEMA}.attempts (delivery_id, attempt, at, latency_ms, error)
             select delivery_id, attempts, $3, 0, $5 from given_up`,
      values: [endpointIds, walletIds, now, cutoff, reason],
    });
    // A statement of its own: it sees the deliveries just given up (laneHead.ts).
    await client.query({
      name: 'notify-refresh-lanes',
      text: `update ${NOTIFY_SCHEMA}.lanes l
             set head_due_at = (select d.next_attempt_at from ${NOTIFY_SCHEMA}.deliveries d
                                where d.endpoint_id = l.endpoint_id and d.wallet_id = l.wallet_id
                                  and d.status = 'pending'
                                order by d.revision limit 1)
             from unnest($1::uuid[], $2::uuid[]) as u(endpoint_id, wallet_id)
             where l.endpoint_id = u.endpoint_id and l.wallet_id = u.wallet_id`,
      values: [endpointIds, walletIds],
    });
    return lanes.length;
  });
}

// A lane's due time is its head's next attempt (null: nothing pending). Whoever changes a lane's
// deliveries (a finished attempt, an applied retry) first locks the lane row, then sets its due
// time from a fresh read (a new statement sees every delivery committed meanwhile, such as one the
// outbox writer added while it waited for the lock): the due time is never left stale.
import type pg from 'pg';
import { NOTIFY_SCHEMA } from '../schema.ts';

type Client = Pick<pg.PoolClient, 'query'>;

/** Locks the lane (making it first if `create`); false when there is no such lane. */
export async function lockLane(
  client: Client,
  endpointId: string,
  walletId: string,
  create = false,
): Promise<boolean> {
  if (create) {
    await client.query({
      name: 'notify-make-lane',
      text: `insert into ${NOTIFY_SCHEMA}.lanes (endpoint_id, wallet_id) values ($1, $2)
             on conflict do nothing`,
      values: [endpointId, walletId],
    });
  }
  const { rowCount } = await client.query({
    name: 'notify-lock-lane',
    text: `select 1 from ${NOTIFY_SCHEMA}.lanes where endpoint_id = $1 and wallet_id = $2
           for update`,
    values: [endpointId, walletId],
  });
  return rowCount === 1;
}

/** Sets the locked lane's due time from its head; `held`: whether `lease` still holds it. */
export async function refreshLaneHead(
  client: Client,
  endpointId: string,
  walletId: string,
  lease: string | null,
): Promise<{ held: boolean; dueAt: Date | null }> {
  const { rows } = await client.query<{ held: boolean; head_due_at: Date | null }>({
    name: 'notify-refresh-lane',
    text: `update ${NOTIFY_SCHEMA}.lanes
           set head_due_at = (select next_attempt_at from ${NOTIFY_SCHEMA}.deliveries
                              where endpoint_id = $1 and wallet_id = $2 and status = 'pending'
                              order by revision limit 1)
           where endpoint_id = $1 and wallet_id = $2
           returning lease is not distinct from $3 as held, head_due_at`,
    values: [endpointId, walletId, lease],
  });
  return { held: rows[0]?.held ?? false, dueAt: rows[0]?.head_due_at ?? null };
}

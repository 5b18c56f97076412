// Claims lanes whose head delivery is due: per endpoint at most its room (how many more requests
// this instance may have in flight to it), oldest due first, taken with FOR UPDATE SKIP LOCKED (so
// instances never wait on each other) and leased under a token of their own. Endpoints not named
// (paused, disabled, deleted, or full) are not even looked at.
import type pg from 'pg';
import { NOTIFY_SCHEMA } from '../schema.ts';

export interface LaneClaim {
  readonly endpointId: string;
  readonly walletId: string;
  /** This claim's token (`<instance>/<uuid>`), held in `lease` while the claim is valid. */
  readonly lease: string;
}

export async function claimLanes(
  pool: Pick<pg.Pool, 'query'>,
  {
    rooms,
    now,
    leaseMs,
    instance,
  }: { rooms: ReadonlyMap<string, number>; now: Date; leaseMs: number; instance: string },
): Promise<LaneClaim[]> {
  if (rooms.size === 0) return [];
  const { rows } = await pool.query<{ endpoint_id: string; wallet_id: string; lease: string }>({
    name: 'notify-claim-lanes',
    text: `with due as (
             select l.endpoint_id, l.wallet_id
             from unnest($1::uuid[], $2::integer[]) as r(endpoint_id, room)
             cross join lateral (
               select c.endpoint_id, c.wallet_id from ${NOTIFY_SCHEMA}.lanes c
               where c.endpoint_id = r.endpoint_id and c.head_due_at <= $3
                 and (c.leased_until is null or c.leased_until <= $3)
               order by c.head_due_at
               limit r.room
               for update skip locked
             ) l
           )
           update ${NOTIFY_SCHEMA}.lanes l
           set lease = $4 || '/' || gen_random_uuid(),
               leased_until = $3::timestamptz + $5 * interval '1 millisecond'
           from due
           where l.endpoint_id = due.endpoint_id and l.wallet_id = due.wallet_id
           returning l.endpoint_id, l.wallet_id, l.lease`,
    values: [[...rooms.keys()], [...rooms.values()], now, instance, leaseMs],
  });
  return rows.map((r) => ({ endpointId: r.endpoint_id, walletId: r.wallet_id, lease: r.lease }));
}

import type pg from 'pg';
import { NOTIFY_SCHEMA } from '../schema.ts';
import type { LaneClaim } from './claimLanes.ts';

/** A lane's head: its pending delivery with the lowest revision. */
export interface Delivery {
  readonly id: string;
  readonly endpointId: string;
  readonly walletId: string;
  readonly revision: bigint;
  readonly body: string;
  /** Attempts made so far. */
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly nextAttemptAt: Date;
}

/**
 * Renews the claim's lease and reads the lane's head. `held` false: the claim is no longer valid
 * (its lease ran out and the lane was claimed again): its holder must stop.
 */
export async function loadHead(
  pool: Pick<pg.Pool, 'query'>,
  claim: LaneClaim,
  { now, leaseMs }: { now: Date; leaseMs: number },
): Promise<{ held: boolean; head: Delivery | undefined }> {
  const { rows } = await pool.query({
    name: 'notify-load-head',
    text: `with lane as (
             update ${NOTIFY_SCHEMA}.lanes
             set leased_until = $4::timestamptz + $5 * interval '1 millisecond'
             where endpoint_id = $1 and wallet_id = $2 and lease = $3
             returning 1
           )
           select exists (select 1 from lane) as held, d.delivery_id, d.revision::text, d.body,
                  d.attempts, d.max_attempts, d.next_attempt_at
           from (select 1) one
           left join lateral (
             select * from ${NOTIFY_SCHEMA}.deliveries
             where endpoint_id = $1 and wallet_id = $2 and status = 'pending'
             order by revision limit 1
           ) d on true`,
    values: [claim.endpointId, claim.walletId, claim.lease, now, leaseMs],
  });
  const row = rows[0];
  if (!row?.held) return { held: false, head: undefined };
  if (!row.delivery_id) return { held: true, head: undefined };
  return {
    held: true,
    head: {
      id: row.delivery_id,
      endpointId: claim.endpointId,
      walletId: claim.walletId,
      revision: BigInt(row.revision),
      body: row.body,
      attempts: row.attempts,
      maxAttempts: row.max_attempts,
      nextAttemptAt: row.next_attempt_at,
    },
  };
}

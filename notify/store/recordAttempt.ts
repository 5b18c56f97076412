// What one attempt did, in one transaction: the attempt on record, the delivery's new state, the
// endpoint's health, and the lane's next due time (under the lane's lock, see laneHead.ts).
import type pg from 'pg';
import { withTransaction } from '../../src/infra/postgres.ts';
import { NOTIFY_SCHEMA } from '../schema.ts';
import type { LaneClaim } from './claimLanes.ts';
import { lockLane, refreshLaneHead } from './laneHead.ts';
import type { Delivery } from './loadHead.ts';

export interface AttemptRecord {
  readonly at: Date;
  readonly latencyMs: number;
  readonly httpStatus: number | null;
  /** The first 1 KiB of the answer. */
  readonly response: string | null;
  readonly error: string | null;
  /** Delivered (a 2xx in time). */
  readonly ok: boolean;
}

/** Where the delivery goes next: delivered, another attempt at `nextAttemptAt`, or failed. */
export type Verdict =
  | { readonly status: 'delivered' }
  | { readonly status: 'pending'; readonly nextAttemptAt: Date }
  | { readonly status: 'failed' };

export async function recordAttempt(
  pool: pg.Pool,
  claim: LaneClaim,
  delivery: Delivery,
  attempt: AttemptRecord,
  verdict: Verdict,
): Promise<{ held: boolean; failingSince: Date | null }> {
  return withTransaction(pool, async (client) => {
    await lockLane(client, claim.endpointId, claim.walletId);
    const { rows } = await client.query<{ failing_since: Date | null }>({
      name: 'notify-record-attempt',
      text: `with delivery as (
               update ${NOTIFY_SCHEMA}.deliveries
               set attempts = attempts + 1, status = $2,
                   next_attempt_at = coalesce($3, next_attempt_at),
                   finished_at = case when $2 = 'pending' then null else $4::timestamptz end
               -- a delivery another claim finished meanwhile (a lease that ran out) stays finished
               where delivery_id = $1 and status = 'pending'
               returning attempts
             ),
             attempt as (
               insert into ${NOTIFY_SCHEMA}.attempts
                 (delivery_id, attempt, at, http_status, latency_ms, response, error)
               select $1, attempts, $4, $5, $6, $7, $8 from delivery
             )
             insert into ${NOTIFY_SCHEMA}.endpoint_health
               (endpoint_id, failing_since, last_success_at, last_failure_at)
             values ($9, case when $10 then null else $4::timestamptz end,
                     case when $10 then $4::timestamptz end, case when $10 then null else $4::timestamptz end)
             on conflict (endpoint_id) do update set
               failing_since = case when $10 then null
                                    else coalesce(endpoint_health.failing_since, $4) end,
               last_success_at = case when $10 then $4 else endpoint_health.last_success_at end,
               last_failure_at = case when $10 then endpoint_health.last_failure_at else $4 end
             returning failing_since`,
      values: [
        delivery.id,
        verdict.status,
        verdict.status === 'pending' ? verdict.nextAttemptAt : null,
        attempt.at,
        attempt.httpStatus,
        Math.round(attempt.latencyMs),
        attempt.response,
        attempt.error,
        claim.endpointId,
        attempt.ok,
      ],
    });
    const { held } = await refreshLaneHead(client, claim.endpointId, claim.walletId, claim.lease);
    return { held, failingSince: rows[0]?.failing_since ?? null };
  });
}

// The read side of the notify role's tables, for the API: deliveries with their attempts, and each
// endpoint's health. Before any notify role ran there are no such tables: nothing to show yet.
import type pg from 'pg';
import { NOTIFY_SCHEMA } from './schema.ts';

type Queryable = Pick<pg.Pool, 'query'>;

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface AttemptView {
  readonly attempt: number;
  readonly at: Date;
  readonly httpStatus: number | null;
  readonly latencyMs: number;
  readonly response: string | null;
  readonly error: string | null;
}

export interface DeliveryView {
  readonly id: string;
  readonly seq: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly walletId: string;
  readonly revision: number;
  readonly status: DeliveryStatus;
  readonly createdAt: Date;
  readonly nextAttemptAt: Date | null;
  readonly finishedAt: Date | null;
  readonly attempts: readonly AttemptView[];
}

export interface EndpointHealth {
  readonly disabledAt: Date | null;
  readonly disabledReason: string | null;
  readonly failingSince: Date | null;
  readonly lastSuccessAt: Date | null;
}

const absent = (error: unknown) => (error as { code?: string }).code === '42P01';

/** Attempts shown per delivery: the last ones (manual retries of a failed one add more). */
export const ATTEMPTS_SHOWN = 10;

const DELIVERY_COLUMNS = `d.delivery_id, d.seq::text, d.event_id, d.event_type, d.wallet_id,
  d.revision::int, d.status, d.created_at, d.next_attempt_at, d.finished_at,
  coalesce((select json_agg(json_build_object('attempt', a.attempt, 'at', a.at,
              'http_status', a.http_status, 'latency_ms', a.latency_ms, 'response', a.response,
              'error', a.error) order by a.attempt)
            from (select * from ${NOTIFY_SCHEMA}.attempts
                  where delivery_id = d.delivery_id
                  order by attempt desc limit ${ATTEMPTS_SHOWN}) a), '[]') as attempts`;

interface DeliveryRow {
  delivery_id: string;
  seq: string;
  event_id: string;
  event_type: string;
  wallet_id: string;
  revision: number;
  status: DeliveryStatus;
  created_at: Date;
  next_attempt_at: Date;
  finished_at: Date | null;
  attempts: {
    attempt: number;
    at: string;
    http_status: number | null;
    latency_ms: number;
    response: string | null;
    error: string | null;
  }[];
}

function toView(row: DeliveryRow): DeliveryView {
  return {
    id: row.delivery_id,
    seq: row.seq,
    eventId: row.event_id,
    eventType: row.event_type,
    walletId: row.wallet_id,
    revision: row.revision,
    status: row.status,
    createdAt: row.created_at,
    nextAttemptAt: row.status === 'pending' ? row.next_attempt_at : null,
    finishedAt: row.finished_at,
    attempts: row.attempts.map((a) => ({
      attempt: a.attempt,
      at: new Date(a.at),
      httpStatus: a.http_status,
      latencyMs: a.latency_ms,
      response: a.response,
      error: a.error,
    })),
  };
}

/** An endpoint's deliveries, newest first, `limit` of them after the cursor (a `seq`). */
export async function listDeliveries(
  db: Queryable,
  {
    endpointId,
    status,
    before,
    limit,
  }: { endpointId: string; status?: DeliveryStatus; before?: string; limit: number },
): Promise<{ deliveries: DeliveryView[]; more: boolean }> {
  try {
    const { rows } = await db.query<DeliveryRow>({
      name: 'notify-list-deliveries',
      text: `select ${DELIVERY_COLUMNS} from ${NOTIFY_SCHEMA}.deliveries d
             where d.endpoint_id = $1 and ($2::text is null or d.status = $2)
               and ($3::bigint is null or d.seq < $3)
             order by d.seq desc limit $4`,
      values: [endpointId, status ?? null, before ?? null, limit + 1],
    });
    return { deliveries: rows.slice(0, limit).map(toView), more: rows.length > limit };
  } catch (error) {
    if (absent(error)) return { deliveries: [], more: false };
    throw error;
  }
}

export async function findDelivery(
  db: Queryable,
  endpointId: string,
  deliveryId: string,
): Promise<DeliveryView | undefined> {
  try {
    const { rows } = await db.query<DeliveryRow>({
      name: 'notify-find-delivery',
      text: `select ${DELIVERY_COLUMNS} from ${NOTIFY_SCHEMA}.deliveries d
             where d.endpoint_id = $1 and d.delivery_id = $2`,
      values: [endpointId, deliveryId],
    });
    return rows[0] && toView(rows[0]);
  } catch (error) {
    if (absent(error)) return undefined;
    throw error;
  }
}

export async function endpointHealth(
  db: Queryable,
  endpointIds: readonly string[],
): Promise<Map<string, EndpointHealth>> {
  if (endpointIds.length === 0) return new Map();
  try {
    const { rows } = await db.query<{
      endpoint_id: string;
      disabled_at: Date | null;
      disabled_reason: string | null;
      failing_since: Date | null;
      last_success_at: Date | null;
    }>({
      name: 'notify-endpoint-health',
      text: `select endpoint_id, disabled_at, disabled_reason, failing_since, last_success_at
             from ${NOTIFY_SCHEMA}.endpoint_health where endpoint_id = any($1::uuid[])`,
      values: [endpointIds],
    });
    return new Map(
      rows.map((r) => [
        r.endpoint_id,
        {
          disabledAt: r.disabled_at,
          disabledReason: r.disabled_reason,
          failingSince: r.failing_since,
          lastSuccessAt: r.last_success_at,
        },
      ]),
    );
  } catch (error) {
    if (absent(error)) return new Map();
    throw error;
  }
}

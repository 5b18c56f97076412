import type pg from 'pg';
import {
  ENDPOINT_COLUMNS,
  ENDPOINTS,
  type EndpointRecord,
  type EndpointRow,
  type OwnerScope,
  toEndpointRecord,
} from './endpointRecord.ts';

/**
 * A new signing secret; the one it replaces keeps signing beside it for `overlapMs` (a second
 * rotation within that time drops the oldest).
 */
export async function rotateSecret(
  db: Pick<pg.Pool, 'query'>,
  id: string,
  scope: OwnerScope,
  { secret, overlapMs }: { secret: string; overlapMs: number },
): Promise<EndpointRecord | undefined> {
  const { rows } = await db.query<EndpointRow>({
    name: 'webhooks-rotate-secret',
    text: `update ${ENDPOINTS}
           set previous_secret = secret,
               previous_secret_until = now() + $4 * interval '1 millisecond',
               secret = $3, updated_at = now()
           where endpoint_id = $1 and deleted_at is null and ($2::text is null or owner = $2)
           returning ${ENDPOINT_COLUMNS}`,
    values: [id, scope?.owner ?? null, secret, overlapMs],
  });
  return rows[0] && toEndpointRecord(rows[0]);
}

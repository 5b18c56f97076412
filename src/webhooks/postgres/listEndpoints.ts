import type pg from 'pg';
import {
  ENDPOINT_COLUMNS,
  ENDPOINTS,
  type EndpointRecord,
  type EndpointRow,
  type OwnerScope,
  toEndpointRecord,
} from './endpointRecord.ts';

/** The registrations a caller may see (an owner's own, or every one), oldest first. */
export async function listEndpoints(
  db: Pick<pg.Pool, 'query'>,
  scope: OwnerScope,
): Promise<EndpointRecord[]> {
  const { rows } = await db.query<EndpointRow>({
    name: 'webhooks-list-endpoints',
    text: `select ${ENDPOINT_COLUMNS} from ${ENDPOINTS}
           where deleted_at is null and ($1::text is null or owner = $1)
           order by created_at, endpoint_id`,
    values: [scope?.owner ?? null],
  });
  return rows.map(toEndpointRecord);
}

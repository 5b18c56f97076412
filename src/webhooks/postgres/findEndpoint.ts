import type pg from 'pg';
import {
  ENDPOINT_COLUMNS,
  ENDPOINTS,
  type EndpointRecord,
  type EndpointRow,
  type OwnerScope,
  toEndpointRecord,
} from './endpointRecord.ts';

/** A registration the caller may see; undefined for one deleted, unknown, or another owner's. */
export async function findEndpoint(
  db: Pick<pg.Pool, 'query'>,
  id: string,
  scope: OwnerScope,
): Promise<EndpointRecord | undefined> {
  const { rows } = await db.query<EndpointRow>({
    name: 'webhooks-find-endpoint',
    text: `select ${ENDPOINT_COLUMNS} from ${ENDPOINTS}
           where endpoint_id = $1 and deleted_at is null and ($2::text is null or owner = $2)`,
    values: [id, scope?.owner ?? null],
  });
  return rows[0] && toEndpointRecord(rows[0]);
}

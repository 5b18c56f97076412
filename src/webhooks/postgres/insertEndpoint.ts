import type pg from 'pg';
import {
  ENDPOINT_COLUMNS,
  ENDPOINTS,
  type EndpointRecord,
  queryEndpoints,
} from './endpointRecord.ts';

export interface NewEndpoint {
  readonly id: string;
  readonly owner: string | null;
  readonly keyId: string | null;
  readonly url: string;
  readonly eventTypes: readonly string[] | null;
  readonly description: string;
  /** Sealed. */
  readonly secret: string;
}

/**
 * Stores a registration, unless its owner (null: operators together) has `limit` live ones
 * already: then undefined.
 */
export async function insertEndpoint(
  db: Pick<pg.Pool, 'query'>,
  endpoint: NewEndpoint,
  limit: number,
): Promise<EndpointRecord | undefined> {
  const [inserted] = await queryEndpoints(db, {
    name: 'webhooks-insert-endpoint',
    text: `insert into ${ENDPOINTS} (endpoint_id, owner, key_id, url, event_types, description,
             secret, enabled, enabled_at, created_at, updated_at)
           select $1, $2, $3, $4, $5, $6, $7, true, now(), now(), now()
           where (select count(*) from ${ENDPOINTS}
                  where owner is not distinct from $2 and deleted_at is null) < $8
           returning ${ENDPOINT_COLUMNS}`,
    values: [
      endpoint.id,
      endpoint.owner,
      endpoint.keyId,
      endpoint.url,
      endpoint.eventTypes,
      endpoint.description,
      endpoint.secret,
      limit,
    ],
  });
  return inserted;
}

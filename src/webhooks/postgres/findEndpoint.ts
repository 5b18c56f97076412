import type pg from 'pg';
import {
  type EndpointRecord,
  type OwnerScope,
  selectEndpoints,
  VISIBLE_ENDPOINT,
} from './endpointRecord.ts';

/** A registration the caller may see; undefined for one deleted, unknown, or another owner's. */
export async function findEndpoint(
  db: Pick<pg.Pool, 'query'>,
  id: string,
  scope: OwnerScope,
): Promise<EndpointRecord | undefined> {
  const [endpoint] = await selectEndpoints(db, {
    name: 'webhooks-find-endpoint',
    where: VISIBLE_ENDPOINT,
    values: [id, scope?.owner ?? null],
  });
  return endpoint;
}

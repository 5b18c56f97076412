import type pg from 'pg';
import {
  ENDPOINT_COLUMNS,
  ENDPOINTS,
  type EndpointRecord,
  type EndpointRow,
  type OwnerScope,
  toEndpointRecord,
} from './endpointRecord.ts';

export interface EndpointChanges {
  readonly url?: string;
  /** null: every event type. */
  readonly eventTypes?: readonly string[] | null;
  readonly description?: string;
  /** true also enables one the notify role disabled for failing (it starts counting afresh). */
  readonly enabled?: boolean;
}

export async function updateEndpoint(
  db: Pick<pg.Pool, 'query'>,
  id: string,
  scope: OwnerScope,
  changes: EndpointChanges,
): Promise<EndpointRecord | undefined> {
  const { rows } = await db.query<EndpointRow>({
    name: 'webhooks-update-endpoint',
    text: `update ${ENDPOINTS} set
             url = coalesce($3, url),
             event_types = case when $4 then $5::text[] else event_types end,
             description = coalesce($6, description),
             enabled = coalesce($7, enabled),
             enabled_at = case when $7 then now() else enabled_at end,
             updated_at = now()
           where endpoint_id = $1 and deleted_at is null and ($2::text is null or owner = $2)
           returning ${ENDPOINT_COLUMNS}`,
    values: [
      id,
      scope?.owner ?? null,
      changes.url ?? null,
      changes.eventTypes !== undefined,
      changes.eventTypes ?? null,
      changes.description ?? null,
      changes.enabled ?? null,
    ],
  });
  return rows[0] && toEndpointRecord(rows[0]);
}

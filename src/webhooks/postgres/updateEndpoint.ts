import type pg from 'pg';
import { type EndpointRecord, type OwnerScope, updateVisibleEndpoint } from './endpointRecord.ts';

export interface EndpointChanges {
  readonly url?: string;
  /** null: every event type. */
  readonly eventTypes?: readonly string[] | null;
  readonly description?: string;
  /** true also enables one the notify role disabled for failing (it starts counting afresh). */
  readonly enabled?: boolean;
}

export function updateEndpoint(
  db: Pick<pg.Pool, 'query'>,
  id: string,
  scope: OwnerScope,
  changes: EndpointChanges,
): Promise<EndpointRecord | undefined> {
  return updateVisibleEndpoint(db, id, scope, {
    name: 'webhooks-update-endpoint',
    set: `url = coalesce($3, url),
          event_types = case when $4 then $5::text[] else event_types end,
          description = coalesce($6, description),
          enabled = coalesce($7, enabled),
          enabled_at = case when $7 then now() else enabled_at end`,
    values: [
      changes.url ?? null,
      changes.eventTypes !== undefined,
      changes.eventTypes ?? null,
      changes.description ?? null,
      changes.enabled ?? null,
    ],
  });
}

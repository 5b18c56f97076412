import type pg from 'pg';
import {
  ENDPOINT_COLUMNS,
  ENDPOINTS,
  type EndpointRecord,
  type EndpointRow,
  toEndpointRecord,
} from '../../src/webhooks/postgres/endpointRecord.ts';
import { NOTIFY_SCHEMA } from '../schema.ts';

/** A registration as the notify role sees it: the API's row and this role's health of it. */
export interface LiveEndpoint extends EndpointRecord {
  /** Disabled for failing too long (void once enabled again after it: see `isDeliverable`). */
  readonly disabledAt: Date | null;
}

/** Every registration not deleted, with its health (one round trip; a small table). */
export async function loadEndpoints(db: Pick<pg.Pool, 'query'>): Promise<LiveEndpoint[]> {
  const { rows } = await db.query<EndpointRow & { disabled_at: Date | null }>({
    name: 'notify-load-endpoints',
    text: `select ${ENDPOINT_COLUMNS.replaceAll(/(\w+)/g, 'e.$1')}, h.disabled_at
           from ${ENDPOINTS} e
           left join ${NOTIFY_SCHEMA}.endpoint_health h on h.endpoint_id = e.endpoint_id
           where e.deleted_at is null`,
  });
  return rows.map((row) => ({ ...toEndpointRecord(row), disabledAt: row.disabled_at }));
}

/** Enabled by its owner and not disabled for failing since it was last enabled. */
export const isDeliverable = (endpoint: LiveEndpoint): boolean =>
  endpoint.enabled && (endpoint.disabledAt === null || endpoint.disabledAt < endpoint.enabledAt);

/**
 * Since when the endpoint has not been deliverable: paused, since its last change (when it was
 * paused, or later); disabled for failing, since then. null: it is deliverable.
 */
export function dormantSince(endpoint: LiveEndpoint): Date | null {
  if (!endpoint.enabled) return endpoint.updatedAt;
  return isDeliverable(endpoint) ? null : endpoint.disabledAt;
}

// A registration as stored (its secrets sealed), the columns every read selects, and the one
// reader of its rows.
import type pg from 'pg';
import { WEBHOOKS_SCHEMA } from './migrations.ts';

export interface EndpointRecord {
  readonly id: string;
  readonly owner: string | null;
  readonly url: string;
  /** null: every event type. */
  readonly eventTypes: readonly string[] | null;
  readonly description: string;
  readonly enabled: boolean;
  readonly enabledAt: Date;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** Sealed (secretBox.ts). */
  readonly secret: string;
  readonly previousSecret: string | null;
  readonly previousSecretUntil: Date | null;
}

export interface EndpointRow {
  endpoint_id: string;
  owner: string | null;
  url: string;
  event_types: string[] | null;
  description: string;
  enabled: boolean;
  enabled_at: Date;
  created_at: Date;
  updated_at: Date;
  secret: string;
  previous_secret: string | null;
  previous_secret_until: Date | null;
}

export const ENDPOINTS = `${WEBHOOKS_SCHEMA}.endpoints`;

export const ENDPOINT_COLUMNS = `endpoint_id, owner, url, event_types, description, enabled,
  enabled_at, created_at, updated_at, secret, previous_secret, previous_secret_until`;

export function toEndpointRecord(row: EndpointRow): EndpointRecord {
  return {
    id: row.endpoint_id,
    owner: row.owner,
    url: row.url,
    eventTypes: row.event_types,
    description: row.description,
    enabled: row.enabled,
    enabledAt: row.enabled_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    secret: row.secret,
    previousSecret: row.previous_secret,
    previousSecretUntil: row.previous_secret_until,
  };
}

/** Which endpoints a caller may see: an owner's own, or (null) every one. */
export type OwnerScope = { readonly owner: string } | null;

/** The live registration `$1` if the scope `$2` (the owner, or null for every one) may see it. */
export const VISIBLE_ENDPOINT = `endpoint_id = $1 and deleted_at is null
  and ($2::text is null or owner = $2)`;

type Queryable = Pick<pg.Pool, 'query'>;

/** Runs a query that selects (or returns) `ENDPOINT_COLUMNS`; its rows as records. */
export async function queryEndpoints(
  db: Queryable,
  query: pg.QueryConfig,
): Promise<EndpointRecord[]> {
  const { rows } = await db.query<EndpointRow>(query);
  return rows.map(toEndpointRecord);
}

/** The registrations that meet `where` (a condition, and an order where it matters). */
export function selectEndpoints(
  db: Queryable,
  { name, where, values }: { name: string; where: string; values: unknown[] },
): Promise<EndpointRecord[]> {
  return queryEndpoints(db, {
    name,
    text: `select ${ENDPOINT_COLUMNS} from ${ENDPOINTS} where ${where}`,
    values,
  });
}

/**
 * Sets `set` (its parameters `values` from `$3`) and `updated_at` on a registration the scope may
 * see; the registration as it is now, undefined for one deleted, unknown, or another owner's.
 */
export async function updateVisibleEndpoint(
  db: Queryable,
  id: string,
  scope: OwnerScope,
  { name, set, values = [] }: { name: string; set: string; values?: unknown[] },
): Promise<EndpointRecord | undefined> {
  const [endpoint] = await queryEndpoints(db, {
    name,
    text: `update ${ENDPOINTS} set ${set}, updated_at = now()
           where ${VISIBLE_ENDPOINT}
           returning ${ENDPOINT_COLUMNS}`,
    values: [id, scope?.owner ?? null, ...values],
  });
  return endpoint;
}

// A registration as stored (its secrets sealed), and the columns every read selects.
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

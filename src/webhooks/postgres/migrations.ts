// The API role's webhook tables, in a schema of their own: the registrations (endpoints) and the
// retries operators and owners ask for. The API writes them; the notify role only reads them (its
// deliveries, checkpoint and endpoint health are in the schema `notify`, written by it alone).
import type pg from 'pg';
import { type Migration, migrate } from '../../infra/migrate.ts';

export const WEBHOOKS_SCHEMA = 'webhooks';

const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'endpoints and retry requests',
    sql: `
      create table ${WEBHOOKS_SCHEMA}.endpoints (
        endpoint_id uuid primary key,
        -- an owner key's endpoint sees that owner's wallets only; null: every wallet (operator)
        owner text,
        -- the key that registered it (null with AUTH=off)
        key_id uuid,
        url text not null,
        -- null: every event type, also ones added later
        event_types text[],
        description text not null,
        -- sealed (src/webhooks/secretBox.ts); null once deleted
        secret text,
        -- the secret before the last rotation, still signing until previous_secret_until
        previous_secret text,
        previous_secret_until timestamptz,
        enabled boolean not null,
        -- when it was last enabled: the notify role's automatic disabling before then is void
        enabled_at timestamptz not null,
        created_at timestamptz not null,
        updated_at timestamptz not null,
        deleted_at timestamptz
      );
      create index endpoints_owner_idx on ${WEBHOOKS_SCHEMA}.endpoints (owner, created_at)
        where deleted_at is null;
      -- A retry asked for: the notify role applies each request once (it notes the time it applied).
      create table ${WEBHOOKS_SCHEMA}.retry_requests (
        delivery_id uuid primary key,
        endpoint_id uuid not null,
        requested_at timestamptz not null
      );
      create index retry_requests_at_idx on ${WEBHOOKS_SCHEMA}.retry_requests (requested_at);
    `,
  },
];

export function migrateWebhooks(pool: pg.Pool): Promise<number[]> {
  return migrate(pool, WEBHOOKS_SCHEMA, migrations, { ownSchema: true });
}

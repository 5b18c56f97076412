// The notify role's own tables, in the schema `notify`: its place in the global log (written in
// the same transaction as the deliveries that place produced: an outbox), the owner of each wallet
// (from WalletCreated, so an owner's endpoint gets that owner's wallets only), one delivery per
// event and endpoint, each attempt, the lanes that keep a wallet's deliveries to an endpoint in
// order, and each endpoint's health. Only the notify role writes them; the API reads deliveries,
// attempts and health to show them. The registrations are the API's (webhooks.endpoints).
import type pg from 'pg';
import { type Migration, migrate } from '../src/infra/migrate.ts';

export const NOTIFY_SCHEMA = 'notify';

const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'checkpoint, wallet owners, deliveries, attempts, lanes, endpoint health',
    sql: `
      -- The same shape as the read models' checkpoint (projections/checkpoint.ts reads both).
      create table ${NOTIFY_SCHEMA}.checkpoint (
        id boolean primary key default true check (id),
        commit_position numeric(20, 0),
        prepare_position numeric(20, 0),
        last_recorded_at timestamptz,
        updated_at timestamptz not null default now()
      );
      insert into ${NOTIFY_SCHEMA}.checkpoint (id) values (true);
      create table ${NOTIFY_SCHEMA}.wallet_owners (
        wallet_id uuid primary key,
        owner text not null
      );
      create table ${NOTIFY_SCHEMA}.deliveries (
        -- the webhook-id: the same for every attempt of this event to this endpoint
        delivery_id uuid primary key,
        seq bigint generated always as identity,
        endpoint_id uuid not null,
        wallet_id uuid not null,
        revision bigint not null,
        event_id uuid not null,
        event_type text not null,
        -- the exact bytes every attempt sends
        body text not null,
        recorded_at timestamptz not null,
        created_at timestamptz not null default now(),
        status text not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
        attempts integer not null default 0,
        -- after this many failed attempts it fails (a manual retry of a failed one allows one more)
        max_attempts integer not null,
        next_attempt_at timestamptz not null,
        finished_at timestamptz,
        -- the last retry request (webhooks.retry_requests) applied to it
        retry_requested_at timestamptz
      );
      -- A lane's head: its pending delivery with the lowest revision.
      create index deliveries_pending_idx on ${NOTIFY_SCHEMA}.deliveries
        (endpoint_id, wallet_id, revision) where status = 'pending';
      create index deliveries_endpoint_idx on ${NOTIFY_SCHEMA}.deliveries (endpoint_id, seq);
      create index deliveries_status_idx on ${NOTIFY_SCHEMA}.deliveries (endpoint_id, status, seq);
      create index deliveries_finished_idx on ${NOTIFY_SCHEMA}.deliveries (finished_at)
        where status <> 'pending';
      create table ${NOTIFY_SCHEMA}.attempts (
        delivery_id uuid not null references ${NOTIFY_SCHEMA}.deliveries on delete cascade,
        attempt integer not null,
        at timestamptz not null,
        http_status integer,
        latency_ms integer not null,
        -- the first 1 KiB of the answer
        response text,
        error text,
        primary key (delivery_id, attempt)
      );
      -- One lane per endpoint and wallet: claimed as a whole (FOR UPDATE SKIP LOCKED and a lease),
      -- so one wallet's deliveries to one endpoint go one at a time, in revision order. head_due_at
      -- is when its head is due (null: nothing pending), kept exact under the lane's row lock.
      create table ${NOTIFY_SCHEMA}.lanes (
        endpoint_id uuid not null,
        wallet_id uuid not null,
        head_due_at timestamptz,
        lease text,
        leased_until timestamptz,
        primary key (endpoint_id, wallet_id)
      );
      create index lanes_due_idx on ${NOTIFY_SCHEMA}.lanes (endpoint_id, head_due_at)
        where head_due_at is not null;
      create table ${NOTIFY_SCHEMA}.endpoint_health (
        endpoint_id uuid primary key,
        -- every attempt since then failed (null: the last one succeeded)
        failing_since timestamptz,
        last_success_at timestamptz,
        last_failure_at timestamptz,
        -- disabled for failing too long, unless enabled again after (webhooks.endpoints.enabled_at)
        disabled_at timestamptz,
        disabled_reason text
      );
    `,
  },
];

export async function migrateNotify(pool: pg.Pool): Promise<void> {
  await migrate(pool, NOTIFY_SCHEMA, migrations, { ownSchema: true });
}

/** Whether the API has created the registrations this role reads (webhooks.endpoints). */
export async function registrationsExist(pool: pg.Pool): Promise<boolean> {
  const { rows } = await pool.query<{ exists: boolean }>(
    `select to_regclass('webhooks.endpoints') is not null as exists`,
  );
  return rows[0]?.exists === true;
}

// The read models live in one PostgreSQL schema together with the checkpoint they are current to:
// a rebuild fills a second schema and swaps the two by renaming, so tables and checkpoint always
// move together. Read models are disposable: a changed layout bumps READ_MODEL_VERSION and the
// projector rebuilds from the event store instead of migrating rows.
import type pg from 'pg';
import { withTransaction } from '../src/infra/postgres.ts';

export const LIVE_SCHEMA = 'read_model';
export const REBUILD_SCHEMA = 'read_model_rebuild';
export const READ_MODEL_VERSION = 2;

type Queryable = Pick<pg.PoolClient, 'query'>;

/** Creates the schema's tables if missing; an empty checkpoint row means "from the start". */
export async function createReadModel(db: Queryable, schema: string): Promise<void> {
  await db.query(`
    create schema if not exists ${schema};
    create table if not exists ${schema}.checkpoint (
      id boolean primary key default true check (id),
      version integer not null,
      commit_position numeric(20, 0),
      prepare_position numeric(20, 0),
      last_recorded_at timestamptz,
      updated_at timestamptz not null default now()
    );
    insert into ${schema}.checkpoint (version) values (${READ_MODEL_VERSION}) on conflict do nothing;
    create table if not exists ${schema}.wallets (
      wallet_id uuid primary key,
      currency text not null,
      owner text,
      balance numeric not null check (balance >= 0),
      created_at timestamptz not null,
      updated_at timestamptz not null,
      revision bigint not null
    );
    -- One row per money movement of a wallet: deposits, its withdrawals, transfers it received.
    create table if not exists ${schema}.transactions (
      wallet_id uuid not null,
      transaction_id uuid not null,
      kind text not null,
      amount numeric not null,
      counterparty uuid,
      status text not null,
      error_message text not null,
      scheduled_time timestamptz,
      attempts integer not null,
      created_at timestamptz not null,
      updated_at timestamptz not null,
      -- revision of the event that created the row: the order of a wallet's transactions
      revision bigint not null,
      primary key (wallet_id, transaction_id)
    );
    create unique index if not exists transactions_wallet_revision_idx
      on ${schema}.transactions (wallet_id, revision);
    -- The wallet document lists withdrawals and transfers only: without this, a GET would read
    -- past every deposit of the wallet (GET p99 at 32 clients measured 10.9 ms -> 9.2 ms).
    create index if not exists transactions_wallet_moves_idx
      on ${schema}.transactions (wallet_id, revision) where kind <> 'deposit';
    -- The scheduler's to-do list: what to do next for each unfinished withdrawal, and when.
    -- leased_until/leased_by belong to the scheduler's claims, not to the projection.
    create table if not exists ${schema}.due_withdrawals (
      withdrawal_id uuid primary key,
      wallet_id uuid not null,
      step text not null,
      due_at timestamptz not null,
      leased_until timestamptz,
      leased_by text
    );
    create index if not exists due_withdrawals_due_at_idx on ${schema}.due_withdrawals (due_at);
  `);
}

/**
 * Makes sure the live read model exists in the current layout. A missing one is created; one of
 * another version is dropped and created empty, and the projector then replays every event into it.
 * Returns what it did. Serialised by an advisory lock: several processes may start at once.
 */
export async function ensureReadModel(pool: pg.Pool): Promise<'current' | 'created' | 'recreated'> {
  return withTransaction(pool, async (client) => {
    await client.query(`select pg_advisory_xact_lock(hashtext('read_model_layout'))`);
    const { rows } = await client.query<{ present: boolean }>(
      `select to_regclass('${LIVE_SCHEMA}.checkpoint') is not null as present`,
    );
    if (!rows[0]?.present) {
      await createReadModel(client, LIVE_SCHEMA);
      return 'created';
    }
    const version = await client.query<{ version: number }>(
      `select version from ${LIVE_SCHEMA}.checkpoint`,
    );
    if (version.rows[0]?.version === READ_MODEL_VERSION) return 'current';
    await client.query(`drop schema ${LIVE_SCHEMA} cascade`);
    await createReadModel(client, LIVE_SCHEMA);
    return 'recreated';
  });
}

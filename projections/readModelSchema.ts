// The read models live in one PostgreSQL schema together with the checkpoint they are current to:
// a rebuild fills a second schema and swaps the two by renaming, so tables and checkpoint always
// move together. Read models are disposable: a changed layout bumps READ_MODEL_VERSION and the
// projector rebuilds them from the event store (see prepareReadModel in rebuild.ts) instead of
// migrating rows. Only the projector (and the rebuild tool) create or replace them; other roles
// check that the layout is the one they read, and wait while it is not.
import type pg from 'pg';

export const LIVE_SCHEMA = 'read_model';
export const REBUILD_SCHEMA = 'read_model_rebuild';
export const READ_MODEL_VERSION = 3;

type Queryable = Pick<pg.PoolClient, 'query'>;

/** Creates the schema's tables if missing; an empty checkpoint row means "from the start". */
export async function createReadModel(
  db: Queryable,
  schema: string,
  version = READ_MODEL_VERSION,
): Promise<void> {
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
    insert into ${schema}.checkpoint (version) values (${Number(version)}) on conflict do nothing;
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
      -- the third party cannot tell whether it was paid: an operator may settle it
      awaiting_settlement boolean not null,
      -- a verdict that came after the withdrawal ended the other way (reported verdict)
      conflict text,
      created_at timestamptz not null,
      updated_at timestamptz not null,
      -- revision of the event that created the row: the order of a wallet's transactions
      revision bigint not null,
      primary key (wallet_id, transaction_id)
    );
    create unique index if not exists transactions_wallet_revision_idx
      on ${schema}.transactions (wallet_id, revision);
    create index if not exists transactions_awaiting_settlement_idx
      on ${schema}.transactions (updated_at) where awaiting_settlement;
    -- The scheduler's to-do list: what to do next for each unfinished withdrawal, and when. The
    -- scheduler's claims on it are its own (the scheduler schema).
    create table if not exists ${schema}.due_withdrawals (
      withdrawal_id uuid primary key,
      wallet_id uuid not null,
      step text not null,
      due_at timestamptz not null
    );
    create index if not exists due_withdrawals_due_at_idx on ${schema}.due_withdrawals (due_at);
  `);
}

/** The layout version of the read model in `schema`; undefined when there is none. */
export async function readModelVersion(
  db: Queryable,
  schema = LIVE_SCHEMA,
): Promise<number | undefined> {
  try {
    const { rows } = await db.query<{ version: number }>(
      `select version from ${schema}.checkpoint`,
    );
    return rows[0]?.version;
  } catch (error) {
    if ((error as { code?: string }).code === '42P01') return undefined; // no such table
    throw error;
  }
}

const seen = new WeakMap<pg.Pool, { version: number | undefined; until: number }>();

/**
 * Whether the live read model has the layout `version` (this code's). A yes is remembered for a
 * second, so a hot read path does not ask every time; a no is asked again.
 */
export async function isReadModelCurrent(
  pool: pg.Pool,
  version = READ_MODEL_VERSION,
): Promise<boolean> {
  let known = seen.get(pool);
  if (!known || known.until <= Date.now() || known.version !== version) {
    known = { version: await readModelVersion(pool), until: Date.now() + 1000 };
    seen.set(pool, known);
  }
  return known.version === version;
}

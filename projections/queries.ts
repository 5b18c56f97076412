// The read side: what the API asks of the read models (lists). One round trip per question.
import pg from 'pg';
import type { WithdrawalStatus } from '../src/domain/wallet.ts';
import { isUuid } from '../src/infra/ids.ts';
import { PROJECTION_CHANNEL } from './projector.ts';
import { LIVE_SCHEMA } from './readModelSchema.ts';
import type { TransactionKind } from './walletProjection.ts';

export interface TransactionView {
  readonly id: string;
  readonly kind: TransactionKind;
  readonly amount: bigint;
  readonly counterparty: string | null;
  readonly scheduledTime: string | null;
  readonly status: WithdrawalStatus;
  readonly errorMessage: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

type Queryable = Pick<pg.Pool, 'query'>;

interface TransactionJson {
  id: string;
  kind: TransactionKind;
  amount: string;
  counterparty: string | null;
  scheduled_time: string | null;
  status: WithdrawalStatus;
  error_message: string;
  created_at: string;
  updated_at: string;
  revision: string;
}

const TRANSACTION_JSON = `json_build_object(
  'id', t.transaction_id, 'kind', t.kind, 'amount', t.amount::text, 'counterparty', t.counterparty,
  'scheduled_time', t.scheduled_time, 'status', t.status, 'error_message', t.error_message,
  'created_at', t.created_at, 'updated_at', t.updated_at, 'revision', t.revision::text)`;

const iso = (value: string | null) => (value === null ? null : new Date(value).toISOString());

function toTransactionView(t: TransactionJson): TransactionView {
  return {
    id: t.id,
    kind: t.kind,
    amount: BigInt(t.amount),
    counterparty: t.counterparty,
    scheduledTime: iso(t.scheduled_time),
    status: t.status,
    errorMessage: t.error_message,
    createdAt: iso(t.created_at) as string,
    updatedAt: iso(t.updated_at) as string,
  };
}

/** The wallet's revision in the read model, or undefined if it is not there (yet). */
export async function readWalletRevision(
  db: Queryable,
  walletId: string,
): Promise<bigint | undefined> {
  const { rows } = await db.query({
    name: 'read-wallet-revision',
    text: `select revision::text as revision from ${LIVE_SCHEMA}.wallets where wallet_id = $1`,
    values: [walletId],
  });
  return rows[0] ? BigInt(rows[0].revision) : undefined;
}

export interface TransactionFilter {
  readonly kind?: TransactionKind;
  readonly status?: WithdrawalStatus;
  readonly limit: number;
  /** Only transactions created before this revision (the cursor). */
  readonly beforeRevision?: bigint;
}

/**
 * A page of a wallet's transactions, newest first, and the cursor of the next page (the revision
 * of the page's last transaction) if more follow.
 */
export async function listTransactions(
  db: Queryable,
  walletId: string,
  filter: TransactionFilter,
): Promise<{ items: TransactionView[]; nextBefore: bigint | undefined }> {
  const { rows } = await db.query({
    name: 'list-transactions',
    text: `select ${TRANSACTION_JSON} as t from ${LIVE_SCHEMA}.transactions t
           where t.wallet_id = $1 and ($2::text is null or t.kind = $2)
             and ($3::text is null or t.status = $3) and ($4::bigint is null or t.revision < $4)
           order by t.revision desc
           limit $5`,
    values: [
      walletId,
      filter.kind ?? null,
      filter.status ?? null,
      filter.beforeRevision?.toString() ?? null,
      filter.limit + 1,
    ],
  });
  const page = rows.slice(0, filter.limit).map((r) => r.t as TransactionJson);
  const last = page.at(-1);
  return {
    items: page.map(toTransactionView),
    nextBefore: rows.length > filter.limit && last ? BigInt(last.revision) : undefined,
  };
}

/** The wallets whose streams hold transaction `id` (a withdrawal's source and target wallets). */
export async function walletsOfTransaction(db: Queryable, id: string): Promise<string[]> {
  if (!isUuid(id)) return [];
  const { rows } = await db.query({
    name: 'wallets-of-transaction',
    text: `select distinct wallet_id from ${LIVE_SCHEMA}.transactions
           where transaction_id = $1`,
    values: [id],
  });
  return rows.map((r) => r.wallet_id as string);
}

/**
 * Withdrawals whose outcome the third party cannot tell: they wait for an operator's settle.
 * Not a prepared statement: one without parameters keeps the plan made at its first run, and made
 * on a young table that is a scan of every transaction, on every scheduler tick, until PostgreSQL
 * next analyses the table. Planned each time, it reads the (nearly empty) partial index.
 */
export async function countAwaitingSettlement(db: Queryable): Promise<number> {
  const { rows } = await db.query(
    `select count(*)::int as n from ${LIVE_SCHEMA}.transactions where awaiting_settlement`,
  );
  return rows[0]?.n ?? 0;
}

/** How far behind the projector is: the age of the newest event it applied, when it applied it. */
export async function readProjectionStatus(db: Queryable) {
  const { rows } = await db.query<{ last: Date | null; updated: Date }>(
    `select last_recorded_at as last, updated_at as updated from ${LIVE_SCHEMA}.checkpoint`,
  );
  return { lastRecordedAt: rows[0]?.last ?? null, updatedAt: rows[0]?.updated ?? null };
}

/**
 * Lets requests wait for the projector: one LISTEN connection wakes every waiter when a batch
 * commits; each waiter then checks its own condition again. A lost connection (the database
 * restarted) only makes waiting slower, as waiters also poll: it is opened again by the next
 * waiter, one attempt at a time and at most once a second.
 */
export async function createProjectionWaiter(connectionString: string) {
  const listeners = new Set<() => void>();
  let client: pg.Client | undefined;
  let reconnecting: Promise<void> | undefined;
  let nextAttemptAt = 0;
  let closed = false;
  const connect = async () => {
    const next = new pg.Client({ connectionString, connectionTimeoutMillis: 5000 });
    next.on('notification', () => {
      for (const wake of listeners) wake();
    });
    const lost = () => {
      if (client === next) client = undefined;
    };
    next.on('error', lost);
    next.on('end', lost);
    try {
      await next.connect();
      await next.query(`listen ${PROJECTION_CHANNEL}`);
    } catch (error) {
      await next.end().catch(() => {});
      throw error;
    }
    if (closed) await next.end();
    else client = next;
  };
  const reconnect = () => {
    if (client || reconnecting || closed || Date.now() < nextAttemptAt) return;
    nextAttemptAt = Date.now() + 1000;
    reconnecting = connect()
      .catch(() => {})
      .finally(() => {
        reconnecting = undefined;
      });
  };
  await connect();

  return {
    /** Resolves true as soon as `ready()` does, false after `timeoutMs`. */
    async waitFor(ready: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (await ready()) return true;
        const left = deadline - Date.now();
        if (left <= 0) return false;
        reconnect();
        await new Promise<void>((resolve) => {
          const wake = () => {
            clearTimeout(timer);
            listeners.delete(wake);
            resolve();
          };
          const timer = setTimeout(wake, Math.min(left, 100));
          listeners.add(wake);
        });
      }
    },
    async close() {
      closed = true;
      await reconnecting;
      await client?.end().catch(() => {});
      client = undefined;
    },
  };
}

export type ProjectionWaiter = Awaited<ReturnType<typeof createProjectionWaiter>>;

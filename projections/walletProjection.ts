// The wallet read models as a projection: rows in, events applied in memory, rows out. A batch of
// events costs a few set-based statements (load the rows it touches, upsert what changed), not one
// statement per event. `projectEvent` is pure; `loadRows` and `saveRows` are its SQL.
import type pg from 'pg';
import { unhandled, type WalletEvent } from '../src/domain/events.ts';
import { toMinorUnits } from '../src/domain/money.ts';
import type { WithdrawalStatus } from '../src/domain/wallet.ts';
import { toColumns } from '../src/infra/postgres.ts';

export interface WalletRow {
  walletId: string;
  currency: string;
  owner: string | null;
  balance: bigint;
  createdAt: string;
  updatedAt: string;
  revision: bigint;
}

export type TransactionKind = 'deposit' | 'withdrawal' | 'transfer_in';

export interface TransactionRow {
  walletId: string;
  transactionId: string;
  kind: TransactionKind;
  amount: bigint;
  /** Withdrawal: its target wallet; transfer in: the source wallet. */
  counterparty: string | null;
  status: WithdrawalStatus;
  errorMessage: string;
  scheduledTime: string | null;
  attempts: number;
  /** The third party cannot tell whether it was paid: an operator may settle it. */
  awaitingSettlement: boolean;
  /** A verdict reported after the withdrawal ended the other way (`paid`, `refused`, `not_paid`). */
  conflict: string | null;
  createdAt: string;
  updatedAt: string;
  revision: bigint;
}

/** What the scheduler does next for a withdrawal: start it, pay it, or credit its target wallet. */
export type DueStep = 'start' | 'pay' | 'credit';

export interface DueRow {
  withdrawalId: string;
  walletId: string;
  step: DueStep;
  dueAt: string;
}

/** The rows a batch reads and writes; `null` in `due` marks a row to delete. */
export interface Rows {
  readonly wallets: Map<string, WalletRow>;
  readonly transactions: Map<string, TransactionRow>;
  readonly due: Map<string, DueRow | null>;
}

export interface ProjectedEvent {
  readonly walletId: string;
  readonly revision: bigint;
  readonly event: WalletEvent;
}

export const emptyRows = (): Rows => ({
  wallets: new Map(),
  transactions: new Map(),
  due: new Map(),
});

export const transactionKey = (walletId: string, transactionId: string) =>
  `${walletId}/${transactionId}`;

/**
 * A transaction row; what is left out is as a new row has it (no attempt, no error, nothing to
 * settle, updated when created). The one place the row's fields are listed, in the order every
 * row has them (`verify` compares rows as JSON).
 */
export function transactionRow(
  r: Pick<
    TransactionRow,
    | 'walletId'
    | 'transactionId'
    | 'kind'
    | 'amount'
    | 'counterparty'
    | 'status'
    | 'scheduledTime'
    | 'createdAt'
    | 'revision'
  > &
    Partial<TransactionRow>,
): TransactionRow {
  return {
    walletId: r.walletId,
    transactionId: r.transactionId,
    kind: r.kind,
    amount: r.amount,
    counterparty: r.counterparty,
    status: r.status,
    errorMessage: r.errorMessage ?? '',
    scheduledTime: r.scheduledTime,
    attempts: r.attempts ?? 0,
    awaitingSettlement: r.awaitingSettlement ?? false,
    conflict: r.conflict ?? null,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt ?? r.createdAt,
    revision: r.revision,
  };
}

/** A deposit's row: it succeeded when it was made. */
export const depositRow = (
  walletId: string,
  depositId: string,
  amount: bigint,
  at: string,
  revision: bigint,
): TransactionRow =>
  transactionRow({
    walletId,
    transactionId: depositId,
    kind: 'deposit',
    amount,
    counterparty: null,
    status: 'SUCCESS',
    scheduledTime: null,
    createdAt: at,
    revision,
  });

/** The row of a transfer a wallet received: it succeeded when it was credited. */
export const transferInRow = (
  walletId: string,
  transfer: { withdrawalId: string; fromWalletId: string; scheduledTime: string; at: string },
  amount: bigint,
  revision: bigint,
): TransactionRow =>
  transactionRow({
    walletId,
    transactionId: transfer.withdrawalId,
    kind: 'transfer_in',
    amount,
    counterparty: transfer.fromWalletId,
    status: 'SUCCESS',
    scheduledTime: transfer.scheduledTime,
    createdAt: transfer.at,
    revision,
  });

export const dueRow = (
  withdrawalId: string,
  walletId: string,
  step: DueStep,
  dueAt: string,
): DueRow => ({ withdrawalId, walletId, step, dueAt });

/** Applies one event to `rows` (in place). */
export function projectEvent(rows: Rows, { walletId, revision, event }: ProjectedEvent): void {
  const at = event.data.at;
  if (event.type === 'WalletCreated') {
    rows.wallets.set(walletId, {
      walletId,
      currency: event.data.currency,
      owner: event.data.owner,
      balance: 0n,
      createdAt: at,
      updatedAt: at,
      revision,
    });
    return;
  }
  const wallet = rows.wallets.get(walletId);
  if (!wallet) throw new Error(`Projection: ${event.type} for unknown wallet ${walletId}`);
  const minor = (amount: string) => toMinorUnits(amount, wallet.currency);
  const moveBalance = (delta: bigint) => {
    wallet.balance += delta;
  };
  wallet.updatedAt = at;
  wallet.revision = revision;
  const updateWithdrawal = (id: string, change: Partial<TransactionRow>) => {
    const row = rows.transactions.get(transactionKey(walletId, id));
    if (!row) throw new Error(`Projection: ${event.type} for unknown withdrawal ${id}`);
    Object.assign(row, change, { updatedAt: at });
  };
  const due = (withdrawalId: string, step: DueStep, dueAt: string) =>
    rows.due.set(withdrawalId, dueRow(withdrawalId, walletId, step, dueAt));
  const notDue = (withdrawalId: string) => rows.due.set(withdrawalId, null);

  switch (event.type) {
    case 'Deposited': {
      const amount = minor(event.data.amount);
      moveBalance(amount);
      const row = depositRow(walletId, event.data.depositId, amount, at, revision);
      rows.transactions.set(transactionKey(walletId, event.data.depositId), row);
      return;
    }
    case 'WithdrawalScheduled': {
      const { withdrawalId, amount, target, scheduledTime } = event.data;
      rows.transactions.set(
        transactionKey(walletId, withdrawalId),
        transactionRow({
          walletId,
          transactionId: withdrawalId,
          kind: 'withdrawal',
          amount: minor(amount),
          counterparty: target,
          status: 'PENDING',
          scheduledTime,
          createdAt: at,
          revision,
        }),
      );
      due(withdrawalId, 'start', scheduledTime);
      return;
    }
    case 'WithdrawalStarted':
      moveBalance(-minor(event.data.amount));
      updateWithdrawal(event.data.withdrawalId, { status: 'PROCESSING' });
      due(event.data.withdrawalId, 'pay', at);
      return;
    case 'WithdrawalPayoutRequested':
      updateWithdrawal(event.data.withdrawalId, {});
      return;
    case 'WithdrawalAttemptFailed':
      updateWithdrawal(event.data.withdrawalId, {
        attempts: event.data.attempt,
        awaitingSettlement: false,
        errorMessage: event.data.reason,
      });
      due(event.data.withdrawalId, 'pay', event.data.nextAttemptAt);
      return;
    case 'WithdrawalSucceeded': {
      const key = transactionKey(walletId, event.data.withdrawalId);
      updateWithdrawal(event.data.withdrawalId, {
        status: 'SUCCESS',
        attempts: event.data.attempt,
        awaitingSettlement: false,
        errorMessage: '',
      });
      if (rows.transactions.get(key)?.counterparty) due(event.data.withdrawalId, 'credit', at);
      else notDue(event.data.withdrawalId);
      return;
    }
    case 'WithdrawalFailed':
      moveBalance(minor(event.data.refunded));
      updateWithdrawal(event.data.withdrawalId, {
        status: 'FAILED',
        awaitingSettlement: false,
        errorMessage: event.data.reason,
      });
      notDue(event.data.withdrawalId);
      return;
    case 'WithdrawalAwaitingSettlement':
      updateWithdrawal(event.data.withdrawalId, {
        awaitingSettlement: true,
        errorMessage: event.data.reason,
      });
      due(event.data.withdrawalId, 'pay', event.data.nextCheckAt);
      return;
    case 'WithdrawalOutcomeConflict':
      updateWithdrawal(event.data.withdrawalId, {
        conflict: event.data.reported,
        errorMessage: event.data.reason,
      });
      return;
    case 'WithdrawalCancelled':
      updateWithdrawal(event.data.withdrawalId, { status: 'CANCELLED' });
      notDue(event.data.withdrawalId);
      return;
    case 'TransferReceived': {
      const received = minor(event.data.amount);
      moveBalance(received);
      rows.transactions.set(
        transactionKey(walletId, event.data.withdrawalId),
        transferInRow(walletId, event.data, received, revision),
      );
      notDue(event.data.withdrawalId);
      return;
    }
    default:
      unhandled(event);
  }
}

/** The ids a batch of events reads rows for (rows it creates need no loading). */
function touchedKeys(events: readonly ProjectedEvent[]) {
  const wallets = new Set<string>();
  const transactions = new Map<string, [string, string]>();
  const due = new Set<string>();
  for (const { walletId, event } of events) {
    wallets.add(walletId);
    if ('withdrawalId' in event.data) {
      due.add(event.data.withdrawalId);
      if (event.type !== 'WithdrawalScheduled' && event.type !== 'TransferReceived') {
        const key = transactionKey(walletId, event.data.withdrawalId);
        transactions.set(key, [walletId, event.data.withdrawalId]);
      }
    }
  }
  return { wallets: [...wallets], transactions: [...transactions.values()], due: [...due] };
}

type Queryable = Pick<pg.PoolClient, 'query'>;

const iso = (value: Date | string) =>
  (value instanceof Date ? value : new Date(value)).toISOString();

/** The columns `toWalletRow` reads. */
export const WALLET_COLUMNS =
  'wallet_id, currency, owner, balance::text, created_at, updated_at, revision::text';

/** The columns `toTransactionRow` reads. */
export const TRANSACTION_COLUMNS = `wallet_id, transaction_id, kind, amount::text, counterparty, status,
  error_message, scheduled_time, attempts, awaiting_settlement, conflict, created_at, updated_at,
  revision::text`;

export function toWalletRow(r: Record<string, unknown>): WalletRow {
  return {
    walletId: r.wallet_id as string,
    currency: r.currency as string,
    owner: r.owner as string | null,
    balance: BigInt(r.balance as string),
    createdAt: iso(r.created_at as Date),
    updatedAt: iso(r.updated_at as Date),
    revision: BigInt(r.revision as string),
  };
}

export function toTransactionRow(r: Record<string, unknown>): TransactionRow {
  return transactionRow({
    walletId: r.wallet_id as string,
    transactionId: r.transaction_id as string,
    kind: r.kind as TransactionKind,
    amount: BigInt(r.amount as string),
    counterparty: (r.counterparty as string | null) ?? null,
    status: r.status as WithdrawalStatus,
    errorMessage: r.error_message as string,
    scheduledTime: r.scheduled_time ? iso(r.scheduled_time as Date) : null,
    attempts: r.attempts as number,
    awaitingSettlement: r.awaiting_settlement as boolean,
    conflict: (r.conflict as string | null) ?? null,
    createdAt: iso(r.created_at as Date),
    updatedAt: iso(r.updated_at as Date),
    revision: BigInt(r.revision as string),
  });
}

/** Loads the existing rows `events` will change, from the read model in `schema`. */
export async function loadRows(
  db: Queryable,
  schema: string,
  events: readonly ProjectedEvent[],
): Promise<Rows> {
  const keys = touchedKeys(events);
  const rows = emptyRows();
  const wallets = await db.query(
    `select ${WALLET_COLUMNS} from ${schema}.wallets where wallet_id = any($1::uuid[])`,
    [keys.wallets],
  );
  for (const r of wallets.rows) rows.wallets.set(r.wallet_id, toWalletRow(r));
  if (keys.transactions.length > 0) {
    const transactions = await db.query(
      `select ${TRANSACTION_COLUMNS}
       from ${schema}.transactions
       join unnest($1::uuid[], $2::uuid[]) as k(wallet_id, transaction_id)
         using (wallet_id, transaction_id)`,
      [keys.transactions.map(([w]) => w), keys.transactions.map(([, id]) => id)],
    );
    for (const r of transactions.rows)
      rows.transactions.set(transactionKey(r.wallet_id, r.transaction_id), toTransactionRow(r));
  }
  // Due rows are only ever replaced or deleted whole, so they need no loading.
  return rows;
}

const upsert = (db: Queryable, name: string, text: string, values: unknown[]) =>
  db.query({ name, text, values });

/**
 * Writes `rows` into the read model in `schema`: upserts for rows, deletes for `null` due rows.
 * The upserts are prepared statements (parsed once per connection and schema, and planned once
 * PostgreSQL settles on a generic plan): rows from arrays into a table by its key leave the planner
 * no choice, so a plan made on an empty table stays right as it grows. The delete is planned each
 * time.
 */
export async function saveRows(db: Queryable, schema: string, rows: Rows): Promise<void> {
  const wallets = [...rows.wallets.values()];
  if (wallets.length > 0) {
    await upsert(
      db,
      `save-wallets:${schema}`,
      `insert into ${schema}.wallets (wallet_id, currency, owner, balance, created_at, updated_at, revision)
       select * from unnest($1::uuid[], $2::text[], $3::text[], $4::numeric[], $5::timestamptz[],
                            $6::timestamptz[], $7::bigint[])
       on conflict (wallet_id) do update set
         balance = excluded.balance, updated_at = excluded.updated_at, revision = excluded.revision`,
      toColumns(wallets, (w) => [
        w.walletId,
        w.currency,
        w.owner,
        w.balance.toString(),
        w.createdAt,
        w.updatedAt,
        w.revision.toString(),
      ]),
    );
  }
  const transactions = [...rows.transactions.values()];
  if (transactions.length > 0) {
    await upsert(
      db,
      `save-transactions:${schema}`,
      `insert into ${schema}.transactions (wallet_id, transaction_id, kind, amount, counterparty, status,
         error_message, scheduled_time, attempts, awaiting_settlement, conflict, created_at,
         updated_at, revision)
       select * from unnest($1::uuid[], $2::uuid[], $3::text[], $4::numeric[], $5::uuid[], $6::text[],
                            $7::text[], $8::timestamptz[], $9::integer[], $10::boolean[],
                            $11::text[], $12::timestamptz[], $13::timestamptz[], $14::bigint[])
       on conflict (wallet_id, transaction_id) do update set
         status = excluded.status, error_message = excluded.error_message,
         attempts = excluded.attempts, awaiting_settlement = excluded.awaiting_settlement,
         conflict = excluded.conflict, updated_at = excluded.updated_at`,
      toColumns(transactions, (t) => [
        t.walletId,
        t.transactionId,
        t.kind,
        t.amount.toString(),
        t.counterparty,
        t.status,
        t.errorMessage,
        t.scheduledTime,
        t.attempts,
        t.awaitingSettlement,
        t.conflict,
        t.createdAt,
        t.updatedAt,
        t.revision.toString(),
      ]),
    );
  }
  const due = [...rows.due.values()].filter((d): d is DueRow => d !== null);
  const gone = [...rows.due].filter(([, d]) => d === null).map(([id]) => id);
  if (due.length > 0) {
    await upsert(
      db,
      `save-due:${schema}`,
      `insert into ${schema}.due_withdrawals (withdrawal_id, wallet_id, step, due_at)
       select * from unnest($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[])
       on conflict (withdrawal_id) do update set step = excluded.step, due_at = excluded.due_at`,
      toColumns(due, (d) => [d.withdrawalId, d.walletId, d.step, d.dueAt]),
    );
  }
  if (gone.length > 0) {
    await db.query(`delete from ${schema}.due_withdrawals where withdrawal_id = any($1::uuid[])`, [
      gone,
    ]);
  }
}

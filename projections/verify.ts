// Verify: folds every wallet stream with the domain's own `evolve` (not the projection's code) up to
// the read model's checkpoint, derives the rows the read model should hold, and lists every
// difference. Both sides are read at one consistent point: a snapshot of the tables and the
// checkpoint they are current to.
import type pg from 'pg';
import { toWalletEvent } from '../src/commands/walletCommandHandler.ts';
import { unhandled, WALLET_STREAM_PREFIX } from '../src/domain/events.ts';
import { toMinorUnits } from '../src/domain/money.ts';
import { evolve, type Wallet, type WalletState } from '../src/domain/wallet.ts';
import { comparePositions, type EventStore, START } from '../src/eventstore/eventStore.ts';
import { readCheckpoint } from './checkpoint.ts';
import { LIVE_SCHEMA } from './readModelSchema.ts';
import {
  type DueRow,
  depositRow,
  dueRow,
  emptyRows,
  type Rows,
  TRANSACTION_COLUMNS,
  toTransactionRow,
  toWalletRow,
  transactionKey,
  transactionRow,
  transferInRow,
  WALLET_COLUMNS,
  type WalletRow,
} from './walletProjection.ts';

export interface VerifyResult {
  readonly events: number;
  readonly wallets: number;
  readonly transactions: number;
  readonly differences: string[];
}

/** The rows the read model must hold after `events`, derived from domain states. */
export function expectedRows(
  streams: Map<string, { revision: bigint; event: ReturnType<typeof toWalletEvent> }[]>,
): Rows {
  const rows = emptyRows();
  const credited = new Set<string>();
  // The revision each withdrawal / transfer row began at: the wallet state does not keep it.
  const createdAt = new Map<string, bigint>();
  const states = new Map<string, Wallet>();
  for (const [walletId, events] of streams) {
    let state: WalletState = null;
    for (const { revision, event } of events) {
      state = evolve(state, event);
      const currency = (state as Wallet).currency;
      // What the wallet state does not keep: deposits, and the revision each row began at.
      switch (event.type) {
        case 'Deposited': {
          const { depositId, amount, at } = event.data;
          rows.transactions.set(
            transactionKey(walletId, depositId),
            depositRow(walletId, depositId, toMinorUnits(amount, currency), at, revision),
          );
          break;
        }
        case 'WithdrawalScheduled':
          createdAt.set(transactionKey(walletId, event.data.withdrawalId), revision);
          break;
        case 'TransferReceived':
          createdAt.set(transactionKey(walletId, event.data.withdrawalId), revision);
          credited.add(event.data.withdrawalId);
          break;
        case 'WalletCreated':
        case 'WithdrawalStarted':
        case 'WithdrawalPayoutRequested':
        case 'WithdrawalAttemptFailed':
        case 'WithdrawalSucceeded':
        case 'WithdrawalFailed':
        case 'WithdrawalAwaitingSettlement':
        case 'WithdrawalOutcomeConflict':
        case 'WithdrawalCancelled':
          break; // all in the wallet state
        default:
          unhandled(event);
      }
    }
    if (state) states.set(walletId, state);
  }
  for (const [walletId, wallet] of states) {
    rows.wallets.set(walletId, {
      walletId,
      currency: wallet.currency,
      owner: wallet.owner,
      balance: wallet.balance,
      createdAt: wallet.createdAt,
      updatedAt: wallet.updatedAt,
      revision: wallet.revision,
    });
    for (const w of wallet.withdrawals.values()) {
      const key = transactionKey(walletId, w.id);
      rows.transactions.set(
        key,
        transactionRow({
          walletId,
          transactionId: w.id,
          kind: 'withdrawal',
          amount: w.amount,
          counterparty: w.target,
          status: w.status,
          errorMessage: w.errorMessage,
          scheduledTime: w.scheduledTime,
          attempts: w.attempts,
          awaitingSettlement: w.awaitingSettlement,
          conflict: w.conflict?.reported ?? null,
          createdAt: w.createdAt,
          updatedAt: w.updatedAt,
          revision: createdAt.get(key) ?? -1n,
        }),
      );
      const due: DueRow | undefined =
        w.status === 'PENDING'
          ? dueRow(w.id, walletId, 'start', w.scheduledTime)
          : w.status === 'PROCESSING'
            ? dueRow(w.id, walletId, 'pay', w.nextAttemptAt ?? w.updatedAt)
            : w.status === 'SUCCESS' && w.target && !credited.has(w.id)
              ? dueRow(w.id, walletId, 'credit', w.updatedAt)
              : undefined;
      if (due) rows.due.set(w.id, due);
    }
    for (const t of wallet.incoming.values()) {
      const key = transactionKey(walletId, t.withdrawalId);
      rows.transactions.set(key, transferInRow(walletId, t, t.amount, createdAt.get(key) ?? -1n));
    }
  }
  return rows;
}

/** Every row of the read model in `schema`, as one consistent snapshot with its checkpoint. */
export async function readAllRows(pool: pg.Pool, schema: string) {
  const client = await pool.connect();
  try {
    // One snapshot for all four reads; the tables are read in the order writers lock them.
    await client.query('begin transaction isolation level repeatable read read only');
    const rows = emptyRows();
    const wallets = await client.query(`select ${WALLET_COLUMNS} from ${schema}.wallets`);
    for (const r of wallets.rows) rows.wallets.set(r.wallet_id, toWalletRow(r));
    const transactions = await client.query(
      `select ${TRANSACTION_COLUMNS} from ${schema}.transactions`,
    );
    for (const r of transactions.rows) {
      rows.transactions.set(transactionKey(r.wallet_id, r.transaction_id), toTransactionRow(r));
    }
    const due = await client.query(
      `select withdrawal_id, wallet_id, step, due_at from ${schema}.due_withdrawals`,
    );
    for (const r of due.rows)
      rows.due.set(
        r.withdrawal_id,
        dueRow(r.withdrawal_id, r.wallet_id, r.step, r.due_at.toISOString()),
      );
    const checkpoint = await readCheckpoint(client, schema);
    await client.query('commit');
    return { checkpoint, rows };
  } finally {
    client.release();
  }
}

/** Every difference between two row sets, as readable lines. */
export function compareRows(actual: Rows, expected: Rows): string[] {
  const differences: string[] = [];
  const show = (value: unknown) =>
    JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? v.toString() : v));
  const compare = <T>(what: string, a: Map<string, T | null>, e: Map<string, T | null>) => {
    for (const [key, expectedRow] of e) {
      const actualRow = a.get(key);
      if (!actualRow) differences.push(`${what} ${key}: missing, expected ${show(expectedRow)}`);
      else if (show(actualRow) !== show(expectedRow)) {
        differences.push(
          `${what} ${key}: read model ${show(actualRow)}, replay ${show(expectedRow)}`,
        );
      }
    }
    for (const [key, actualRow] of a) {
      if (!e.has(key))
        differences.push(`${what} ${key}: not in the event store: ${show(actualRow)}`);
    }
  };
  compare<WalletRow>('wallet', actual.wallets, expected.wallets);
  compare('transaction', actual.transactions, expected.transactions);
  compare('due withdrawal', actual.due, expected.due);
  return differences;
}

export async function verifyReadModel({
  store,
  pool,
  batchSize = 5000,
}: {
  store: EventStore;
  pool: pg.Pool;
  batchSize?: number;
}): Promise<VerifyResult> {
  const { checkpoint, rows } = await readAllRows(pool, LIVE_SCHEMA);
  const streams = new Map<
    string,
    { revision: bigint; event: ReturnType<typeof toWalletEvent> }[]
  >();
  let events = 0;
  let position = START;
  // The read model is current to its checkpoint: replay exactly that far.
  replay: while (comparePositions(position, checkpoint.position) < 0) {
    const page = await store.readAll(position, batchSize);
    for (const event of page) {
      if (comparePositions(event.position, checkpoint.position) > 0) break replay;
      position = event.position;
      if (!event.streamId.startsWith(WALLET_STREAM_PREFIX)) continue;
      const walletId = event.streamId.slice(WALLET_STREAM_PREFIX.length);
      const stream = streams.get(walletId) ?? [];
      stream.push({ revision: event.revision, event: toWalletEvent(event) });
      streams.set(walletId, stream);
      events++;
    }
    if (page.length < batchSize) break;
  }
  return {
    events,
    wallets: rows.wallets.size,
    transactions: rows.transactions.size,
    differences: compareRows(rows, expectedRows(streams)),
  };
}

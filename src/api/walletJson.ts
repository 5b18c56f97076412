// The wallet JSON of the original service (url, uuid, balance, created, updated,
// outgoing_transactions, incoming_transactions), plus currency, owner and counterparties. Built
// from the wallet's folded stream, so a command's response and a later GET are the same document;
// list items come from the read model in the same transaction shape.
import type { TransactionView } from '../../projections/queries.ts';
import { formatAmount } from '../domain/money.ts';
import type { Wallet } from '../domain/wallet.ts';

/** A wallet's withdrawals and the transfers it received, as transactions. */
function transactionsOf(wallet: Wallet) {
  return {
    outgoing: [...wallet.withdrawals.values()].map(
      (w): TransactionView => ({
        id: w.id,
        kind: 'withdrawal',
        amount: w.amount,
        counterparty: w.target,
        scheduledTime: w.scheduledTime,
        status: w.status,
        errorMessage: w.errorMessage,
        createdAt: w.createdAt,
        updatedAt: w.updatedAt,
      }),
    ),
    incoming: [...wallet.incoming.values()].map(
      (t): TransactionView => ({
        id: t.withdrawalId,
        kind: 'transfer_in',
        amount: t.amount,
        counterparty: t.fromWalletId,
        scheduledTime: t.scheduledTime,
        status: 'SUCCESS',
        errorMessage: '',
        createdAt: t.at,
        updatedAt: t.at,
      }),
    ),
  };
}

export function renderTransaction(t: TransactionView, currency: string) {
  return {
    uuid: t.id,
    kind: t.kind,
    amount: formatAmount(t.amount, currency),
    scheduled_time: t.scheduledTime,
    status: t.status,
    error_message: t.errorMessage,
    created: t.createdAt,
    updated: t.updatedAt,
    ...(t.kind === 'withdrawal' ? { target: t.counterparty } : {}),
    ...(t.kind === 'transfer_in' ? { source: t.counterparty } : {}),
  };
}

export function renderWallet(wallet: Wallet, baseUrl: string) {
  const { outgoing, incoming } = transactionsOf(wallet);
  return {
    url: `${baseUrl}/api/wallets/${wallet.id}/`,
    uuid: wallet.id,
    currency: wallet.currency,
    owner: wallet.owner,
    balance: formatAmount(wallet.balance, wallet.currency),
    created: wallet.createdAt,
    updated: wallet.updatedAt,
    outgoing_transactions: outgoing.map((t) => renderTransaction(t, wallet.currency)),
    incoming_transactions: incoming.map((t) => renderTransaction(t, wallet.currency)),
  };
}

// The wallet JSON of the original service (url, uuid, balance, created, updated,
// outgoing_transactions, incoming_transactions), plus currency, owner and counterparties.
// Built from a `WalletView`, whether that came from the read model or from a folded stream, so a
// command's response and a later GET are the same document.
import type { TransactionView, WalletView } from '../../projections/queries.ts';
import { formatAmount } from '../domain/money.ts';
import type { Wallet } from '../domain/wallet.ts';

/** The view of a folded wallet stream (the authoritative state a command just decided on). */
export function viewOfWallet(wallet: Wallet): WalletView {
  return {
    id: wallet.id,
    currency: wallet.currency,
    owner: wallet.owner,
    balance: wallet.balance,
    createdAt: wallet.createdAt,
    updatedAt: wallet.updatedAt,
    revision: wallet.revision,
    outgoing: [...wallet.withdrawals.values()].map((w) => ({
      id: w.id,
      kind: 'withdrawal',
      amount: w.amount,
      counterparty: w.target,
      scheduledTime: w.scheduledTime,
      status: w.status,
      errorMessage: w.errorMessage,
      createdAt: w.createdAt,
      updatedAt: w.updatedAt,
    })),
    incoming: [...wallet.incoming.values()].map((t) => ({
      id: t.withdrawalId,
      kind: 'transfer_in',
      amount: t.amount,
      counterparty: t.fromWalletId,
      scheduledTime: t.scheduledTime,
      status: 'SUCCESS',
      errorMessage: '',
      createdAt: t.at,
      updatedAt: t.at,
    })),
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

export function renderWallet(view: WalletView, baseUrl: string) {
  return {
    url: `${baseUrl}/api/wallets/${view.id}/`,
    uuid: view.id,
    currency: view.currency,
    owner: view.owner,
    balance: formatAmount(view.balance, view.currency),
    created: view.createdAt,
    updated: view.updatedAt,
    outgoing_transactions: view.outgoing.map((t) => renderTransaction(t, view.currency)),
    incoming_transactions: view.incoming.map((t) => renderTransaction(t, view.currency)),
  };
}

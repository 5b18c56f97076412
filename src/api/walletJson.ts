// The wallet JSON of the original service (url, uuid, balance, created, updated,
// outgoing_transactions, incoming_transactions), plus currency, owner and counterparties. Built
// from the wallet's folded stream, so a command's response and a later GET are the same document;
// list items come from the read model in the same transaction shape.
import type { OrderedMap } from 'immutable';
import type { TransactionView } from '../../projections/queries.ts';
import { formatAmount } from '../domain/money.ts';
import type { TransferIn, Wallet, Withdrawal } from '../domain/wallet.ts';

// Wallet states are values that share their unchanged withdrawals and transfers with the states
// before them: each is serialised once, and a document joins what was serialised before, so a
// wallet with a long history costs a copy per read, not a rendering of every entry.
const serialised = new WeakMap<Withdrawal | TransferIn, string>();

function once<T extends Withdrawal | TransferIn>(
  item: T,
  currency: string,
  view: (item: T) => TransactionView,
): string {
  let json = serialised.get(item);
  if (json === undefined) {
    json = JSON.stringify(renderTransaction(view(item), currency));
    serialised.set(item, json);
  }
  return json;
}

const withdrawalView = (w: Withdrawal): TransactionView => ({
  id: w.id,
  kind: 'withdrawal',
  amount: w.amount,
  counterparty: w.target,
  scheduledTime: w.scheduledTime,
  status: w.status,
  errorMessage: w.errorMessage,
  createdAt: w.createdAt,
  updatedAt: w.updatedAt,
});

const transferView = (t: TransferIn): TransactionView => ({
  id: t.withdrawalId,
  kind: 'transfer_in',
  amount: t.amount,
  counterparty: t.fromWalletId,
  scheduledTime: t.scheduledTime,
  status: 'SUCCESS',
  errorMessage: '',
  createdAt: t.at,
  updatedAt: t.at,
});

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

/** A wallet as its fields, from its stream (times as text) or the read model (times as dates). */
type WalletFieldsSource = Pick<Wallet, 'id' | 'currency' | 'owner' | 'balance'> & {
  readonly createdAt: string | Date;
  readonly updatedAt: string | Date;
};

const textOf = (time: string | Date) => (typeof time === 'string' ? time : time.toISOString());

/** A wallet in a list (WalletSummary); its own document adds its url and transactions. */
export function renderWalletSummary(wallet: WalletFieldsSource) {
  return {
    uuid: wallet.id,
    currency: wallet.currency,
    owner: wallet.owner,
    balance: formatAmount(wallet.balance, wallet.currency),
    created: textOf(wallet.createdAt),
    updated: textOf(wallet.updatedAt),
  };
}

/**
 * The wallet document as JSON text, in the order of its schema (`WalletResponse`), which
 * documents it; sent as is, so the schema's serialiser does not walk every transaction again.
 */
export function renderWallet(wallet: Wallet, baseUrl: string): string {
  const { currency } = wallet;
  const head = JSON.stringify({
    url: `${baseUrl}/api/wallets/${wallet.id}/`,
    ...renderWalletSummary(wallet),
  });
  const outgoing = listOnce(wallet.withdrawals, currency, withdrawalView);
  const incoming = listOnce(wallet.incoming, currency, transferView);
  return `${head.slice(0, -1)},"outgoing_transactions":[${outgoing}],"incoming_transactions":[${incoming}]}`;
}

// A deposit leaves a wallet's withdrawals and transfers as they were (the same collection): their
// joined text is kept for as long as that collection is in use. A new collection (a withdrawal
// scheduled or moved on) is joined from pieces of PIECE entries: a piece whose entries are all
// the ones it was made of is reused, so a long list costs a walk over its entries, not a copy of
// every fragment. Entries keep their place (they are never removed), and the walk checks anyway.
const joined = new WeakMap<object, string>();
const PIECE = 64;
interface Piece {
  readonly items: readonly object[];
  readonly text: string;
}
/** Keyed by a piece's first entry. */
const pieces = new WeakMap<object, Piece>();

function listOnce<T extends Withdrawal | TransferIn>(
  items: OrderedMap<string, T>,
  currency: string,
  view: (item: T) => TransactionView,
): string {
  let json = joined.get(items);
  if (json !== undefined) return json;
  const all = Array.from(items.values());
  const texts: string[] = [];
  for (let start = 0; start < all.length; start += PIECE) {
    const slice = all.slice(start, start + PIECE);
    const first = slice[0] as T;
    let piece = pieces.get(first);
    if (!piece || !sameItems(piece.items, slice)) {
      piece = { items: slice, text: slice.map((item) => once(item, currency, view)).join(',') };
      pieces.set(first, piece);
    }
    texts.push(piece.text);
  }
  json = texts.join(',');
  joined.set(items, json);
  return json;
}

function sameItems(a: readonly object[], b: readonly object[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

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
 * The wallet document as JSON, in the order of its schema (`WalletResponse`), which documents it;
 * sent as is, so the schema's serialiser does not walk every transaction again. A short document
 * is text; a long one is bytes joined from pieces encoded once, so a long history costs a copy per
 * answer, not a string as long as the document encoded again for every answer.
 */
export function renderWallet(wallet: Wallet, baseUrl: string): string | Buffer {
  const { currency } = wallet;
  const head = JSON.stringify({
    url: `${baseUrl}/api/wallets/${wallet.id}/`,
    ...renderWalletSummary(wallet),
  });
  const open = `${head.slice(0, -1)},"outgoing_transactions":[`;
  const outgoing = listOnce(wallet.withdrawals, currency, withdrawalView);
  const incoming = listOnce(wallet.incoming, currency, transferView);
  if (lengthOf(outgoing) + lengthOf(incoming) < BYTES_FROM) {
    return `${open}${joinedText(outgoing)}${MIDDLE}${joinedText(incoming)}${END}`;
  }
  return Buffer.concat([
    Buffer.from(open),
    ...bytesOf(outgoing),
    MIDDLE_BYTES,
    ...bytesOf(incoming),
    END_BYTES,
  ]);
}

/** Lists longer than this (in characters, together) go as bytes. */
const BYTES_FROM = 16 * 1024;
const MIDDLE = '],"incoming_transactions":[';
const END = ']}';
const MIDDLE_BYTES = Buffer.from(MIDDLE);
const END_BYTES = Buffer.from(END);
const COMMA_BYTES = Buffer.from(',');

// A deposit leaves a wallet's withdrawals and transfers as they were (the same collection): its
// pieces are kept for as long as that collection is in use. A new collection (a withdrawal
// scheduled or moved on) is made of pieces of PIECE entries: a piece whose entries are all the
// ones it was made of is reused, so a long list costs a walk over its entries, not a rendering of
// every entry. Entries keep their place (they are never removed), and the walk checks anyway.
const joined = new WeakMap<object, readonly Piece[]>();
const PIECE = 64;
interface Piece {
  readonly items: readonly object[];
  readonly text: string;
  /** `text` as UTF-8, made when a long document first needs it. */
  bytes?: Buffer;
}
/** Keyed by a piece's first entry. */
const pieces = new WeakMap<object, Piece>();

function listOnce<T extends Withdrawal | TransferIn>(
  items: OrderedMap<string, T>,
  currency: string,
  view: (item: T) => TransactionView,
): readonly Piece[] {
  let list = joined.get(items);
  if (list !== undefined) return list;
  const all = items.valueSeq().toArray();
  const made: Piece[] = [];
  for (let start = 0; start < all.length; start += PIECE) {
    const slice = all.slice(start, start + PIECE);
    const first = slice[0] as T;
    let piece = pieces.get(first);
    if (!piece || !sameItems(piece.items, slice)) {
      piece = { items: slice, text: slice.map((item) => once(item, currency, view)).join(',') };
      pieces.set(first, piece);
    }
    made.push(piece);
  }
  list = made;
  joined.set(items, list);
  return list;
}

const lengthOf = (list: readonly Piece[]) =>
  list.reduce((sum, piece) => sum + piece.text.length, 0);

const joinedText = (list: readonly Piece[]) =>
  list.length === 1 ? (list[0] as Piece).text : list.map((piece) => piece.text).join(',');

function bytesOf(list: readonly Piece[]): Buffer[] {
  const out: Buffer[] = [];
  for (const piece of list) {
    if (out.length > 0) out.push(COMMA_BYTES);
    piece.bytes ??= Buffer.from(piece.text);
    out.push(piece.bytes);
  }
  return out;
}

function sameItems(a: readonly object[], b: readonly object[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

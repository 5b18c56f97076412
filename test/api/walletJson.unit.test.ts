// The wallet document is sent as JSON (text when short, bytes when long) built from fragments
// serialised once per withdrawal or transfer: it must be exactly what the schema's serialiser
// would write, and a fragment must never outlive the state it came from.

import { Value } from '@sinclair/typebox/value';
import fastJsonStringify from 'fast-json-stringify';
import t from 'tap';
import { WalletResponse } from '../../src/api/schemas.ts';
import { renderWallet } from '../../src/api/walletJson.ts';
import type { WalletEvent } from '../../src/domain/events.ts';
import { evolve, fold, type Wallet } from '../../src/domain/wallet.ts';
import { created, deposited, failed, scheduled, started, TARGET, W, WD } from '../domain/given.ts';

const OTHER = '44444444-4444-4444-8444-444444444444';
const transferIn = {
  type: 'TransferReceived' as const,
  data: {
    withdrawalId: OTHER,
    fromWalletId: TARGET,
    amount: '7.50',
    scheduledTime: '2026-01-01T11:00:00.000Z',
    at: '2026-01-01T11:00:03.000Z',
  },
};
const serialise = fastJsonStringify(WalletResponse);
const parse = (json: string | Buffer) => JSON.parse(json.toString());

t.test('the document is what the schema serialiser writes, field for field', async (t) => {
  const wallet = fold(
    [
      created,
      deposited('100.00'),
      scheduled('50.00', WD, null),
      scheduled('5.00', OTHER, TARGET),
      transferIn,
    ],
    null,
  ) as Wallet;
  const text = renderWallet(wallet, 'http://example.test').toString();
  const doc = JSON.parse(text);
  t.ok(Value.Check(WalletResponse, doc), 'valid against WalletResponse');
  t.equal(serialise(doc), text, 'same text, same order, nothing the schema would drop');
  t.equal(doc.url, `http://example.test/api/wallets/${W}/`);
  t.equal(doc.balance, '107.50', 'scheduled withdrawals take nothing yet; the transfer came in');
  t.same(
    doc.outgoing_transactions.map((x: { uuid: string; target: string | null }) => [
      x.uuid,
      x.target,
    ]),
    [
      [WD, null],
      [OTHER, TARGET],
    ],
  );
  t.same(
    doc.incoming_transactions.map((x: { uuid: string; source: string; amount: string }) => [
      x.uuid,
      x.source,
      x.amount,
    ]),
    [[OTHER, TARGET, '7.50']],
  );
});

t.test('a withdrawal that changed is written anew; the state before keeps its text', async (t) => {
  const before = fold([created, deposited('100.00'), scheduled('50.00')], null) as Wallet;
  const first = parse(renderWallet(before, ''));
  const after = evolve(evolve(before, started('50.00')), failed) as Wallet;
  const now = parse(renderWallet(after, ''));
  t.equal(first.outgoing_transactions[0].status, 'PENDING');
  t.equal(now.outgoing_transactions[0].status, 'FAILED');
  t.equal(now.outgoing_transactions[0].error_message, 'refused');
  t.equal(now.balance, '100.00');
  t.equal(parse(renderWallet(before, '')).outgoing_transactions[0].status, 'PENDING');
  const richer = parse(renderWallet(evolve(after, deposited('1.00', 'd2')) as Wallet, ''));
  t.equal(richer.balance, '101.00', 'a deposit changes the balance');
  t.same(richer.outgoing_transactions, now.outgoing_transactions, 'and keeps the list');
});

t.test('a long list is joined in pieces: each entry as its state has it', async (t) => {
  const ids = Array.from(
    { length: 150 },
    (_, i) => `55555555-5555-4555-8555-${i.toString().padStart(12, '0')}`,
  );
  const before = fold(
    [created, deposited('1000.00'), ...ids.map((id) => scheduled('1.00', id))],
    null,
  ) as Wallet;
  const statuses = (wallet: Wallet) =>
    parse(renderWallet(wallet, '')).outgoing_transactions.map((x: { status: string }) => x.status);
  t.same(
    statuses(before),
    ids.map(() => 'PENDING'),
  );
  // Entries in the first, a middle and the last piece move on, one state after another.
  let wallet = before;
  const moved = [0, 70, 149];
  for (const i of moved) {
    wallet = evolve(wallet, started('1.00', ids[i])) as Wallet;
    t.same(
      statuses(wallet),
      ids.map((_, j) =>
        moved.indexOf(j) !== -1 && moved.indexOf(j) <= moved.indexOf(i) ? 'PROCESSING' : 'PENDING',
      ),
      `after entry ${i}`,
    );
  }
  const text = renderWallet(wallet, '').toString();
  t.equal(serialise(JSON.parse(text)), text, 'still what the schema serialiser writes');
  t.same(
    statuses(before),
    ids.map(() => 'PENDING'),
    'the first state keeps its text',
  );
});

t.test('text beyond ASCII arrives as UTF-8, in a short document and in a long one', async (t) => {
  const owner = 'Zoë 東京 🚀';
  const reason = 'refusé: 残高不足';
  const short = fold(
    [
      { ...created, data: { ...created.data, owner } } as WalletEvent,
      deposited('1000.00'),
      scheduled('1.00'),
      started('1.00'),
      { ...failed, data: { ...failed.data, reason } } as WalletEvent,
    ],
    null,
  ) as Wallet;
  const ids = Array.from(
    { length: 100 },
    (_, i) => `66666666-6666-4666-8666-${i.toString().padStart(12, '0')}`,
  );
  const long = fold(
    ids.map((id) => scheduled('1.00', id)),
    short,
  ) as Wallet;
  for (const [name, wallet] of [
    ['short', short],
    ['long', long],
  ] as const) {
    const json = renderWallet(wallet, '');
    const doc = parse(json);
    t.equal(typeof json === 'string', name === 'short', `${name}: text when short, else bytes`);
    t.equal(doc.owner, owner, name);
    t.equal(doc.outgoing_transactions[0].error_message, reason, name);
    t.equal(json.toString(), serialise(doc), `${name}: byte for byte what the serialiser writes`);
  }
});

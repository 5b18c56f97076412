// The wallet document is sent as JSON text built from fragments serialised once per withdrawal
// or transfer: it must be exactly what the schema's serialiser would write, and a fragment must
// never outlive the state it came from.

import { Value } from '@sinclair/typebox/value';
import fastJsonStringify from 'fast-json-stringify';
import t from 'tap';
import { WalletResponse } from '../../src/api/schemas.ts';
import { renderWallet } from '../../src/api/walletJson.ts';
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
  const text = renderWallet(wallet, 'http://example.test');
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
  const first = JSON.parse(renderWallet(before, ''));
  const after = evolve(evolve(before, started('50.00')), failed) as Wallet;
  const now = JSON.parse(renderWallet(after, ''));
  t.equal(first.outgoing_transactions[0].status, 'PENDING');
  t.equal(now.outgoing_transactions[0].status, 'FAILED');
  t.equal(now.outgoing_transactions[0].error_message, 'refused');
  t.equal(now.balance, '100.00');
  t.equal(JSON.parse(renderWallet(before, '')).outgoing_transactions[0].status, 'PENDING');
  const richer = JSON.parse(renderWallet(evolve(after, deposited('1.00', 'd2')) as Wallet, ''));
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
    JSON.parse(renderWallet(wallet, '')).outgoing_transactions.map(
      (x: { status: string }) => x.status,
    );
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
  const text = renderWallet(wallet, '');
  t.equal(serialise(JSON.parse(text)), text, 'still what the schema serialiser writes');
  t.same(
    statuses(before),
    ids.map(() => 'PENDING'),
    'the first state keeps its text',
  );
});

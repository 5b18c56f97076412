// `npm start` SIGKILLed after its transaction-service paid withdrawals whose answers never reached
// the scheduler: the restarted service's transaction-service still knows those payouts, so the
// scheduler learns them from the status lookup and nothing is paid twice (issue 15, item 2).
import t from 'tap';
import { createWalletCommandHandler } from '../../src/commands/walletCommandHandler.ts';
import { openEventStore } from '../../src/eventstore/index.ts';
import { findFreePort } from '../../src/infra/ports.ts';
import { startService, stopService, waitForOutput } from '../support/cli.ts';
import { createTestDatabase } from '../support/database.ts';
import { pollUntil } from '../support/poll.ts';
import { httpClient } from '../support/stack.ts';

const READY = /transaction-service \(third-party stand-in, pid \d+\) listening at (\S+) /;
const WITHDRAWALS = 10;

interface Payout {
  key: string | null;
  paidAt: string;
  attempts: number;
}

t.test('npm start killed mid-payout: after a restart no transfer is paid twice', async (t) => {
  const ledger = await createTestDatabase(t, 2);
  const books = await createTestDatabase(t, 2);
  const port = await findFreePort();
  const env = {
    DATABASE_URL: ledger.url,
    TRANSACTION_SERVICE_DATABASE_URL: books.url,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    TRANSACTION_SERVICE_PORT: '0',
    TRANSACTION_SERVICE_LATENCY_MS: '100',
    TRANSACTION_SERVICE_FAILURE_RATE: '0',
    // Each payout is made and its answer lost: the scheduler waits for an answer that never comes.
    TRANSACTION_SERVICE_FAULTS: JSON.stringify([{ mode: 'lostAnswerHang', times: WITHDRAWALS }]),
    THIRD_PARTY_TIMEOUT_MS: '30000',
    SCHEDULER_LEASE_MS: '2000',
  };
  const http = httpClient(`http://127.0.0.1:${port}`);

  const first = await startService(env);
  t.teardown(() => {
    if (first.child.exitCode === null && first.child.signalCode === null)
      first.child.kill('SIGKILL');
  });
  const [, firstBankUrl] = await waitForOutput(first, READY);
  const firstBank = httpClient(firstBankUrl as string);
  const wallet = (await http('POST', '/api/wallets/', {})).body.uuid as string;
  await http('PATCH', `/api/wallets/${wallet}/deposit/`, { amount: '100.00' });
  const due = new Date(Date.now() + 2000).toISOString();
  const ids: string[] = [];
  for (let i = 0; i < WITHDRAWALS; i++) {
    const response = await http('POST', `/api/wallets/${wallet}/withdraw/`, {
      amount: '5.00',
      scheduled_time: due,
    });
    t.equal(response.status, 201);
    ids.push(response.body.outgoing_transactions.at(-1).uuid);
  }

  // Every payout made, no answer received: the moment the crash hit.
  const before = await pollUntil(
    'every payout made',
    async () => {
      const { body } = await firstBank('GET', '/transfers');
      return body.count === WITHDRAWALS ? (body.transfers as Payout[]) : undefined;
    },
    { intervalMs: 20 },
  );
  const exited = new Promise((resolve) => first.child.once('exit', resolve));
  first.child.kill('SIGKILL');
  await exited;
  const store = await openEventStore({ eventStoreUrl: undefined, pool: ledger.pool });
  t.teardown(() => store.close());
  const atCrash = await createWalletCommandHandler(store).load(wallet);
  t.same(
    [...(atCrash?.withdrawals.values() ?? [])].map((w) => w.status),
    ids.map(() => 'PROCESSING'),
    'no outcome on record at the crash',
  );

  const second = await startService(env);
  t.teardown(() => stopService(second.child));
  const [, bankUrl] = await waitForOutput(second, READY);
  const bank = httpClient(bankUrl as string);
  const ended = await pollUntil(
    'every withdrawal to end',
    async () => {
      const read = await http('GET', `/api/wallets/${wallet}/`);
      const list = read.body.outgoing_transactions as { status: string }[];
      return list.every((w) => ['SUCCESS', 'FAILED'].includes(w.status)) ? read.body : undefined;
    },
    { timeoutMs: 60_000 },
  );
  t.same(
    ended.outgoing_transactions.map((w: { status: string }) => w.status),
    ids.map(() => 'SUCCESS'),
    'every withdrawal succeeded',
  );
  t.equal(ended.balance, '50.00', 'balance + paid out = deposits');

  const after = (await bank('GET', '/transfers')).body.transfers as Payout[];
  t.same(
    after.map((payout) => payout.key).sort(),
    [...ids].sort(),
    'one payout per withdrawal, on the books of the restarted transaction-service',
  );
  // A payout is one (key, paidAt) on the books; the first life's books are read before the crash.
  const payoutsOf = (key: string) =>
    new Set([...before, ...after].filter((p) => p.key === key).map((p) => p.paidAt)).size;
  t.same(
    ids.map(payoutsOf),
    ids.map(() => 1),
    'each withdrawal paid once in all, before and after the crash',
  );
  t.ok(
    after.every((payout) => payout.attempts === 1),
    'no payout request was sent again',
  );
  t.equal(await stopService(second.child), 0);
});

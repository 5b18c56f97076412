// A scheduler process SIGKILLed while payouts are in flight: after another instance takes over
// (once the dead one's leases run out), every withdrawal ends exactly once, nothing is paid twice,
// and balances + money paid out = deposits.
import t from 'tap';
import { createWalletCommandHandler } from '../../src/commands/walletCommandHandler.ts';
import { walletStreamId } from '../../src/domain/events.ts';
import { cliArgs } from '../support/cli.ts';
import { spawnProcess } from '../support/process.ts';
import { schedulerFor, settled, startThirdParty, walletWhen } from '../support/scheduler.ts';
import { startStack } from '../support/stack.ts';

t.test('a scheduler killed mid-payout loses nothing and pays nothing twice', async (t) => {
  const stack = await startStack(t);
  const { http } = stack;
  const bank = await startThirdParty(t, 1000);

  const source = (await http('POST', '/api/wallets/', {})).body.uuid as string;
  const target = (await http('POST', '/api/wallets/', {})).body.uuid as string;
  await http('PATCH', `/api/wallets/${source}/deposit/`, { amount: '300.00' });
  // Far enough ahead that all 30 are accepted first, even on a busy 2-core machine.
  const due = new Date(Date.now() + 5000).toISOString();
  const ids: string[] = [];
  for (let i = 0; i < 30; i++) {
    const response = await http('POST', `/api/wallets/${source}/withdraw/`, {
      amount: '10.00',
      scheduled_time: due,
      ...(i % 3 === 0 ? { target } : {}),
    });
    ids.push(response.body.outgoing_transactions.at(-1).uuid);
  }

  // The first scheduler: its own process, short leases, killed while the bank is still answering.
  const doomed = spawnProcess('schedule', cliArgs(['schedule']), {
    t,
    env: {
      DATABASE_URL: stack.db.url,
      TRANSACTION_SERVICE_URL: bank.url,
      SCHEDULER_LEASE_MS: '2000',
      WITHDRAWAL_RETRY_BASE_MS: '100',
      LOG_LEVEL: 'warn',
    },
  });
  // Killed once payouts are requested and before the bank (1 s) has answered them all.
  await walletWhen(stack.store, source, 'a payout requested', (w) =>
    [...w.withdrawals.values()].some((x) => x.status === 'PROCESSING' && x.requestedAttempt > 0),
  );
  await doomed.stop({ signal: 'SIGKILL' });

  const commands = createWalletCommandHandler(stack.store);
  const inFlight = [...((await commands.load(source))?.withdrawals.values() ?? [])].filter(
    (w) => w.status === 'PROCESSING',
  );
  t.ok(inFlight.length > 0, `${inFlight.length} withdrawals were in flight at the kill`);

  // Its successor.
  await schedulerFor(t, stack, bank.url, { retryBaseMs: 100, leaseMs: 2000 });
  const { wallet } = await settled(stack.store, source, 60_000);
  // Credits to the target follow their withdrawal's success.
  const succeededToTarget = [...wallet.withdrawals.values()].filter(
    (w) => w.status === 'SUCCESS' && w.target,
  );
  const credited = await walletWhen(
    stack.store,
    target,
    'every transfer credited',
    (w) => w.incoming.size >= succeededToTarget.length,
  );

  const events = await stack.store.readStream(walletStreamId(source));
  for (const id of ids) {
    const endings = events.filter(
      (e) =>
        (e.data as { withdrawalId: string }).withdrawalId === id &&
        ['WithdrawalSucceeded', 'WithdrawalFailed'].includes(e.type),
    );
    if (endings.length !== 1) t.fail(`withdrawal ${id} ended ${endings.length} times`);
  }
  t.pass('every withdrawal ended exactly once');

  const { body } = await bank.http('GET', '/transfers');
  const paid = new Map<string, number>();
  for (const transfer of body.transfers as { key: string }[])
    paid.set(transfer.key, (paid.get(transfer.key) ?? 0) + 1);
  t.ok(
    [...paid.values()].every((n) => n === 1),
    'the bank paid each withdrawal at most once',
  );
  const succeeded = [...wallet.withdrawals.values()].filter((w) => w.status === 'SUCCESS');
  t.equal(paid.size, succeeded.length, 'paid exactly the succeeded ones');
  t.equal(succeeded.length, 30, 'all 30 fit in the balance and succeed');

  const paidOutside = succeeded.filter((w) => !w.target).reduce((sum, w) => sum + w.amount, 0n);
  t.equal(
    wallet.balance + credited.balance + paidOutside,
    30000n,
    'balances + paid out = deposits',
  );
  t.equal(credited.incoming.size, succeededToTarget.length, 'each transfer credited once');
});

// A scheduler process SIGKILLed while payouts are in flight: after another instance takes over
// (once the dead one's leases run out), every withdrawal ends exactly once, nothing is paid twice,
// and balances + money paid out = deposits.
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { createPayoutClient } from '../../scheduler/payoutClient.ts';
import { startScheduler } from '../../scheduler/scheduler.ts';
import { spawnTransactionService } from '../../src/cli/runtime.ts';
import { createWalletCommandHandler } from '../../src/commands/walletCommandHandler.ts';
import { walletStreamId } from '../../src/domain/events.ts';
import { loadConfig } from '../../src/infra/config.ts';
import { createLogger } from '../../src/infra/logger.ts';
import { httpClient, startStack } from '../support/stack.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

t.test('a scheduler killed mid-payout loses nothing and pays nothing twice', async (t) => {
  const stack = await startStack(t);
  const { http } = stack;
  const service = await spawnTransactionService(
    loadConfig({ TRANSACTION_SERVICE_PORT: '0' }),
    createLogger('test', 'warn'),
    { TRANSACTION_SERVICE_LATENCY_MS: '1000', TRANSACTION_SERVICE_FAILURE_RATE: '0' },
  );
  t.teardown(() => service.stop());
  const bank = httpClient(service.url as string);

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
  const doomed = spawn(process.execPath, ['--import', 'tsx', MAIN, 'schedule'], {
    env: {
      ...process.env,
      DATABASE_URL: stack.db.url,
      TRANSACTION_SERVICE_URL: service.url as string,
      SCHEDULER_LEASE_MS: '2000',
      WITHDRAWAL_RETRY_BASE_MS: '100',
      LOG_LEVEL: 'warn',
    },
    stdio: 'ignore',
  });
  const exited = new Promise((resolve) => doomed.once('exit', resolve));
  // Killed once payouts are requested and before the bank (1 s) has answered them all.
  const commands = createWalletCommandHandler(stack.store);
  for (let requested = 0; requested === 0; await sleep(20)) {
    const withdrawals = [...((await commands.load(source))?.withdrawals.values() ?? [])];
    requested = withdrawals.filter(
      (w) => w.status === 'PROCESSING' && w.requestedAttempt > 0,
    ).length;
  }
  doomed.kill('SIGKILL');
  await exited;

  const inFlight = [...((await commands.load(source))?.withdrawals.values() ?? [])].filter(
    (w) => w.status === 'PROCESSING',
  );
  t.ok(inFlight.length > 0, `${inFlight.length} withdrawals were in flight at the kill`);

  // Its successor.
  const payouts = createPayoutClient({
    baseUrl: service.url as string,
    timeoutMs: 5000,
    connections: 64,
  });
  const successor = await startScheduler({
    pool: stack.db.pool,
    commands: createWalletCommandHandler(stack.store),
    payouts,
    concurrency: 64,
    maxAttempts: 3,
    retryBaseMs: 100,
    leaseMs: 2000,
  });
  t.teardown(async () => {
    await successor.stop();
    await payouts.close();
  });

  const deadline = Date.now() + 60_000;
  let wallet = await commands.load(source);
  while (
    [...(wallet?.withdrawals.values() ?? [])].some(
      (w) => w.status === 'PENDING' || w.status === 'PROCESSING',
    )
  ) {
    if (Date.now() > deadline) throw new Error('withdrawals did not settle');
    await sleep(100);
    wallet = await commands.load(source);
  }
  // Credits to the target follow their withdrawal's success.
  const succeededToTarget = [...(wallet?.withdrawals.values() ?? [])].filter(
    (w) => w.status === 'SUCCESS' && w.target,
  );
  let credited = await commands.load(target);
  while ((credited?.incoming.size ?? 0) < succeededToTarget.length && Date.now() < deadline) {
    await sleep(100);
    credited = await commands.load(target);
  }

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

  const { body } = await bank('GET', '/transfers');
  const paid = new Map<string, number>();
  for (const transfer of body.transfers as { key: string }[])
    paid.set(transfer.key, (paid.get(transfer.key) ?? 0) + 1);
  t.ok(
    [...paid.values()].every((n) => n === 1),
    'the bank paid each withdrawal at most once',
  );
  const succeeded = [...(wallet?.withdrawals.values() ?? [])].filter((w) => w.status === 'SUCCESS');
  t.equal(paid.size, succeeded.length, 'paid exactly the succeeded ones');
  t.equal(succeeded.length, 30, 'all 30 fit in the balance and succeed');

  const paidOutside = succeeded.filter((w) => !w.target).reduce((sum, w) => sum + w.amount, 0n);
  t.equal(
    (wallet?.balance ?? 0n) + (credited?.balance ?? 0n) + paidOutside,
    30000n,
    'balances + paid out = deposits',
  );
  t.equal(credited?.incoming.size, succeededToTarget.length, 'each transfer credited once');
});

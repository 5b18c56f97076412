// Scheduled withdrawals end to end: the API and projector of a started stack, schedulers talking
// real HTTP to the transaction-service running as its own process, read models in a real
// PostgreSQL. A suite run once per event store adapter (see withdrawalSuites' callers).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Test } from 'tap';
import { createPayoutClient } from '../../scheduler/payoutClient.ts';
import { type Scheduler, startScheduler } from '../../scheduler/scheduler.ts';
import { spawnTransactionService } from '../../src/cli/runtime.ts';
import { createWalletCommandHandler } from '../../src/commands/walletCommandHandler.ts';
import { walletStreamId } from '../../src/domain/events.ts';
import { loadConfig } from '../../src/infra/config.ts';
import { createLogger } from '../../src/infra/logger.ts';
import {
  type Http,
  httpClient,
  type Stack,
  type StackTarget,
  type StartStack,
} from '../support/stack.ts';

const ENDED = ['SUCCESS', 'FAILED', 'CANCELLED'];

async function startThirdParty(t: Test, latencyMs: number) {
  const service = await spawnTransactionService(
    loadConfig({ TRANSACTION_SERVICE_PORT: '0' }),
    createLogger('test', 'warn'),
    { TRANSACTION_SERVICE_LATENCY_MS: String(latencyMs), TRANSACTION_SERVICE_FAILURE_RATE: '0' },
  );
  t.teardown(() => service.stop());
  const url = service.url as string;
  const http = httpClient(url);
  return {
    url,
    http,
    /** Payouts made, optionally only those with this key. */
    paid: async (key?: string) => {
      const { body } = await http('GET', '/transfers');
      return (body.transfers as { key: string | null }[]).filter(
        (p) => key === undefined || p.key === key,
      ).length;
    },
    setFaults: async (faults: unknown) => {
      const response = await http('PUT', '/faults', faults);
      if (response.status !== 200) throw new Error(`faults refused: ${response.text}`);
    },
  };
}

/** A scheduler on `stack` paying through `thirdPartyUrl`, stopped when `t` ends. */
export async function schedulerFor(
  t: Test,
  stack: Stack,
  thirdPartyUrl: string,
  options: { timeoutMs?: number; maxAttempts?: number; concurrency?: number } = {},
): Promise<Scheduler> {
  const payouts = createPayoutClient({
    baseUrl: thirdPartyUrl,
    timeoutMs: options.timeoutMs ?? 5000,
    connections: 64,
  });
  const scheduler = await startScheduler({
    pool: stack.db.pool,
    commands: createWalletCommandHandler(stack.store),
    payouts,
    concurrency: options.concurrency ?? 64,
    maxAttempts: options.maxAttempts ?? 3,
    retryBaseMs: 50,
    leaseMs: 5000,
    settleMs: 2000,
  });
  t.teardown(async () => {
    await scheduler.stop();
    await payouts.close();
  });
  return scheduler;
}

async function newWallet(http: Http, amount?: string): Promise<string> {
  const id = (await http('POST', '/api/wallets/', {})).body.uuid as string;
  if (amount) await http('PATCH', `/api/wallets/${id}/deposit/`, { amount });
  return id;
}

async function withdraw(
  http: Http,
  walletId: string,
  body: Record<string, unknown>,
): Promise<string> {
  const response = await http('POST', `/api/wallets/${walletId}/withdraw/`, body);
  if (response.status !== 201) throw new Error(`withdraw: ${response.status} ${response.text}`);
  return response.body.outgoing_transactions.at(-1).uuid;
}

/** Polls the wallet (from its stream, so never stale) until every withdrawal has ended. */
async function settled(stack: Stack, walletId: string, timeoutMs = 30_000) {
  const commands = createWalletCommandHandler(stack.store);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const wallet = await commands.load(walletId);
    const withdrawals = [...(wallet?.withdrawals.values() ?? [])];
    if (withdrawals.every((w) => ENDED.includes(w.status))) {
      return { wallet: wallet!, withdrawals, byId: new Map(withdrawals.map((w) => [w.id, w])) };
    }
    if (Date.now() > deadline) {
      throw new Error(`not settled: ${withdrawals.map((w) => `${w.id}:${w.status}`).join(', ')}`);
    }
    await sleep(50);
  }
}

async function eventTypes(stack: Stack, walletId: string, withdrawalId: string): Promise<string[]> {
  const events = await stack.store.readStream(walletStreamId(walletId));
  return events
    .filter((e) => (e.data as { withdrawalId?: string }).withdrawalId === withdrawalId)
    .map((e) => e.type);
}

/**
 * The scheduled-withdrawal suites on stacks of the given target (event store adapter). The same
 * tests run on every adapter: `test/scheduler/withdrawals.e2e.test.ts` (PostgreSQL) and
 * `test/esdb/withdrawals.e2e.test.ts`.
 */
export function withdrawalSuites(t: Test, target: StackTarget): void {
  t.test(`scheduled withdrawals (${target.name})`, (t) =>
    scheduledWithdrawals(t, target.startStack),
  );
  t.test(
    `connection refused: nothing can have been paid; retried, then refunded (${target.name})`,
    (t) => connectionRefused(t, target.startStack),
  );
}

async function scheduledWithdrawals(t: Test, startStack: StartStack): Promise<void> {
  const stack = await startStack(t);
  const { http } = stack;
  const bank = await startThirdParty(t, 100);
  // Answers take 100 ms; no answer in 500 ms is a timeout (the outcome is then unknown).
  await schedulerFor(t, stack, bank.url, { timeoutMs: 500 });

  t.test(
    "the original's example: 100.00, three withdrawals of 50.00 due within seconds",
    async (t) => {
      const walletId = await newWallet(http, '100.00');
      const ids = [];
      for (let i = 0; i < 3; i++)
        ids.push(await withdraw(http, walletId, { amount: '50.00', delay: 1 + i * 0.2 }));
      const { wallet, byId } = await settled(stack, walletId);
      t.same(
        ids.map((id) => byId.get(id)?.status),
        ['SUCCESS', 'SUCCESS', 'FAILED'],
      );
      t.equal(
        byId.get(ids[2]!)?.errorMessage,
        'Insufficient funds. Available balance: 0.00. Required amount: 50.00.',
      );
      t.equal(wallet.balance, 0n);
      const read = await http('GET', `/api/wallets/${walletId}/?min_revision=${wallet.revision}`);
      t.equal(read.body.balance, '0.00');
      t.same(
        read.body.outgoing_transactions.map((w: { status: string }) => w.status),
        ['SUCCESS', 'SUCCESS', 'FAILED'],
      );
      t.equal(await bank.paid(ids[0]), 1);
      t.equal(await bank.paid(ids[2]), 0, 'the failed one was never sent');
    },
  );

  t.test(
    'the balance is checked when due: a deposit after scheduling makes it succeed',
    async (t) => {
      const walletId = await newWallet(http);
      const id = await withdraw(http, walletId, { amount: '50.00', delay: 1.5 });
      await http('PATCH', `/api/wallets/${walletId}/deposit/`, { amount: '50.00' });
      const { byId, wallet } = await settled(stack, walletId);
      t.equal(byId.get(id)?.status, 'SUCCESS');
      t.equal(wallet.balance, 0n);
    },
  );

  t.test('a target wallet is credited exactly once on success', async (t) => {
    const source = await newWallet(http, '30.00');
    const target = await newWallet(http, '1.00');
    const id = await withdraw(http, source, { amount: '30.00', delay: 0.5, target });
    await settled(stack, source);
    const deadline = Date.now() + 10_000;
    let credited = await createWalletCommandHandler(stack.store).load(target);
    while (!credited?.incoming.has(id) && Date.now() < deadline) {
      await sleep(50);
      credited = await createWalletCommandHandler(stack.store).load(target);
    }
    t.equal(credited?.balance, 3100n);
    t.equal(
      (await eventTypes(stack, target, id)).filter((e) => e === 'TransferReceived').length,
      1,
    );
    const read = await http('GET', `/api/wallets/${target}/?min_revision=${credited?.revision}`);
    t.match(read.body.incoming_transactions, [
      { uuid: id, amount: '30.00', status: 'SUCCESS', source },
    ]);
  });

  t.test('cancelled before it is due: never started, never paid', async (t) => {
    const walletId = await newWallet(http, '10.00');
    const id = await withdraw(http, walletId, { amount: '10.00', delay: 1 });
    await http('POST', `/api/wallets/${walletId}/withdrawals/${id}/cancel/`);
    await sleep(1500);
    const { byId, wallet } = await settled(stack, walletId);
    t.equal(byId.get(id)?.status, 'CANCELLED');
    t.equal(wallet.balance, 1000n);
    t.equal(await bank.paid(id), 0);
  });

  t.test('100 withdrawals of 10 due at once on 500, two schedulers: exactly 50 paid', async (t) => {
    await schedulerFor(t, stack, bank.url, { timeoutMs: 500 }); // a second instance beside the first
    const walletId = await newWallet(http, '500.00');
    // Far enough ahead that all 100 are accepted first, even on a busy 2-core machine.
    const due = new Date(Date.now() + 6000).toISOString();
    const ids = await Promise.all(
      Array.from({ length: 100 }, () =>
        withdraw(http, walletId, { amount: '10.00', scheduled_time: due }),
      ),
    );
    const { wallet, withdrawals } = await settled(stack, walletId);
    const count = (status: string) => withdrawals.filter((w) => w.status === status).length;
    t.equal(count('SUCCESS'), 50);
    t.equal(count('FAILED'), 50);
    t.equal(wallet.balance, 0n);
    let paid = 0;
    for (const id of ids) paid += await bank.paid(id);
    t.equal(paid, 50, 'the third party paid exactly 50 times');
    const events = await stack.store.readStream(walletStreamId(walletId));
    const endings = events.filter((e) =>
      ['WithdrawalSucceeded', 'WithdrawalFailed'].includes(e.type),
    );
    t.equal(endings.length, 100, 'each withdrawal ended exactly once');
  });

  t.test('third-party failure modes end right, with the right balance', async (t) => {
    const scenario = async (
      name: string,
      faults: unknown[] | ((id: string) => unknown[]),
      expect: { status: string; paid: number; balance: bigint; events: string[]; message?: RegExp },
    ) => {
      t.test(name, async (t) => {
        const walletId = await newWallet(http, '20.00');
        // Far enough ahead to install the fault for this withdrawal's key first.
        const id = await withdraw(http, walletId, { amount: '20.00', delay: 1.5 });
        const rules = typeof faults === 'function' ? faults(id) : faults;
        await bank.setFaults({ rules });
        t.teardown(() => bank.setFaults({}));
        const { byId, wallet } = await settled(stack, walletId);
        const w = byId.get(id);
        t.equal(w?.status, expect.status, 'status');
        t.equal(wallet.balance, expect.balance, 'balance');
        t.equal(await bank.paid(id), expect.paid, 'payouts');
        t.same(await eventTypes(stack, walletId, id), expect.events, 'events');
        if (expect.message) t.match(w?.errorMessage, expect.message);
      });
    };
    // The last failure is on record too; a last status lookup then finds nothing paid.
    const attemptsThenFail = [
      'WithdrawalScheduled',
      'WithdrawalStarted',
      'WithdrawalPayoutRequested',
      'WithdrawalAttemptFailed',
      'WithdrawalPayoutRequested',
      'WithdrawalAttemptFailed',
      'WithdrawalPayoutRequested',
      'WithdrawalAttemptFailed',
      'WithdrawalFailed',
    ];
    await scenario(
      'body 503 every time: retried, then failed and refunded',
      (id) => [{ mode: 'failed', key: id }],
      {
        status: 'FAILED',
        paid: 0,
        balance: 2000n,
        events: attemptsThenFail,
        message: /Transaction service error: HTTP 200, failed \(503\)\. Gave up after 3 attempts\./,
      },
    );
    await scenario(
      'body 503 once: the retry pays',
      (id) => [{ mode: 'failed', key: id, times: 1 }],
      {
        status: 'SUCCESS',
        paid: 1,
        balance: 0n,
        events: [
          'WithdrawalScheduled',
          'WithdrawalStarted',
          'WithdrawalPayoutRequested',
          'WithdrawalAttemptFailed',
          'WithdrawalPayoutRequested',
          'WithdrawalSucceeded',
        ],
      },
    );
    await scenario(
      'HTTP 500 every time: failed and refunded',
      (id) => [{ mode: 'http500', key: id }],
      {
        status: 'FAILED',
        paid: 0,
        balance: 2000n,
        events: attemptsThenFail,
        message: /HTTP 500/,
      },
    );
    await scenario(
      'refusal: failed at once, no retry, refunded',
      (id) => [{ mode: 'refuse', key: id }],
      {
        status: 'FAILED',
        paid: 0,
        balance: 2000n,
        events: [
          'WithdrawalScheduled',
          'WithdrawalStarted',
          'WithdrawalPayoutRequested',
          'WithdrawalFailed',
        ],
        message: /Payout refused: HTTP 422/,
      },
    );
    // A timeout is unknown (on record), then the lookup's verdict is.
    await scenario(
      'timeout without a payout: looked up, not paid, retried, refunded',
      (id) => [{ mode: 'hang', key: id }],
      {
        status: 'FAILED',
        paid: 0,
        balance: 2000n,
        events: [
          'WithdrawalScheduled',
          'WithdrawalStarted',
          'WithdrawalPayoutRequested',
          'WithdrawalAttemptFailed',
          'WithdrawalAttemptFailed',
          'WithdrawalPayoutRequested',
          'WithdrawalAttemptFailed',
          'WithdrawalAttemptFailed',
          'WithdrawalPayoutRequested',
          'WithdrawalAttemptFailed',
          'WithdrawalFailed',
        ],
        message: /not paid/i,
      },
    );
    const unknownThenPaid = [
      'WithdrawalScheduled',
      'WithdrawalStarted',
      'WithdrawalPayoutRequested',
      'WithdrawalAttemptFailed',
      'WithdrawalSucceeded',
    ];
    await scenario(
      'timeout after a payout: the lookup finds it paid, no refund, no second payout',
      (id) => [{ mode: 'lostAnswerHang', key: id }],
      { status: 'SUCCESS', paid: 1, balance: 0n, events: unknownThenPaid },
    );
    await scenario(
      'paid but the connection dropped: the lookup finds it paid',
      (id) => [{ mode: 'lostAnswer', key: id }],
      { status: 'SUCCESS', paid: 1, balance: 0n, events: unknownThenPaid },
    );
  });
}

async function connectionRefused(t: Test, startStack: StartStack): Promise<void> {
  const stack = await startStack(t);
  // Port 9 (discard): nothing listens, so every connection is refused before anything is sent.
  await schedulerFor(t, stack, 'http://127.0.0.1:9');
  const walletId = await newWallet(stack.http, '5.00');
  const id = await withdraw(stack.http, walletId, { amount: '5.00', delay: 0.5 });
  const { byId, wallet } = await settled(stack, walletId);
  t.equal(byId.get(id)?.status, 'FAILED');
  t.match(byId.get(id)?.errorMessage, /unreachable \(ECONNREFUSED\)\. Gave up after 3 attempts/);
  t.equal(wallet.balance, 500n, 'refunded');
  t.equal(
    (await eventTypes(stack, walletId, id)).filter((e) => e === 'WithdrawalAttemptFailed').length,
    3,
  );
}

// Scheduled withdrawals end to end: the API and projector of a started stack, schedulers talking
// real HTTP to the transaction-service running as its own process, read models in a real
// PostgreSQL. A suite run once per event store adapter (see withdrawalSuites' callers).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Test } from 'tap';
import { walletStreamId } from '../../src/domain/events.ts';
import {
  THREE_FAILED_ATTEMPTS,
  THREE_TIMEOUTS_NOT_PAID,
  withdrawalEvents,
} from '../domain/given.ts';
import { schedulerFor, settled, startThirdParty, walletWhen } from '../support/scheduler.ts';
import type { Http, Stack, StackTarget, StartStack } from '../support/stack.ts';

export { schedulerFor } from '../support/scheduler.ts';

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
      const { wallet, byId } = await settled(stack.store, walletId);
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
      const { byId, wallet } = await settled(stack.store, walletId);
      t.equal(byId.get(id)?.status, 'SUCCESS');
      t.equal(wallet.balance, 0n);
    },
  );

  t.test('a target wallet is credited exactly once on success', async (t) => {
    const source = await newWallet(http, '30.00');
    const target = await newWallet(http, '1.00');
    const id = await withdraw(http, source, { amount: '30.00', delay: 0.5, target });
    await settled(stack.store, source);
    const credited = await walletWhen(stack.store, target, `transfer ${id} credited`, (w) =>
      w.incoming.has(id),
    );
    t.equal(credited.balance, 3100n);
    t.equal(
      (await eventTypes(stack, target, id)).filter((e) => e === 'TransferReceived').length,
      1,
    );
    const read = await http('GET', `/api/wallets/${target}/?min_revision=${credited.revision}`);
    t.match(read.body.incoming_transactions, [
      { uuid: id, amount: '30.00', status: 'SUCCESS', source },
    ]);
  });

  t.test('cancelled before it is due: never started, never paid', async (t) => {
    const walletId = await newWallet(http, '10.00');
    const id = await withdraw(http, walletId, { amount: '10.00', delay: 1 });
    await http('POST', `/api/wallets/${walletId}/withdrawals/${id}/cancel/`);
    await sleep(1500);
    const { byId, wallet } = await settled(stack.store, walletId);
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
    const { wallet, withdrawals } = await settled(stack.store, walletId);
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
    // The modes the payout-policy unit tests play step by step, here through real HTTP: each
    // fault applies to this withdrawal's key only. After an unknown outcome (a timeout, a lost
    // answer) the status lookup's verdict is on record.
    const modes: [name: string, fault: Record<string, unknown>, expect: FailureMode][] = [
      [
        'body 503 every time: retried, then failed and refunded',
        { mode: 'failed' },
        {
          status: 'FAILED',
          paid: 0,
          events: `${THREE_FAILED_ATTEMPTS} Failed`,
          message:
            /Transaction service error: HTTP 200, failed \(503\)\. Gave up after 3 attempts\./,
        },
      ],
      [
        'body 503 once: the retry pays',
        { mode: 'failed', times: 1 },
        {
          status: 'SUCCESS',
          paid: 1,
          events: 'PayoutRequested AttemptFailed PayoutRequested Succeeded',
        },
      ],
      [
        'HTTP 500 every time: failed and refunded',
        { mode: 'http500' },
        {
          status: 'FAILED',
          paid: 0,
          events: `${THREE_FAILED_ATTEMPTS} Failed`,
          message: /HTTP 500/,
        },
      ],
      [
        'refusal: failed at once, no retry, refunded',
        { mode: 'refuse' },
        {
          status: 'FAILED',
          paid: 0,
          events: 'PayoutRequested Failed',
          message: /Payout refused: HTTP 422/,
        },
      ],
      [
        'timeout without a payout: looked up, not paid, retried, refunded',
        { mode: 'hang' },
        {
          status: 'FAILED',
          paid: 0,
          events: `${THREE_TIMEOUTS_NOT_PAID} Failed`,
          message: /not paid/i,
        },
      ],
      [
        'timeout after a payout: the lookup finds it paid, no refund, no second payout',
        { mode: 'lostAnswerHang' },
        { status: 'SUCCESS', paid: 1, events: 'PayoutRequested AttemptFailed Succeeded' },
      ],
      [
        'paid but the connection dropped: the lookup finds it paid',
        { mode: 'lostAnswer' },
        { status: 'SUCCESS', paid: 1, events: 'PayoutRequested AttemptFailed Succeeded' },
      ],
    ];
    // One at a time: the fault rules are the third party's, for all its callers.
    for (const [name, fault, expect] of modes) {
      await t.test(name, async (t) => {
        const walletId = await newWallet(http, '20.00');
        // Far enough ahead to install the fault for this withdrawal's key first.
        const id = await withdraw(http, walletId, { amount: '20.00', delay: 1.5 });
        await bank.setFaults({ rules: [{ ...fault, key: id }] });
        t.teardown(() => bank.setFaults({}));
        const { byId, wallet } = await settled(stack.store, walletId);
        const w = byId.get(id);
        t.equal(w?.status, expect.status, 'status');
        // Paid: all 20.00 went out; failed: all of it came back.
        t.equal(wallet.balance, expect.status === 'SUCCESS' ? 0n : 2000n, 'balance');
        t.equal(await bank.paid(id), expect.paid, 'payouts');
        t.same(
          await eventTypes(stack, walletId, id),
          withdrawalEvents(`Scheduled Started ${expect.events}`),
          'events',
        );
        if (expect.message) t.match(w?.errorMessage, expect.message);
      });
    }
  });
}

interface FailureMode {
  readonly status: 'SUCCESS' | 'FAILED';
  /** Payouts the third party made. */
  readonly paid: number;
  /** After `Scheduled Started`, written short (`withdrawalEvents`). */
  readonly events: string;
  readonly message?: RegExp;
}

async function connectionRefused(t: Test, startStack: StartStack): Promise<void> {
  const stack = await startStack(t);
  // Port 9 (discard): nothing listens, so every connection is refused before anything is sent.
  await schedulerFor(t, stack, 'http://127.0.0.1:9');
  const walletId = await newWallet(stack.http, '5.00');
  const id = await withdraw(stack.http, walletId, { amount: '5.00', delay: 0.5 });
  const { byId, wallet } = await settled(stack.store, walletId);
  t.equal(byId.get(id)?.status, 'FAILED');
  t.match(byId.get(id)?.errorMessage, /unreachable \(ECONNREFUSED\)\. Gave up after 3 attempts/);
  t.equal(wallet.balance, 500n, 'refunded');
  t.equal(
    (await eventTypes(stack, walletId, id)).filter((e) => e === 'WithdrawalAttemptFailed').length,
    3,
  );
}

// The scheduler's step runner on a real PostgreSQL event store, against a scripted third party over
// real HTTP, with the clock driven by the test (no waiting through backoffs or rechecks): a lost
// claim stops before paying; an operator's forced settlement during a payout, followed by the
// bank's "paid", is a conflict on record; a request the bank forgot is sent again, with a warning.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import t, { type Test } from 'tap';
import type { Claim } from '../../scheduler/claims/claimDue.ts';
import { createPayoutClient } from '../../scheduler/payoutClient.ts';
import { processWithdrawal, type StepRunner } from '../../scheduler/processWithdrawal.ts';
import { createWalletCommandHandler } from '../../src/commands/walletCommandHandler.ts';
import { WithdrawalNotSettleable } from '../../src/domain/errors.ts';
import { walletStreamId } from '../../src/domain/events.ts';
import { openPostgresEventStore } from '../../src/eventstore/postgres/index.ts';
import { createLimit } from '../../src/infra/limit.ts';
import { metrics } from '../../src/infra/metrics.ts';
import { createTestDatabase } from '../support/database.ts';
import { pollUntil } from '../support/poll.ts';

/** A third party whose answers the test scripts; a payout may be held until the test lets it go. */
async function scriptedBank(t: Test) {
  const state = {
    requests: 0,
    /** What POST / answers next (JSON body); `hold` keeps it waiting for `release`. */
    answer: { data: 'success', status: 200 } as object,
    hold: false,
    /** What GET /transfers/<key> answers: 404 {found:false}, a verdict, or no lookup at all. */
    lookup: 'not_found' as 'not_found' | 'paid' | 'none',
  };
  let release = () => {};
  const server = http.createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      const send = (status: number, body: unknown) => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(body));
      };
      if (request.method === 'POST') {
        state.requests++;
        if (!state.hold) return send(200, state.answer);
        release = () => send(200, state.answer);
        return;
      }
      if (state.lookup === 'none') return send(404, { detail: 'no such page' });
      if (state.lookup === 'paid') return send(200, { found: true, status: 'paid' });
      return send(404, { found: false });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const payouts = createPayoutClient({
    baseUrl: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    timeoutMs: 5000,
    connections: 2,
  });
  t.teardown(() => payouts.close());
  return { state, payouts, release: () => release() };
}

async function setUp(t: Test) {
  const bank = await scriptedBank(t);
  const db = await createTestDatabase(t, 5);
  const store = await openPostgresEventStore(db.pool);
  let now = Date.parse('2030-01-01T00:00:00.000Z');
  const clock = () => new Date(now);
  const commands = createWalletCommandHandler(store, { clock });
  const logged: { level: string; message: string }[] = [];
  let claimValid = true;
  const runner: StepRunner = {
    commands,
    payouts: bank.payouts,
    policy: { maxAttempts: 3, retryBaseMs: 1000, recheckMs: 60_000 },
    clock,
    random: () => 0.5,
    limitPayout: createLimit(4),
    renew: async () => claimValid,
    instance: 'scheduler-test',
    log: {
      warn: (message) => logged.push({ level: 'warn', message }),
      error: (message) => logged.push({ level: 'error', message }),
    },
  };
  const walletId = randomUUID();
  const withdrawalId = randomUUID();
  await commands.handle(walletId, { type: 'CreateWallet', walletId, currency: 'USD', owner: null });
  await commands.handle(walletId, { type: 'Deposit', depositId: randomUUID(), amount: '100.00' });
  await commands.handle(walletId, {
    type: 'ScheduleWithdrawal',
    withdrawalId,
    amount: '60.00',
    target: null,
    scheduledTime: new Date(now + 1000),
  });
  now += 2000;
  const claim: Claim = { walletId, withdrawalId, lease: 'scheduler-test/1' };
  return {
    bank,
    commands,
    runner,
    claim,
    logged,
    walletId,
    withdrawalId,
    advance: (ms: number) => {
      now += ms;
    },
    loseClaim: () => {
      claimValid = false;
    },
    withdrawal: async () => (await commands.load(walletId))?.withdrawals.get(withdrawalId),
    types: async () =>
      (await store.readStream(walletStreamId(walletId)))
        .filter((e) => (e.data as { withdrawalId?: string }).withdrawalId === withdrawalId)
        .map((e) => e.type),
  };
}

t.test('a lost claim stops before anything is sent or recorded', async (t) => {
  const s = await setUp(t);
  s.loseClaim();
  const result = await processWithdrawal(s.runner, s.claim);
  t.equal(result.done, false, 'to be looked at again later');
  t.equal(s.bank.state.requests, 0);
  t.same(await s.types(), ['WithdrawalScheduled']);
});

t.test('paid at once: started, requested, succeeded in one claim', async (t) => {
  const s = await setUp(t);
  t.same(await processWithdrawal(s.runner, s.claim), { done: true });
  t.same(await s.types(), [
    'WithdrawalScheduled',
    'WithdrawalStarted',
    'WithdrawalPayoutRequested',
    'WithdrawalSucceeded',
  ]);
  const history = await s.commands.load(s.walletId);
  t.equal(history?.balance, 4000n);
});

t.test('settle during a payout: refused, then forced; the bank pays: a conflict', async (t) => {
  const s = await setUp(t);
  const conflictsBefore = (await metrics.outcomeConflicts.get()).values.reduce(
    (sum, v) => sum + v.value,
    0,
  );
  s.bank.state.hold = true;
  const running = processWithdrawal(s.runner, s.claim);
  await pollUntil('the payout request', async () => s.bank.state.requests > 0, {
    until: (sent) => sent,
    intervalMs: 5,
  });
  const settle = (force: boolean) =>
    s.commands.handle(s.walletId, {
      type: 'SettleWithdrawal',
      withdrawalId: s.withdrawalId,
      verdict: 'not_paid',
      operator: 'ops-anna',
      force,
    });
  const refused = await settle(false).catch((error: unknown) => error);
  t.type(refused, WithdrawalNotSettleable, 'the request is in flight: the outcome can be learned');
  t.match(refused, { problem: 'outcome_pending' });
  const forced = await settle(true);
  t.equal(forced.wallet.balance, 10000n, 'refunded on the operator’s word');
  s.bank.release(); // the bank pays after all
  t.same(await running, { done: true });
  t.same(await s.types(), [
    'WithdrawalScheduled',
    'WithdrawalStarted',
    'WithdrawalPayoutRequested',
    'WithdrawalFailed',
    'WithdrawalOutcomeConflict',
  ]);
  const w = await s.withdrawal();
  t.same(w?.conflict, { recorded: 'FAILED', reported: 'paid' });
  t.match(w?.errorMessage, /60\.00 USD is owed back/);
  const conflictsAfter = (await metrics.outcomeConflicts.get()).values.reduce(
    (sum, v) => sum + v.value,
    0,
  );
  t.equal(conflictsAfter - conflictsBefore, 1, 'counted');
  t.match(s.logged, [{ level: 'error', message: /contradicts the recorded outcome/ }]);
});

t.test('a request on record the bank never received: a warning, then sent again', async (t) => {
  const s = await setUp(t);
  // What a scheduler that died right after putting the request on record leaves behind.
  await s.commands.handle(s.walletId, { type: 'StartWithdrawal', withdrawalId: s.withdrawalId });
  await s.commands.handle(s.walletId, {
    type: 'RequestPayout',
    withdrawalId: s.withdrawalId,
    attempt: 1,
  });
  const before = (await metrics.resendsAfterNotFound.get()).values[0]?.value ?? 0;
  const first = await processWithdrawal(s.runner, s.claim);
  t.equal(first.done, false, 'waits for the backoff');
  t.equal(s.bank.state.requests, 0, 'nothing sent while the backoff runs');
  t.equal((await metrics.resendsAfterNotFound.get()).values[0]?.value, before + 1);
  t.match(s.logged, [{ level: 'warn', message: /unknown to the third party/ }]);
  s.advance(2000); // past the backoff: no waiting in the test
  t.same(await processWithdrawal(s.runner, s.claim), { done: true });
  t.equal(s.bank.state.requests, 1, 'sent again, once');
  t.equal((await s.withdrawal())?.status, 'SUCCESS');
});

t.test('no lookup and an unknown outcome: awaiting an operator, never resent', async (t) => {
  const s = await setUp(t);
  s.bank.state.answer = { detail: 'bad gateway' }; // no verdict of the bank's own: unknown
  s.bank.state.lookup = 'none';
  const first = await processWithdrawal(s.runner, s.claim);
  t.equal(first.done, false);
  for (let i = 0; i < 5; i++) {
    s.advance(60_000); // each recheck, without waiting for it
    const again = await processWithdrawal(s.runner, s.claim);
    t.equal(again.done, false);
  }
  t.equal(s.bank.state.requests, 1, 'the request went out once');
  const w = await s.withdrawal();
  t.equal(w?.status, 'PROCESSING');
  t.equal(w?.awaitingSettlement, true);
  t.same(await s.types(), [
    'WithdrawalScheduled',
    'WithdrawalStarted',
    'WithdrawalPayoutRequested',
    'WithdrawalAttemptFailed',
    'WithdrawalAwaitingSettlement',
  ]);
  const settled = await s.commands.handle(s.walletId, {
    type: 'SettleWithdrawal',
    withdrawalId: s.withdrawalId,
    verdict: 'paid',
    operator: 'ops-anna',
    force: false,
  });
  t.equal(settled.wallet.withdrawals.get(s.withdrawalId)?.status, 'SUCCESS', 'an operator may');
});

// One withdrawal's payout steps against a third party that answers like the original stub (no
// keys, no lookup), over real HTTP, on a real PostgreSQL event store: what a claim that runs out
// at the worst moment leaves behind, and how the next holder ends it.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import t from 'tap';
import { createPayoutClient } from '../../scheduler/payoutClient.ts';
import { processWithdrawal } from '../../scheduler/processWithdrawal.ts';
import { createWalletCommandHandler } from '../../src/commands/walletCommandHandler.ts';
import { walletStreamId } from '../../src/domain/events.ts';
import { openPostgresEventStore } from '../../src/eventstore/postgres/index.ts';
import { createLimit } from '../../src/infra/limit.ts';
import { createTestDatabase } from '../support/database.ts';

t.test('a last definite failure whose claim ran out is recorded, then refunded', async (t) => {
  let requests = 0;
  const stub = http.createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      if (request.method === 'POST' && request.url === '/') requests++;
      response.writeHead(request.url === '/' ? 200 : 404, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ data: 'failed', status: 503 }));
    });
  });
  await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => stub.close(() => resolve())));
  const payouts = createPayoutClient({
    baseUrl: `http://127.0.0.1:${(stub.address() as { port: number }).port}`,
    timeoutMs: 2000,
    connections: 2,
  });
  t.teardown(() => payouts.close());

  const db = await createTestDatabase(t, 5);
  const store = await openPostgresEventStore(db.pool);
  let now = Date.now();
  const clock = () => new Date(now);
  const commands = createWalletCommandHandler(store, { clock });
  const walletId = randomUUID();
  const withdrawalId = randomUUID();
  const due = new Date(now + 1000);
  await commands.handle(walletId, { type: 'CreateWallet', walletId, currency: 'USD', owner: null });
  await commands.handle(walletId, { type: 'Deposit', depositId: randomUUID(), amount: '30.00' });
  await commands.handle(walletId, {
    type: 'ScheduleWithdrawal',
    withdrawalId,
    amount: '30.00',
    target: null,
    scheduledTime: due,
  });
  now += 2000;
  await commands.handle(walletId, { type: 'StartWithdrawal', withdrawalId });
  for (const attempt of [1, 2]) {
    await commands.handle(walletId, { type: 'RequestPayout', withdrawalId, attempt });
    await commands.handle(walletId, {
      type: 'RecordAttemptFailure',
      withdrawalId,
      attempt,
      reason: 'Transaction service error: HTTP 200, failed (503).',
      outcome: 'failed',
      nextAttemptAt: clock(),
    });
  }
  const options = {
    commands,
    payouts,
    clock,
    maxAttempts: 3,
    retryBaseMs: 10,
    limitPayout: createLimit(1),
  };

  // The claim holds before the request and is gone by the refund.
  const renewals = [true];
  const first = await processWithdrawal(options, walletId, withdrawalId, async () =>
    renewals.length > 0 ? (renewals.shift() as boolean) : false,
  );
  t.equal(first.done, false, 'not finished by the claim that ran out');
  t.equal(requests, 1);
  let wallet = await commands.load(walletId);
  let withdrawal = wallet?.withdrawals.get(withdrawalId);
  t.equal(withdrawal?.status, 'PROCESSING');
  t.equal(withdrawal?.attempts, 3, 'the definite failure is on record');
  t.equal(withdrawal?.outcomeUnknown, false, 'so it does not look unknown for ever');

  const second = await processWithdrawal(options, walletId, withdrawalId, async () => true);
  t.equal(second.done, true);
  t.equal(requests, 1, 'no fourth request');
  wallet = await commands.load(walletId);
  withdrawal = wallet?.withdrawals.get(withdrawalId);
  t.equal(withdrawal?.status, 'FAILED');
  t.match(withdrawal?.errorMessage, /Gave up after 3 attempts\./);
  t.equal(wallet?.balance, 3000n, 'refunded');
  const types = (await store.readStream(walletStreamId(walletId))).map((e) => e.type);
  t.same(types.slice(-4), [
    'WithdrawalAttemptFailed',
    'WithdrawalPayoutRequested',
    'WithdrawalAttemptFailed',
    'WithdrawalFailed',
  ]);
});

// `settle` as an operator runs it (a real subprocess): refused while a payout request is
// outstanding whose outcome the third party can still tell, refused while a scheduler holds a
// live claim, and with --force settled, the event naming the operator and that it was forced.
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { migrateScheduler, SCHEDULER_SCHEMA } from '../../scheduler/claims/schema.ts';
import { createWalletCommandHandler } from '../../src/commands/walletCommandHandler.ts';
import { walletStreamId } from '../../src/domain/events.ts';
import { runCli } from '../support/cli.ts';
import { startStack } from '../support/stack.ts';

t.test('settle while a payout is in flight: refused unless forced, and recorded', async (t) => {
  const stack = await startStack(t, { projector: false });
  const later = createWalletCommandHandler(stack.store, {
    clock: () => new Date(Date.now() + 3_600_000),
  });
  const walletId = (await stack.http('POST', '/api/wallets/', {})).body.uuid as string;
  await stack.http('PATCH', `/api/wallets/${walletId}/deposit/`, { amount: '100.00' });
  const scheduled = await stack.http('POST', `/api/wallets/${walletId}/withdraw/`, {
    amount: '60.00',
    delay: 60,
  });
  const withdrawalId = scheduled.body.outgoing_transactions[0].uuid as string;
  // What a scheduler has done while the bank is still answering: started, request on record.
  await later.handle(walletId, { type: 'StartWithdrawal', withdrawalId });
  await later.handle(walletId, { type: 'RequestPayout', withdrawalId, attempt: 1 });
  const env = { DATABASE_URL: stack.db.url };

  const refused = await runCli(['settle', walletId, withdrawalId, 'not-paid'], env);
  t.equal(refused.code, 1, 'refused: the outcome can still be learned');
  t.match(refused.stderr, /payout request outstanding.*--force/);

  await migrateScheduler(stack.db.pool);
  await stack.db.pool.query(
    `insert into ${SCHEDULER_SCHEMA}.claims (withdrawal_id, wallet_id, lease, leased_until)
     values ($1, $2, 'scheduler-x/1', now() + interval '1 minute')`,
    [withdrawalId, walletId],
  );
  const claimed = await runCli(['settle', walletId, withdrawalId, 'not-paid'], env);
  t.equal(claimed.code, 1, 'refused: a scheduler is working on it');
  t.match(claimed.stderr, /being worked on by a scheduler/);
  t.equal((await later.load(walletId))?.balance, 4000n, 'nothing moved');

  const forced = await runCli(
    ['settle', walletId, withdrawalId, 'not-paid', '--force', '--by', 'anna'],
    env,
  );
  t.equal(forced.code, 0, forced.stderr);
  t.match(forced.stdout, /FAILED; balance 100\.00 USD \(forced by anna\)/);
  const events = await stack.store.readStream(walletStreamId(walletId));
  const ending = events.at(-1);
  t.equal(ending?.type, 'WithdrawalFailed');
  t.match(ending?.data, { settledBy: { operator: 'anna', forced: true } });
  t.match(ending?.metadata, { actor: { type: 'operator', name: 'anna' } });

  t.equal((await runCli(['settle', walletId, withdrawalId, 'paid', '--by'], env)).code, 2);
  t.equal((await runCli(['settle', walletId, randomUUID(), 'paid'], env)).code, 1);
});

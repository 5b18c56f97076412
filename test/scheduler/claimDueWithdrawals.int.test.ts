// Claims on the due list: each claim has its own lease token, so a claim that ran out and was
// claimed again, even by the same instance, can no longer renew or move the lease.
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { ensureReadModel, LIVE_SCHEMA } from '../../projections/readModelSchema.ts';
import {
  claimDueWithdrawals,
  extendLease,
  renewLease,
} from '../../scheduler/claimDueWithdrawals.ts';
import { createTestDatabase } from '../support/database.ts';

t.test('a claim taken over by the same instance stops renewing', async (t) => {
  const db = await createTestDatabase(t, 5);
  await ensureReadModel(db.pool);
  const withdrawalId = randomUUID();
  const t0 = new Date('2030-01-01T00:00:00Z');
  await db.pool.query(
    `insert into ${LIVE_SCHEMA}.due_withdrawals (withdrawal_id, wallet_id, step, due_at)
     values ($1, $2, 'pay', $3)`,
    [withdrawalId, randomUUID(), t0],
  );
  const owner = 'scheduler-a';
  const [first] = await claimDueWithdrawals(db.pool, { now: t0, limit: 10, leaseMs: 1000, owner });
  t.equal(first?.withdrawalId, withdrawalId);
  t.match(first?.lease, /^scheduler-a\//);
  const during = new Date(t0.getTime() + 500);
  t.same(
    await claimDueWithdrawals(db.pool, { now: during, limit: 10, leaseMs: 1000, owner }),
    [],
    'not claimed again while leased',
  );
  t.ok(
    await renewLease(db.pool, { withdrawalId, lease: first!.lease, now: during, leaseMs: 1000 }),
  );

  const after = new Date(t0.getTime() + 5000); // the renewed lease ran out
  const [second] = await claimDueWithdrawals(db.pool, {
    now: after,
    limit: 10,
    leaseMs: 1000,
    owner,
  });
  t.equal(second?.withdrawalId, withdrawalId, 'the same instance claims it again');
  t.not(second?.lease, first?.lease, 'with a token of its own');
  t.notOk(
    await renewLease(db.pool, { withdrawalId, lease: first!.lease, now: after, leaseMs: 1000 }),
    'the old claim can no longer renew: it stops before paying or refunding',
  );
  await extendLease(db.pool, { withdrawalId, lease: first!.lease, until: new Date(0) });
  const { rows } = await db.pool.query(
    `select leased_by, leased_until from ${LIVE_SCHEMA}.due_withdrawals where withdrawal_id = $1`,
    [withdrawalId],
  );
  t.same(rows[0], { leased_by: second!.lease, leased_until: new Date(after.getTime() + 1000) });
  t.ok(
    await renewLease(db.pool, { withdrawalId, lease: second!.lease, now: after, leaseMs: 1000 }),
  );
});

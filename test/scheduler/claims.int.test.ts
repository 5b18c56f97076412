// The scheduler's claims on the projector's due list, in the scheduler's own table: each claim has
// a token of its own, so a claim that ran out and was taken again (even by the same instance)
// can no longer renew or release; released claims are held back until their next moment;
// several schedulers claiming at once never share a row.
import { randomUUID } from 'node:crypto';
import t, { type Test } from 'tap';
import { createReadModel, LIVE_SCHEMA } from '../../projections/readModelSchema.ts';
import { claimDue } from '../../scheduler/claims/claimDue.ts';
import { dueSummary } from '../../scheduler/claims/dueSummary.ts';
import { releaseClaim } from '../../scheduler/claims/releaseClaim.ts';
import { renewClaim } from '../../scheduler/claims/renewClaim.ts';
import { migrateScheduler, SCHEDULER_SCHEMA } from '../../scheduler/claims/schema.ts';
import { sweepClaims } from '../../scheduler/claims/sweepClaims.ts';
import { createTestDatabase } from '../support/database.ts';

const T0 = new Date('2030-01-01T00:00:00Z');
const at = (ms: number) => new Date(T0.getTime() + ms);

async function setUp(t: Test) {
  const db = await createTestDatabase(t, 8);
  await createReadModel(db.pool, LIVE_SCHEMA);
  await migrateScheduler(db.pool);
  const due = async (dueAt: Date) => {
    const withdrawalId = randomUUID();
    await db.pool.query(
      `insert into ${LIVE_SCHEMA}.due_withdrawals (withdrawal_id, wallet_id, step, due_at)
       values ($1, $2, 'pay', $3)`,
      [withdrawalId, randomUUID(), dueAt],
    );
    return withdrawalId;
  };
  const claim = (now: Date, instance = 'scheduler-a', limit = 10) =>
    claimDue(db.pool, { now, limit, leaseMs: 1000, instance });
  return { db, due, claim };
}

t.test('a claim taken over by the same instance stops renewing', async (t) => {
  const { db, due, claim } = await setUp(t);
  const withdrawalId = await due(T0);
  t.same(await claim(at(-1)), [], 'not due yet');
  const [first] = await claim(T0);
  t.equal(first?.withdrawalId, withdrawalId);
  t.match(first?.lease, /^scheduler-a\//);
  t.same(await claim(at(500)), [], 'not claimed again while leased');
  t.ok(await renewClaim(db.pool, first!, { now: at(500), leaseMs: 1000 }));

  const [second] = await claim(at(5000)); // the renewed lease ran out
  t.equal(second?.withdrawalId, withdrawalId, 'the same instance claims it again');
  t.not(second?.lease, first?.lease, 'with a token of its own');
  t.notOk(
    await renewClaim(db.pool, first!, { now: at(5000), leaseMs: 1000 }),
    'the old claim can no longer renew: it stops before paying or refunding',
  );
  await releaseClaim(db.pool, first!, at(0));
  const { rows } = await db.pool.query(
    `select lease from ${SCHEDULER_SCHEMA}.claims where withdrawal_id = $1`,
    [withdrawalId],
  );
  t.equal(rows[0]?.lease, second?.lease, 'nor release the new one');
});

t.test('a released claim is held back until its next moment', async (t) => {
  const { db, due, claim } = await setUp(t);
  await due(T0);
  const [held] = await claim(T0);
  await releaseClaim(db.pool, held!, at(60_000));
  t.same(await claim(at(30_000)), [], 'held back (a backoff, a recheck)');
  t.same(await dueSummary(db.pool, at(30_000)), { nextDueAt: at(60_000), backlog: 0 });
  t.equal((await claim(at(60_000))).length, 1, 'claimed again when its moment comes');
});

t.test('claims of withdrawals off the due list are swept once nobody holds them', async (t) => {
  const { db, due, claim } = await setUp(t);
  const id = await due(T0);
  const [held] = await claim(T0);
  await db.pool.query(`delete from ${LIVE_SCHEMA}.due_withdrawals where withdrawal_id = $1`, [id]);
  t.equal(await sweepClaims(db.pool, at(500)), 0, 'still held');
  await releaseClaim(db.pool, held!, at(1000));
  t.equal(await sweepClaims(db.pool, at(2000)), 1);
});

t.test('schedulers claiming at once never share a row', async (t) => {
  const { due, claim } = await setUp(t);
  const ids = await Promise.all(Array.from({ length: 200 }, (_, i) => due(at(-i))));
  const rounds = await Promise.all(
    Array.from({ length: 6 }, (_, i) => claim(T0, `scheduler-${i}`, 50)),
  );
  const claimed = rounds.flat().map((c) => c.withdrawalId);
  t.equal(new Set(claimed).size, claimed.length, 'no row claimed twice');
  t.equal(claimed.length, ids.length, 'every due row claimed');
});

// The notify role's tables on real PostgreSQL: the outbox is written with its checkpoint or not at
// all; lanes are claimed by one instance at a time, within each endpoint's room; a lane's due time
// stays exact while the outbox writer and deliverers change it at once; retries and the sweep.
import { randomUUID } from 'node:crypto';
import t, { type Test } from 'tap';
import { deliveryIdOf } from '../../notify/fanOut.ts';
import { migrateNotify, NOTIFY_SCHEMA } from '../../notify/schema.ts';
import { applyRetries } from '../../notify/store/applyRetries.ts';
import { claimLanes, type LaneClaim } from '../../notify/store/claimLanes.ts';
import { loadHead } from '../../notify/store/loadHead.ts';
import { type AttemptRecord, recordAttempt } from '../../notify/store/recordAttempt.ts';
import { releaseLane } from '../../notify/store/releaseLane.ts';
import { sweep } from '../../notify/store/sweep.ts';
import { writeOutbox } from '../../notify/store/writeOutbox.ts';
import { readCheckpoint } from '../../projections/checkpoint.ts';
import { type Position, type RecordedEvent, START } from '../../src/eventstore/eventStore.ts';
import { withTransaction } from '../../src/infra/postgres.ts';
import { deleteEndpoint } from '../../src/webhooks/postgres/deleteEndpoint.ts';
import { insertEndpoint } from '../../src/webhooks/postgres/insertEndpoint.ts';
import { migrateWebhooks } from '../../src/webhooks/postgres/migrations.ts';
import { requestRetry } from '../../src/webhooks/postgres/requestRetry.ts';
import { createTestDatabase } from '../support/database.ts';

const T0 = new Date('2030-01-01T00:00:00Z');
const at = (ms: number) => new Date(T0.getTime() + ms);

async function setUp(t: Test) {
  const db = await createTestDatabase(t, 12);
  await migrateWebhooks(db.pool);
  await migrateNotify(db.pool);
  const endpoint = async (owner: string | null = null, eventTypes: string[] | null = null) => {
    const id = randomUUID();
    await insertEndpoint(
      db.pool,
      {
        id,
        owner,
        keyId: null,
        url: 'http://127.0.0.1:1/',
        eventTypes,
        description: '',
        secret: 'plain:x',
      },
      50,
    );
    // Registered long before the events below are recorded.
    await db.pool.query(`update webhooks.endpoints set created_at = $2 where endpoint_id = $1`, [
      id,
      at(-60_000),
    ]);
    return id;
  };
  let position = 0n;
  const event = (
    walletId: string,
    revision: number,
    type = 'Deposited',
    data: object = {},
  ): RecordedEvent => {
    position++;
    return {
      id: randomUUID(),
      streamId: `wallet-${walletId}`,
      revision: BigInt(revision),
      position: { commit: position, prepare: position },
      type,
      data: { at: T0.toISOString(), ...data },
      metadata: null,
      recordedAt: T0,
    };
  };
  let checkpoint: Position = START;
  const write = async (events: RecordedEvent[], now = T0) => {
    const from = checkpoint;
    const written = await withTransaction(db.pool, (client) =>
      writeOutbox(client, { from, events, now, maxAttempts: 3 }),
    );
    checkpoint = (events.at(-1) as RecordedEvent).position;
    return written;
  };
  const count = async (where = 'true') => {
    const { rows } = await db.pool.query(
      `select count(*)::int as n from ${NOTIFY_SCHEMA}.deliveries where ${where}`,
    );
    return rows[0].n as number;
  };
  /** Claims (at most) one lane of `endpointId`. */
  const claimLaneOf = (
    endpointId: string,
    {
      now = T0,
      leaseMs = 1000,
      instance = 'a',
    }: { now?: Date; leaseMs?: number; instance?: string } = {},
  ) => claimLanes(db.pool, { rooms: new Map([[endpointId, 1]]), now, leaseMs, instance });
  return { db, endpoint, event, write, count, claimLaneOf };
}

const ok = (at: Date): AttemptRecord => ({
  at,
  latencyMs: 3,
  httpStatus: 200,
  response: 'ok',
  error: null,
  ok: true,
});
const failed = (at: Date): AttemptRecord => ({
  at,
  latencyMs: 3,
  httpStatus: 500,
  response: 'no',
  error: 'HTTP 500.',
  ok: false,
});

t.test(
  'the outbox: deliveries per subscribed endpoint, owners, lanes, checkpoint together',
  async (t) => {
    const { db, endpoint, event, write, count } = await setUp(t);
    const operator = await endpoint();
    const alice = await endpoint('alice');
    const onlyFailures = await endpoint(null, ['WithdrawalFailed']);
    const [a, b] = [randomUUID(), randomUUID()];
    const written = await write([
      event(a, 0, 'WalletCreated', { walletId: a, owner: 'alice', currency: 'USD' }),
      event(b, 0, 'WalletCreated', { walletId: b, owner: 'bob', currency: 'USD' }),
      event(a, 1),
    ]);
    t.equal(written, 5, "the operator's gets 3, alice's 2 of her wallet, the failures-only none");
    // A later batch: alice's wallet's owner comes from the table now.
    t.equal(await write([event(b, 1), event(a, 2)]), 3);
    t.equal(await count(`endpoint_id = '${alice}'`), 3);
    t.equal(await count(`endpoint_id = '${onlyFailures}'`), 0);
    t.equal(await count(`endpoint_id = '${operator}'`), 5);
    const { rows: owners } = await db.pool.query(
      `select wallet_id, owner from ${NOTIFY_SCHEMA}.wallet_owners order by owner`,
    );
    t.same(
      owners.map((r) => r.owner),
      ['alice', 'bob'],
    );
    const { rows: lanes } = await db.pool.query(
      `select endpoint_id, head_due_at from ${NOTIFY_SCHEMA}.lanes`,
    );
    t.equal(lanes.length, 3, 'a lane per endpoint and wallet');
    t.ok(
      lanes.every((l) => l.head_due_at.getTime() === T0.getTime()),
      'each due now',
    );
    t.same((await readCheckpoint(db.pool, NOTIFY_SCHEMA)).position, { commit: 5n, prepare: 5n });
  },
);

t.test('the outbox is written with its checkpoint or not at all', async (t) => {
  const { db, endpoint, event, count } = await setUp(t);
  await endpoint();
  const wallet = randomUUID();
  const first = [event(wallet, 0), event(wallet, 1)];
  await withTransaction(db.pool, (client) =>
    writeOutbox(client, { from: START, events: first, now: T0, maxAttempts: 3 }),
  );
  // A second writer that read the same checkpoint (it should have waited for the lock) fails whole.
  await t.rejects(
    withTransaction(db.pool, (client) =>
      writeOutbox(client, { from: START, events: [event(wallet, 2)], now: T0, maxAttempts: 3 }),
    ),
    { name: 'CheckpointMovedError' },
  );
  t.equal(await count(), 2, 'nothing of the failed batch was kept');
  // The same batch written again from where it started (a crash before the commit returned)
  // changes nothing: delivery ids are fixed.
  await db.pool.query(
    `update ${NOTIFY_SCHEMA}.checkpoint set commit_position = null, prepare_position = null`,
  );
  await withTransaction(db.pool, (client) =>
    writeOutbox(client, { from: START, events: first, now: T0, maxAttempts: 3 }),
  );
  t.equal(await count(), 2);
});

t.test('claims: one instance per lane, each endpoint within its room, oldest first', async (t) => {
  const { db, endpoint, event, write } = await setUp(t);
  const [e1, e2] = [await endpoint(), await endpoint()];
  const wallets = Array.from({ length: 10 }, () => randomUUID());
  await write(wallets.map((w) => event(w, 0)));
  const rooms = new Map([
    [e1, 3],
    [e2, 100],
  ]);
  const claim = (instance: string) =>
    claimLanes(db.pool, { rooms, now: T0, leaseMs: 1000, instance });
  const [first, second] = await Promise.all([claim('a'), claim('b')]);
  const all = [...first, ...second];
  t.equal(
    new Set(all.map((c) => `${c.endpointId}/${c.walletId}`)).size,
    all.length,
    'no lane twice',
  );
  t.equal(all.filter((c) => c.endpointId === e1).length, 6, 'e1: 3 per instance');
  t.equal(all.filter((c) => c.endpointId === e2).length, 10);
  t.equal((await claim('c')).length, 3, 'a third instance: 3 more of e1, none of e2 (all held)');
  t.equal(
    (
      await claimLanes(db.pool, {
        rooms: new Map([[e1, 10]]),
        now: T0,
        leaseMs: 1000,
        instance: 'd',
      })
    ).length,
    1,
    'e1 had 1 more',
  );
  t.same(
    await claimLanes(db.pool, {
      rooms: new Map([[e2, 10]]),
      now: at(-1),
      leaseMs: 1000,
      instance: 'd',
    }),
    [],
    'not due before their time',
  );
  const again = await claimLanes(db.pool, { rooms, now: at(1001), leaseMs: 1000, instance: 'd' });
  t.equal(again.length, 13, 'leases ran out: claimed again (within rooms: 3 of e1, 10 of e2)');
  const stale = first[0] as LaneClaim;
  t.same(
    await loadHead(db.pool, stale, { now: at(1002), leaseMs: 1000 }),
    { held: false, head: undefined },
    'the old claim is void',
  );
});

t.test('a lane delivers in revision order; an attempt, a retry, a failure', async (t) => {
  const { db, endpoint, event, write, claimLaneOf } = await setUp(t);
  const e = await endpoint();
  const w = randomUUID();
  const events = [event(w, 0), event(w, 1), event(w, 2)];
  await write(events);
  const [claim] = await claimLaneOf(e);
  const { head } = await loadHead(db.pool, claim as LaneClaim, { now: T0, leaseMs: 1000 });
  t.equal(head?.revision, 0n, 'the head is the lowest revision');
  t.equal(head?.id, deliveryIdOf(e, (events[0] as RecordedEvent).id));
  // Fails: due again later, and nothing behind it is due before it.
  await recordAttempt(db.pool, claim as LaneClaim, head!, failed(T0), {
    status: 'pending',
    nextAttemptAt: at(500),
  });
  const { rows: lane } = await db.pool.query(`select head_due_at from ${NOTIFY_SCHEMA}.lanes`);
  t.same(lane[0].head_due_at, at(500));
  await releaseLane(db.pool, claim as LaneClaim);
  t.same(await claimLaneOf(e, { now: at(499), instance: 'b' }), [], 'revision 1 waits behind 0');
  const [next] = await claimLaneOf(e, { now: at(500), instance: 'b' });
  const again = (await loadHead(db.pool, next as LaneClaim, { now: at(500), leaseMs: 1000 })).head!;
  t.equal(again.attempts, 1);
  // Fails for good: the next revision is due at once.
  await recordAttempt(db.pool, next as LaneClaim, again, failed(at(500)), { status: 'failed' });
  const then = (await loadHead(db.pool, next as LaneClaim, { now: at(500), leaseMs: 1000 })).head!;
  t.equal(then.revision, 1n, 'given up on 0: 1 is the head');
  await recordAttempt(db.pool, next as LaneClaim, then, ok(at(501)), { status: 'delivered' });
  const { rows } = await db.pool.query(
    `select d.revision::int, d.status, d.attempts, count(a.*)::int as recorded
     from ${NOTIFY_SCHEMA}.deliveries d left join ${NOTIFY_SCHEMA}.attempts a using (delivery_id)
     group by d.delivery_id order by d.revision`,
  );
  t.same(rows, [
    { revision: 0, status: 'failed', attempts: 2, recorded: 2 },
    { revision: 1, status: 'delivered', attempts: 1, recorded: 1 },
    { revision: 2, status: 'pending', attempts: 0, recorded: 0 },
  ]);

  // A retry asked through the API: the failed one is due again, with one more attempt, and the
  // lane's head is it again (revision 2 waits behind it).
  await requestRetry(db.pool, { deliveryId: head!.id, endpointId: e });
  t.equal(await applyRetries(db.pool, at(600)), 1);
  t.equal(await applyRetries(db.pool, at(600)), 0, 'a request is applied once');
  const { rows: retried } = await db.pool.query(
    `select status, max_attempts, next_attempt_at from ${NOTIFY_SCHEMA}.deliveries where delivery_id = $1`,
    [head!.id],
  );
  t.same(retried[0], { status: 'pending', max_attempts: 3, next_attempt_at: at(600) });
  const { head: retriedHead } = await loadHead(db.pool, next as LaneClaim, {
    now: at(600),
    leaseMs: 1000,
  });
  t.equal(retriedHead?.revision, 0n);
});

t.test('a lane is never left saying nothing is due while a delivery waits in it', async (t) => {
  const { db, endpoint, event, write, claimLaneOf } = await setUp(t);
  const e = await endpoint();
  const w = randomUUID();
  await write([event(w, 0)]);
  const [claim] = await claimLaneOf(e, { leaseMs: 60_000, instance: 'x' });
  const { head } = await loadHead(db.pool, claim as LaneClaim, { now: T0, leaseMs: 60_000 });
  // The outbox writer adds revision 1 to the lane and has not committed yet...
  const writer = await db.pool.connect();
  t.teardown(() => writer.release());
  await writer.query('begin');
  const { rows: cp } = await db.pool.query(
    `select commit_position from ${NOTIFY_SCHEMA}.checkpoint`,
  );
  const from = { commit: BigInt(cp[0].commit_position), prepare: BigInt(cp[0].commit_position) };
  await writeOutbox(writer, { from, events: [event(w, 1)], now: T0, maxAttempts: 3 });
  // ...when the deliverer finishes revision 0 and works out the lane's next due time: it must wait
  // for the writer (the lane's lock) and then see revision 1.
  const recording = recordAttempt(db.pool, claim as LaneClaim, head!, ok(T0), {
    status: 'delivered',
  });
  for (let waiting = 0; waiting === 0; ) {
    const { rows } = await db.pool.query(
      `select count(*)::int as n from pg_stat_activity
       where datname = current_database() and wait_event_type = 'Lock'`,
    );
    waiting = rows[0].n;
  }
  await writer.query('commit');
  await recording;
  const { rows } = await db.pool.query(`select head_due_at from ${NOTIFY_SCHEMA}.lanes`);
  t.same(rows[0].head_due_at, T0, 'revision 1 is due');
  const { head: next } = await loadHead(db.pool, claim as LaneClaim, { now: T0, leaseMs: 60_000 });
  t.equal(next?.revision, 1n);
});

t.test('the sweep: deleted endpoints, old finished deliveries, idle lanes', async (t) => {
  const { db, endpoint, event, write, count, claimLaneOf } = await setUp(t);
  const [kept, gone] = [await endpoint(), await endpoint()];
  const w = randomUUID();
  await write([event(w, 0)]);
  await deleteEndpoint(db.pool, gone, null);
  const [claim] = await claimLaneOf(kept);
  const { head } = await loadHead(db.pool, claim as LaneClaim, { now: T0, leaseMs: 1000 });
  await recordAttempt(db.pool, claim as LaneClaim, head!, ok(T0), { status: 'delivered' });
  await releaseLane(db.pool, claim as LaneClaim);
  t.same(await sweep(db.pool, { now: at(1000), retentionDays: 30 }), { deliveries: 1, lanes: 2 });
  t.equal(await count(), 1, "the deleted endpoint's delivery went; the delivered one stays");
  t.same(await sweep(db.pool, { now: at(31 * 86_400_000), retentionDays: 30 }), {
    deliveries: 1,
    lanes: 0,
  });
  t.equal(await count(), 0, 'past its retention');
});

// The notify role's tables on real PostgreSQL: the outbox is written with its checkpoint or not at
// all; lanes are claimed by one instance at a time, within each endpoint's room; a lane's due time
// stays exact while the outbox writer and deliverers change it at once; retries and the sweep.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import t, { type Test } from 'tap';
import { deliveryIdOf } from '../../notify/fanOut.ts';
import { ATTEMPTS_SHOWN, listDeliveries } from '../../notify/queries.ts';
import { migrateNotify, NOTIFY_SCHEMA } from '../../notify/schema.ts';
import { applyRetries } from '../../notify/store/applyRetries.ts';
import { claimLanes, type LaneClaim } from '../../notify/store/claimLanes.ts';
import { loadHead } from '../../notify/store/loadHead.ts';
import { type AttemptRecord, recordAttempt } from '../../notify/store/recordAttempt.ts';
import { releaseLane } from '../../notify/store/releaseLane.ts';
import { writeOutbox } from '../../notify/store/writeOutbox.ts';
import { sweep } from '../../notify/sweeper.ts';
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
      writeOutbox(client, { from, events, now, maxAttempts: 3, retentionDays: 30 }),
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

/** Claims the endpoint's first due lane, records its head delivered and lets the lane go. */
async function deliverHead(pool: pg.Pool, endpointId: string) {
  const [claim] = await claimLanes(pool, {
    rooms: new Map([[endpointId, 1]]),
    now: T0,
    leaseMs: 1000,
    instance: 'a',
  });
  const { head } = await loadHead(pool, claim as LaneClaim, { now: T0, leaseMs: 1000 });
  await recordAttempt(pool, claim as LaneClaim, head!, ok(T0), { status: 'delivered' });
  await releaseLane(pool, claim as LaneClaim);
  return head!;
}

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
    writeOutbox(client, { from: START, events: first, now: T0, maxAttempts: 3, retentionDays: 30 }),
  );
  // A second writer that read the same checkpoint (it should have waited for the lock) fails whole.
  await t.rejects(
    withTransaction(db.pool, (client) =>
      writeOutbox(client, {
        from: START,
        events: [event(wallet, 2)],
        now: T0,
        maxAttempts: 3,
        retentionDays: 30,
      }),
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
    writeOutbox(client, { from: START, events: first, now: T0, maxAttempts: 3, retentionDays: 30 }),
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
  await writeOutbox(writer, {
    from,
    events: [event(w, 1)],
    now: T0,
    maxAttempts: 3,
    retentionDays: 30,
  });
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
  const { db, endpoint, event, write, count } = await setUp(t);
  const [kept, gone] = [await endpoint(), await endpoint()];
  const w = randomUUID();
  await write([event(w, 0)]);
  await deleteEndpoint(db.pool, gone, null);
  await deliverHead(db.pool, kept);
  t.same(await sweep(db.pool, { now: at(1000), retentionDays: 30 }), {
    purged: 1,
    dormant: 0,
    expired: 0,
    lanes: 1,
    done: true,
  });
  t.equal(await count(), 1, "the deleted endpoint's delivery went; the delivered one stays");
  t.same(await sweep(db.pool, { now: at(31 * 86_400_000), retentionDays: 30 }), {
    purged: 0,
    dormant: 0,
    expired: 1,
    lanes: 0,
    done: true,
  });
  t.equal(await count(), 0, 'past its retention');
});

t.test(
  'the sweep keeps up: batch after batch, a deleted endpoint never starving the retention',
  async (t) => {
    const { db, endpoint, count } = await setUp(t);
    const [kept, gone] = [await endpoint(), await endpoint()];
    // More than a batch (10,000) of each: a deleted endpoint's backlog, old finished deliveries of
    // another, and one recent delivered one that stays.
    const add = (endpointId: string, n: number, status: string, finished: Date | null) =>
      db.pool.query(
        `insert into ${NOTIFY_SCHEMA}.deliveries (delivery_id, endpoint_id, wallet_id, revision,
         event_id, event_type, body, recorded_at, max_attempts, next_attempt_at, status, finished_at)
       select gen_random_uuid(), $1, gen_random_uuid(), 0, gen_random_uuid(), 'Deposited', '{}',
              $3, 3, $3, $4, $5
       from generate_series(1, $2)`,
        [endpointId, n, T0, status, finished],
      );
    await add(gone, 12_000, 'pending', null);
    await add(kept, 12_000, 'delivered', T0);
    await add(kept, 1, 'failed', at(20 * 86_400_000));
    await deleteEndpoint(db.pool, gone, null);
    const now = at(31 * 86_400_000);

    // One round of small batches: each kind had its turn.
    t.same(await sweep(db.pool, { now, retentionDays: 30, limit: 100, budgetMs: 0 }), {
      purged: 100,
      dormant: 0,
      expired: 100,
      lanes: 0,
      done: false,
    });
    // One sweep at the default batch size goes on until it caught up.
    t.same(await sweep(db.pool, { now, retentionDays: 30 }), {
      purged: 11_900,
      dormant: 0,
      expired: 11_900,
      lanes: 0,
      done: true,
    });
    t.equal(await count(), 1, 'only the recent one is left');
    t.equal(await count(`endpoint_id = '${kept}' and finished_at > '${T0.toISOString()}'`), 1);
  },
);

t.test(
  'a retry request never reopens a delivered delivery; the listing shows the last attempts',
  async (t) => {
    const { db, endpoint, event, write } = await setUp(t);
    const e = await endpoint();
    const w = randomUUID();
    await write([event(w, 0), event(w, 1)]);
    const head = await deliverHead(db.pool, e);
    const state = async () =>
      (
        await db.pool.query(
          `select status, attempts, max_attempts, finished_at,
                (select head_due_at from ${NOTIFY_SCHEMA}.lanes) as lane_due
         from ${NOTIFY_SCHEMA}.deliveries where delivery_id = $1`,
          [head.id],
        )
      ).rows[0];
    const before = await state();
    // Asked for (say, while it was still pending) and applied after it was delivered.
    await requestRetry(db.pool, { deliveryId: head.id, endpointId: e });
    t.equal(await applyRetries(db.pool, at(600)), 1);
    t.same(
      await state(),
      before,
      'still delivered: no attempt added, finished_at and lane as they were',
    );
    t.equal(await applyRetries(db.pool, at(700)), 0, 'and the request counts as applied');

    // A delivery with many attempts (manual retries of a failed one add up): the last few are shown.
    await db.pool.query(
      `insert into ${NOTIFY_SCHEMA}.attempts (delivery_id, attempt, at, latency_ms)
     select $1, n, $2, 1 from generate_series(2, 15) n`,
      [head.id, T0],
    );
    const { deliveries } = await listDeliveries(db.pool, { endpointId: e, limit: 10 });
    const shown = deliveries.find((d) => d.id === head.id)?.attempts.map((a) => a.attempt);
    t.same(
      shown,
      Array.from({ length: ATTEMPTS_SHOWN }, (_, i) => 15 - ATTEMPTS_SHOWN + 1 + i),
      `the last ${ATTEMPTS_SHOWN}, oldest first`,
    );
  },
);

t.test(
  'an endpoint paused or disabled longer than the retention: nothing new, the old given up',
  async (t) => {
    const { db, endpoint, event, write, count } = await setUp(t);
    const DAY = 86_400_000;
    const [paused, disabled, pausedLately, active] = [
      await endpoint(),
      await endpoint(),
      await endpoint(),
      await endpoint(),
    ];
    const [w1, w2] = [randomUUID(), randomUUID()];
    // 40 days ago all four were deliverable: each got these (still pending).
    await write([event(w1, 0), event(w1, 1), event(w2, 0)], at(-40 * DAY));
    await db.pool.query(`update ${NOTIFY_SCHEMA}.deliveries set created_at = $1`, [at(-40 * DAY)]);
    // Then: paused 31 days ago, disabled for failing 31 days ago, paused a day ago.
    await db.pool.query(
      `update webhooks.endpoints set enabled = false, updated_at = $2 where endpoint_id = $1`,
      [paused, at(-31 * DAY)],
    );
    await db.pool.query(
      `insert into ${NOTIFY_SCHEMA}.endpoint_health (endpoint_id, failing_since, disabled_at,
       disabled_reason) values ($1, $2, $3, 'failing')`,
      [disabled, at(-36 * DAY), at(-31 * DAY)],
    );
    await db.pool.query(
      `update webhooks.endpoints set enabled_at = $2, updated_at = $2 where endpoint_id = $1`,
      [disabled, at(-50 * DAY)],
    );
    await db.pool.query(
      `update webhooks.endpoints set enabled = false, updated_at = $2 where endpoint_id = $1`,
      [pausedLately, at(-DAY)],
    );

    t.equal(
      await write([event(w1, 2)]),
      2,
      'now only the active one and the one paused lately get it',
    );
    const of = (id: string, status: string) =>
      count(`endpoint_id = '${id}' and status = '${status}'`);
    t.equal(await of(paused, 'pending'), 3);
    t.equal(await of(pausedLately, 'pending'), 4);

    const swept = await sweep(db.pool, { now: T0, retentionDays: 30 });
    t.match(swept, { dormant: 4, done: true }, "the long-paused and the long-disabled one's lanes");
    for (const id of [paused, disabled]) {
      t.equal(await of(id, 'pending'), 0, 'nothing of theirs waits any more');
      t.equal(await of(id, 'failed'), 3, 'given up');
    }
    t.equal(await of(pausedLately, 'pending'), 4, 'paused lately: still held, in order');
    t.equal(await of(active, 'pending'), 4);
    const { rows: why } = await db.pool.query(
      `select a.attempt, a.error, d.attempts from ${NOTIFY_SCHEMA}.attempts a
     join ${NOTIFY_SCHEMA}.deliveries d using (delivery_id) where d.endpoint_id = $1 limit 1`,
      [paused],
    );
    t.match(why[0], {
      attempt: 1,
      attempts: 1,
      error: /^Not sent: the endpoint was paused or disabled for more than 30 days/,
    });
    const { rows: lanes } = await db.pool.query(
      `select count(*)::int as n from ${NOTIFY_SCHEMA}.lanes where endpoint_id = any($1::uuid[])`,
      [[paused, disabled]],
    );
    t.equal(lanes[0].n, 0, 'their lanes were idle and went');

    // Resumed: it receives from then on.
    await db.pool.query(
      `update webhooks.endpoints set enabled = true, enabled_at = $2, updated_at = $2
     where endpoint_id = $1`,
      [paused, at(1000)],
    );
    t.equal(await write([event(w2, 1)], at(2000)), 3);
    t.equal(await of(paused, 'pending'), 1);
  },
);

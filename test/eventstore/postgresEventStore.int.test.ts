import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import t from 'tap';
import { WrongExpectedVersionError } from '../../src/eventstore/eventStore.ts';
import { openPostgresEventStore } from '../../src/eventstore/postgres/index.ts';
import { readStream } from '../../src/eventstore/postgres/readStream.ts';
import { createTestDatabase } from '../support/database.ts';
import { pollUntil } from '../support/poll.ts';
import { eventStoreContract } from './eventStoreContract.ts';

/** The pool, and how many statements went through it so far. */
function countingStatements(pool: pg.Pool) {
  let statements = 0;
  const counting = new Proxy(pool, {
    get(target, key, receiver) {
      if (key !== 'query') return Reflect.get(target, key, receiver);
      return (...args: Parameters<typeof target.query>) => {
        statements++;
        return (target.query as (...a: unknown[]) => unknown)(...args);
      };
    },
  });
  return { pool: counting, statements: () => statements };
}

t.test('event store contract: PostgreSQL adapter', async (t) => {
  const db = await createTestDatabase(t, 30);
  eventStoreContract(t, async () => openPostgresEventStore(db.pool, { pollIntervalMs: 10 }));
});

t.test('an append PostgreSQL refuses fails alone, not the appends grouped with it', async (t) => {
  const db = await createTestDatabase(t, 10);
  const store = await openPostgresEventStore(db.pool);
  // jsonb refuses U+0000: the group statement fails, and each append then goes on its own.
  const results = await Promise.allSettled(
    Array.from({ length: 20 }, (_, i) =>
      store.appendToStream(
        `wallet-${randomUUID()}`,
        [{ id: randomUUID(), type: 'Noted', data: { text: i === 7 ? 'a\u0000b' : 'fine' } }],
        { expectedRevision: 'no_stream' },
      ),
    ),
  );
  t.same(
    results.map((r) => r.status),
    Array.from({ length: 20 }, (_, i) => (i === 7 ? 'rejected' : 'fulfilled')),
  );
  const { rows } = await db.pool.query('select count(*)::int as n from events');
  t.equal(rows[0].n, 19);
});

t.test('a stale append in a group is refused by the group statement itself', async (t) => {
  const db = await createTestDatabase(t, 10);
  const { pool: counting, statements: count } = countingStatements(db.pool);
  let statements = 0;
  const store = await openPostgresEventStore(counting);
  const streams = Array.from({ length: 10 }, () => `wallet-${randomUUID()}`);
  const append = (s: string, expectedRevision: bigint | 'no_stream') =>
    store.appendToStream(s, [{ id: randomUUID(), type: 'A', data: {} }], { expectedRevision });
  await Promise.all(streams.map((s) => append(s, 'no_stream')));
  const before = count();
  // Sent together, they go as one group; every third one expects a revision the stream is past.
  const outcomes = await Promise.allSettled(
    streams.map((s, i) => append(s, i % 3 === 0 ? 'no_stream' : 0n)),
  );
  t.same(
    outcomes.map((o) => o.status),
    streams.map((_, i) => (i % 3 === 0 ? 'rejected' : 'fulfilled')),
  );
  for (const [i, o] of outcomes.entries()) {
    if (o.status === 'rejected') {
      t.type(o.reason, WrongExpectedVersionError, `stream ${i}`);
      t.equal((o.reason as WrongExpectedVersionError).actual, 0n, `stream ${i}: its revision`);
    }
  }
  statements = count() - before;
  t.ok(statements <= 2, `${statements} statements: the refusals cost none of their own`);
});

t.test('reads asked together go as one statement and answer as reads one by one', async (t) => {
  const db = await createTestDatabase(t, 10);
  const { pool, statements } = countingStatements(db.pool);
  const store = await openPostgresEventStore(pool);
  const streams = Array.from({ length: 12 }, () => `wallet-${randomUUID()}`);
  for (const [i, s] of streams.entries()) {
    await store
      .appendToStream(
        s,
        Array.from({ length: i % 4 }, (_, n) => ({ id: randomUUID(), type: 'A', data: { n } })),
        { expectedRevision: 'no_stream' },
      )
      .catch(() => {}); // zero events: no stream at all
  }
  // Every shape of read, twice over (a stream may be asked twice in one group).
  const asks = [...streams, ...streams].map((s, i) => ({
    s,
    options: [{}, { fromRevision: 1n }, { maxCount: 2 }, { fromRevision: 1n, maxCount: 1 }][i % 4],
  }));
  const one = asks.map(({ s, options }) => readStream(db.pool, s, options));
  const before = statements();
  const grouped = await Promise.all(asks.map(({ s, options }) => store.readStream(s, options)));
  t.ok(statements() - before <= 2, `${statements() - before} statements for ${asks.length} reads`);
  t.same(grouped, await Promise.all(one), 'the same events, in order, for every read');
  t.ok(grouped.some((events) => events.length > 1));
});

t.test('a long stream read in a group comes back whole, page by page', async (t) => {
  const db = await createTestDatabase(t, 10);
  const store = await openPostgresEventStore(db.pool);
  const [long, short] = [`wallet-${randomUUID()}`, `wallet-${randomUUID()}`];
  const events = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ id: randomUUID(), type: 'A', data: { i } }));
  await store.appendToStream(long, events(250), { expectedRevision: 'no_stream' });
  await store.appendToStream(short, events(2), { expectedRevision: 'no_stream' });
  // A statement fetches 100 events of each read: these need one, two or three pages.
  const shapes = [
    {},
    { maxCount: 100 },
    { maxCount: 101 },
    { maxCount: 150 },
    { fromRevision: 10n },
    { fromRevision: 150n, maxCount: 100 },
    { fromRevision: 249n },
    { maxCount: 0 },
  ];
  const asks = shapes.flatMap((options) => [
    { s: long, options },
    { s: short, options },
  ]);
  const one = await Promise.all(asks.map(({ s, options }) => readStream(db.pool, s, options)));
  const grouped = await Promise.all(asks.map(({ s, options }) => store.readStream(s, options)));
  t.same(
    grouped.map((events) => events.map((e) => e.revision)),
    one.map((events) => events.map((e) => e.revision)),
  );
  t.same(grouped, one);
  t.equal(grouped[0]?.length, 250);
});

t.test('a read PostgreSQL refuses fails alone, not the reads grouped with it', async (t) => {
  const db = await createTestDatabase(t, 10);
  const store = await openPostgresEventStore(db.pool);
  const s = `wallet-${randomUUID()}`;
  await store.appendToStream(s, [{ id: randomUUID(), type: 'A', data: {} }], {
    expectedRevision: 'no_stream',
  });
  // text refuses U+0000: the group statement fails, and each read then goes on its own.
  const results = await Promise.allSettled(
    Array.from({ length: 10 }, (_, i) => store.readStream(i === 4 ? 'wallet-\u0000' : s)),
  );
  t.same(
    results.map((r) => (r.status === 'fulfilled' ? r.value.length : 'rejected')),
    Array.from({ length: 10 }, (_, i) => (i === 4 ? 'rejected' : 1)),
  );
});

t.test('a read waiting for the next group still sees every append made before it', async (t) => {
  const db = await createTestDatabase(t, 30);
  const store = await openPostgresEventStore(db.pool);
  const streams = Array.from({ length: 40 }, () => `wallet-${randomUUID()}`);
  let stale = 0;
  // Each writer reads its stream right after each append, among everyone else's reads.
  await Promise.all(
    streams.map(async (s) => {
      for (let revision = 0n; revision < 5n; revision++) {
        await store.appendToStream(s, [{ id: randomUUID(), type: 'A', data: {} }], {
          expectedRevision: revision === 0n ? 'no_stream' : revision - 1n,
        });
        const events = await store.readStream(s, { fromRevision: revision });
        if (events[0]?.revision !== revision) stale++;
      }
    }),
  );
  t.equal(stale, 0, 'no read missed the append before it');
});

t.test(
  'an append repeated while the group waits for its stream is still a no-op success',
  async (t) => {
    const db = await createTestDatabase(t, 10);
    const store = await openPostgresEventStore(db.pool);
    const [s, other, first] = [1, 2, 3].map(() => `wallet-${randomUUID()}`) as [
      string,
      string,
      string,
    ];
    await store.appendToStream(s, [{ id: randomUUID(), type: 'A', data: {} }], {
      expectedRevision: 'no_stream',
    });
    const event = { id: randomUUID(), type: 'B', data: { n: 1 } };
    // Another writer makes the very same append (same event id, same place) and has not committed.
    const writer = await db.pool.connect();
    t.teardown(() => writer.release());
    await writer.query('begin');
    await writer.query('update streams set revision = 1 where stream_id = $1', [s]);
    await writer.query(
      `insert into events (stream_id, stream_revision, event_id, event_type, data)
     values ($1, 1, $2, 'B', '{"n":1}')`,
      [s, event.id],
    );
    // `first` goes alone; the repeat and `other` follow it as one group, which waits for s's row.
    const alone = store.appendToStream(first, [{ id: randomUUID(), type: 'A', data: {} }], {
      expectedRevision: 'no_stream',
    });
    const repeat = store.appendToStream(s, [event], { expectedRevision: 0n });
    const beside = store.appendToStream(other, [{ id: randomUUID(), type: 'A', data: {} }], {
      expectedRevision: 'no_stream',
    });
    await alone;
    await pollUntil('the group statement to wait for the stream row', async () => {
      const { rows } = await db.pool.query(
        `select count(*)::int as n from pg_stat_activity
       where wait_event_type = 'Lock' and query like '%with input as%'`,
      );
      return rows[0].n > 0 ? true : undefined;
    });
    await writer.query('commit');
    const [repeated, appended] = await Promise.allSettled([repeat, beside]);
    t.equal(appended.status, 'fulfilled', 'the other stream of the group');
    t.equal(repeated.status, 'fulfilled', 'the repeat: a no-op success, not a conflict');
    if (repeated.status === 'fulfilled') t.equal(repeated.value.nextRevision, 1n);
    t.equal((await store.readStream(s)).length, 2, 'the event is stored once');
  },
);

t.test(
  'headPosition waits for a transaction running at the call, and counts its events',
  async (t) => {
    const db = await createTestDatabase(t, 10);
    const store = await openPostgresEventStore(db.pool);
    await store.appendToStream(
      `wallet-${randomUUID()}`,
      [{ id: randomUUID(), type: 'A', data: {} }],
      {
        expectedRevision: 'no_stream',
      },
    );
    // A writer that took its transaction id before the call and commits after it.
    const late = await db.pool.connect();
    t.teardown(() => late.release());
    await late.query('begin');
    await late.query('select pg_current_xact_id()');
    let settled = false;
    const head = store.headPosition('wallet-').then((position) => {
      settled = true;
      return position;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    t.notOk(settled, 'not while a transaction older than the call runs');
    const { rows } = await late.query(
      `insert into events (stream_id, stream_revision, event_id, event_type, data)
     values ($1, 0, $2, 'Late', '{}') returning transaction_id::text as commit, global_position::text as prepare`,
      [`wallet-${randomUUID()}`, randomUUID()],
    );
    await late.query('commit');
    t.same(await head, { commit: BigInt(rows[0].commit), prepare: BigInt(rows[0].prepare) });
  },
);

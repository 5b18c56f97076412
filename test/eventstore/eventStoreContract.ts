// The event store contract: every adapter (PostgreSQL, EventStoreDB) runs this very suite.
import { randomUUID } from 'node:crypto';
import type { Test } from 'tap';
import {
  comparePositions,
  type EventStore,
  type EventToAppend,
  type Position,
  type RecordedEvent,
  START,
  WrongExpectedVersionError,
} from '../../src/eventstore/eventStore.ts';

export type OpenStore = (t: Test) => Promise<EventStore>;

const newStream = () => `wallet-${randomUUID()}`;
const event = (type: string, data: unknown = {}): EventToAppend => ({
  id: randomUUID(),
  type,
  data,
});

/** Reads from `from` until `count` events arrived (or the timeout passes), then stops. */
async function collect(
  store: EventStore,
  count: number,
  from: Position = START,
  accept: (e: RecordedEvent) => boolean = () => true,
  timeoutMs = 60_000,
): Promise<RecordedEvent[]> {
  const seen: RecordedEvent[] = [];
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    for await (const e of store.subscribeToAll({ from, signal: controller.signal })) {
      if (!accept(e)) continue;
      seen.push(e);
      if (seen.length >= count) break;
    }
  } finally {
    clearTimeout(timer);
  }
  return seen;
}

export function eventStoreContract(t: Test, openStore: OpenStore): void {
  /** A store holding a new stream of five events `N` with data `{ n: 1 }` to `{ n: 5 }`. */
  async function storeWithFiveEvents(t: Test) {
    const store = await openStore(t);
    const stream = newStream();
    const events = [1, 2, 3, 4, 5].map((n) => event('N', { n }));
    await store.appendToStream(stream, events, { expectedRevision: 'no_stream' });
    return { store, stream };
  }

  t.test('appends to a new stream and reads it back in order', async (t) => {
    const store = await openStore(t);
    const stream = newStream();
    const events = [
      event('A', { n: 1, s: 'x' }),
      event('B', { n: 2 }),
      event('C', { nested: { a: [1] } }),
    ];
    events[0] = { ...events[0]!, metadata: { correlationId: 'c1' } };
    const result = await store.appendToStream(stream, events, { expectedRevision: 'no_stream' });
    t.equal(result.nextRevision, 2n);
    const read = await store.readStream(stream);
    t.same(
      read.map((e) => [e.id, e.type, e.revision, e.streamId, e.data]),
      events.map((e, i) => [e.id, e.type, BigInt(i), stream, e.data]),
    );
    t.same(read[0]?.metadata, { correlationId: 'c1' });
    t.ok(read.every((e) => e.recordedAt instanceof Date));
    t.equal(
      comparePositions(read.at(-1)!.position, result.position),
      0,
      'position of the last event',
    );
    t.ok(comparePositions(read[0]!.position, read[1]!.position) < 0, 'positions increase');
  });

  t.test('data and metadata come back as written, whatever characters they hold', async (t) => {
    const store = await openStore(t);
    const awkward = [
      'quote " and backslash \\ and \\" together',
      '{"looks": ["like", "json"]}',
      'é ü ß 中文 🙂 \u2028 \t tab \n newline',
      '',
    ];
    const streams = awkward.map(() => newStream());
    // Appended at once: concurrent appends to many streams go to the store together.
    const written = awkward.map((text, i) => ({
      ...event('Awkward', { text, list: [text, { text }], n: i, none: null }),
      ...(i % 2 === 0 ? { metadata: { actor: { name: text }, $correlationId: `c${i}` } } : {}),
    }));
    await Promise.all(
      streams.map((stream, i) =>
        store.appendToStream(stream, [written[i]!, event('Plain', null)], {
          expectedRevision: 'no_stream',
        }),
      ),
    );
    for (const [i, stream] of streams.entries()) {
      const [first, second] = await store.readStream(stream);
      t.same(first?.data, written[i]!.data, `stream ${i}: data`);
      t.same(first?.metadata, written[i]!.metadata ?? null, `stream ${i}: metadata`);
      t.equal(second?.type, 'Plain', `stream ${i}: the second event after the first`);
      t.equal(second?.data, null, `stream ${i}: JSON null data`);
      t.same(second?.metadata, null, `stream ${i}: no metadata`);
    }
  });

  t.test('data of any JSON kind comes back as written; undefined data is refused', async (t) => {
    const store = await openStore(t);
    const kinds: unknown[] = ['text', 42, [1, 'two', null], true, null];
    const streams = kinds.map(() => newStream());
    await Promise.all(
      streams.map((stream, i) =>
        store.appendToStream(stream, [event('Kind', kinds[i])], { expectedRevision: 'no_stream' }),
      ),
    );
    for (const [i, stream] of streams.entries()) {
      const [read] = await store.readStream(stream);
      t.same(read?.data, kinds[i], `data ${JSON.stringify(kinds[i])}`);
    }
    const refused = newStream();
    await t.rejects(
      store.appendToStream(refused, [{ ...event('NoData'), data: undefined }, event('Plain')], {
        expectedRevision: 'no_stream',
      }),
    );
    t.same(await store.readStream(refused), [], 'nothing of that append was written');
  });

  t.test('reads a slice of a stream and an unknown stream as empty', async (t) => {
    const { store, stream } = await storeWithFiveEvents(t);
    const slice = await store.readStream(stream, { fromRevision: 2n, maxCount: 2 });
    t.same(
      slice.map((e) => (e.data as { n: number }).n),
      [3, 4],
    );
    t.same(await store.readStream(newStream()), []);
  });

  t.test('expected revision: exact, stale, no_stream on an existing stream, any', async (t) => {
    const store = await openStore(t);
    const stream = newStream();
    await store.appendToStream(stream, [event('A')], { expectedRevision: 'no_stream' });
    const next = await store.appendToStream(stream, [event('B'), event('C')], {
      expectedRevision: 0n,
    });
    t.equal(next.nextRevision, 2n);

    const stale = await store
      .appendToStream(stream, [event('X')], { expectedRevision: 0n })
      .catch((e: unknown) => e);
    t.type(stale, WrongExpectedVersionError);
    t.equal((stale as WrongExpectedVersionError).actual, 2n);
    t.equal((stale as WrongExpectedVersionError).expected, 0n);

    const exists = await store
      .appendToStream(stream, [event('X')], { expectedRevision: 'no_stream' })
      .catch((e: unknown) => e);
    t.type(exists, WrongExpectedVersionError);
    t.equal((exists as WrongExpectedVersionError).actual, 2n);

    const ahead = await store
      .appendToStream(stream, [event('X')], { expectedRevision: 7n })
      .catch((e: unknown) => e);
    t.type(ahead, WrongExpectedVersionError, 'no gap can be created');

    const missing = await store
      .appendToStream(newStream(), [event('X')], { expectedRevision: 0n })
      .catch((e: unknown) => e);
    t.type(missing, WrongExpectedVersionError);
    t.equal((missing as WrongExpectedVersionError).actual, 'no_stream');

    t.equal(
      (await store.appendToStream(stream, [event('D')], { expectedRevision: 'any' })).nextRevision,
      3n,
    );
    t.equal(
      (await store.appendToStream(newStream(), [event('E')], { expectedRevision: 'any' }))
        .nextRevision,
      0n,
    );
    t.same(
      (await store.readStream(stream)).map((e) => e.type),
      ['A', 'B', 'C', 'D'],
    );
  });

  t.test('re-appending the same event ids is idempotent', async (t) => {
    const store = await openStore(t);
    const stream = newStream();
    const first = [event('A'), event('B')];
    const r1 = await store.appendToStream(stream, first, { expectedRevision: 'no_stream' });
    const r2 = await store.appendToStream(stream, first, { expectedRevision: 'no_stream' });
    t.equal(r2.nextRevision, r1.nextRevision);
    t.equal(comparePositions(r1.position, r2.position), 0);

    const second = [event('C')];
    await store.appendToStream(stream, second, { expectedRevision: 1n });
    const again = await store.appendToStream(stream, second, { expectedRevision: 1n });
    t.equal(again.nextRevision, 2n);
    t.same(
      (await store.readStream(stream)).map((e) => e.type),
      ['A', 'B', 'C'],
      'no duplicates',
    );

    const conflicting = await store
      .appendToStream(stream, [event('D')], { expectedRevision: 1n })
      .catch((e: unknown) => e);
    t.type(conflicting, WrongExpectedVersionError, 'new ids at a stale revision still conflict');
  });

  t.test('of concurrent appends at the same expected revision exactly one wins', async (t) => {
    const store = await openStore(t);
    const stream = newStream();
    await store.appendToStream(stream, [event('A')], { expectedRevision: 'no_stream' });
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        store.appendToStream(stream, [event('B', { i })], { expectedRevision: 0n }),
      ),
    );
    t.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    t.equal(rejected.length, 19);
    t.ok(rejected.every((r) => r.reason instanceof WrongExpectedVersionError));
    t.equal((await store.readStream(stream)).length, 2);

    const creators = await Promise.allSettled(
      Array.from({ length: 10 }, () =>
        store.appendToStream(newStream(), [event('A')], { expectedRevision: 'no_stream' }),
      ),
    );
    t.ok(
      creators.every((r) => r.status === 'fulfilled'),
      'different streams do not conflict',
    );
  });

  t.test('concurrent appends to many streams succeed or conflict each on its own', async (t) => {
    const store = await openStore(t);
    const streams = Array.from({ length: 30 }, () => newStream());
    const first = streams.map(() => event('A'));
    await Promise.all(
      streams.map((s, i) =>
        store.appendToStream(s, [first[i]!], { expectedRevision: 'no_stream' }),
      ),
    );
    // At once: right revisions, stale ones, a second creation, an idempotent re-append, 'any'.
    const outcomes = await Promise.allSettled(
      streams.map((s, i) => {
        if (i % 5 === 0) return store.appendToStream(s, [event('B')], { expectedRevision: 5n });
        if (i % 5 === 1)
          return store.appendToStream(s, [event('B')], { expectedRevision: 'no_stream' });
        if (i % 5 === 2)
          return store.appendToStream(s, [first[i]!], { expectedRevision: 'no_stream' });
        if (i % 5 === 3)
          return store.appendToStream(s, [event('B'), event('C')], { expectedRevision: 'any' });
        return store.appendToStream(s, [event('B'), event('C')], { expectedRevision: 0n });
      }),
    );
    for (const [i, outcome] of outcomes.entries()) {
      const kind = i % 5;
      if (kind === 0 || kind === 1) {
        t.equal(outcome.status, 'rejected', `stream ${i}: stale expectation refused`);
        t.type((outcome as PromiseRejectedResult).reason, WrongExpectedVersionError);
        t.equal(
          ((outcome as PromiseRejectedResult).reason as WrongExpectedVersionError).actual,
          0n,
        );
      } else {
        t.equal(outcome.status, 'fulfilled', `stream ${i}: appended`);
        const expected = kind === 2 ? 0n : 2n;
        t.equal(
          (outcome as PromiseFulfilledResult<{ nextRevision: bigint }>).value.nextRevision,
          expected,
        );
      }
    }
    const lengths = await Promise.all(streams.map(async (s) => (await store.readStream(s)).length));
    t.same(
      lengths,
      streams.map((_, i) => [1, 1, 1, 3, 3][i % 5]),
      'nothing else was written',
    );
    // The global log keeps every stream's events in revision order (multi-event appends too).
    const mine = new Set(streams);
    const seen = await collect(store, 30 + 12 * 2, START, (e) => mine.has(e.streamId));
    const last = new Map<string, bigint>();
    let ordered = true;
    for (const e of seen) {
      if (e.revision !== (last.get(e.streamId) ?? -1n) + 1n) ordered = false;
      last.set(e.streamId, e.revision);
    }
    t.equal(seen.length, 54);
    t.ok(ordered, "global order follows each stream's revisions");
  });

  t.test('readAll pages through the global log in position order', async (t) => {
    const { store, stream } = await storeWithFiveEvents(t);
    const all: RecordedEvent[] = [];
    for (
      let page = await store.readAll(START, 2);
      page.length > 0;
      page = await store.readAll(page.at(-1)!.position, 2)
    ) {
      t.ok(page.length <= 2);
      all.push(...page);
    }
    const mine = all.filter((e) => e.streamId === stream);
    t.same(
      mine.map((e) => e.revision),
      [0n, 1n, 2n, 3n, 4n],
    );
    for (let i = 1; i < all.length; i++) {
      t.ok(comparePositions(all[i - 1]!.position, all[i]!.position) < 0, 'strictly increasing');
    }
  });

  t.test(
    'subscribeToAll catches up, goes live, resumes after a position, stops on abort',
    async (t) => {
      const store = await openStore(t);
      const stream = newStream();
      const mine = (e: RecordedEvent) => e.streamId === stream;
      await store.appendToStream(stream, [event('A'), event('B')], {
        expectedRevision: 'no_stream',
      });
      const live = collect(store, 4, START, mine);
      await new Promise((resolve) => setTimeout(resolve, 100));
      await store.appendToStream(stream, [event('C')], { expectedRevision: 1n });
      await store.appendToStream(stream, [event('D')], { expectedRevision: 2n });
      const got = await live;
      t.same(
        got.map((e) => e.type),
        ['A', 'B', 'C', 'D'],
      );

      const resumed = await collect(store, 2, got[1]!.position, mine);
      t.same(
        resumed.map((e) => e.type),
        ['C', 'D'],
        'strictly after the given position',
      );

      const controller = new AbortController();
      const iterator = store.subscribeToAll({ signal: controller.signal })[Symbol.asyncIterator]();
      setTimeout(() => controller.abort(), 50);
      let result = await iterator.next();
      while (!result.done) result = await iterator.next();
      t.ok(result.done, 'the iterator finishes once aborted');
    },
  );

  t.test(
    'headPosition: at the newest event of the prefix; a subscription from it sees only later ones',
    async (t) => {
      const store = await openStore(t);
      const runId = randomUUID().slice(0, 8);
      const prefix = `wallet-head${runId}-`;
      t.same(await store.headPosition(prefix), START, 'no such stream yet: START');
      const first = await store.appendToStream(`${prefix}a`, [event('A'), event('B')], {
        expectedRevision: 'no_stream',
      });
      const other = await store.appendToStream(`other${runId}`, [event('X')], {
        expectedRevision: 'no_stream',
      });
      t.same(await store.headPosition(prefix), first.position, 'the last event of the prefix');
      const head = await store.headPosition();
      t.ok(comparePositions(head, other.position) >= 0, 'without a prefix: every stream');
      const later = collect(store, 1, head, (e) => e.streamId.startsWith(prefix));
      const next = await store.appendToStream(`${prefix}b`, [event('C')], {
        expectedRevision: 'no_stream',
      });
      const seen = await later;
      t.same(
        seen.map((e) => [e.type, e.position]),
        [['C', next.position]],
        'from the head: the event appended after, nothing before',
      );
    },
  );

  t.test(
    '8 concurrent writers x 500 events over 50 streams: subscribers see each event once, in stream order',
    async (t) => {
      const store = await openStore(t);
      const runId = randomUUID().slice(0, 8);
      const streams = Array.from({ length: 50 }, (_, i) => `wallet-${runId}-${i}`);
      const writers = 8;
      const perWriter = 500;
      const total = writers * perWriter;
      const ours = (e: RecordedEvent) => e.streamId.startsWith(`wallet-${runId}-`);
      const before = collect(store, total, START, ours, 180_000);

      // Each writer appends to random streams with the expected revision it last saw, re-reading on
      // conflict: a realistic optimistic-concurrency load with many conflicts.
      const writer = async (w: number) => {
        for (let n = 0; n < perWriter; n++) {
          const stream = streams[(w * 7 + n * 13) % streams.length]!;
          for (;;) {
            const current = await store.readStream(stream);
            const expected =
              current.length === 0 ? ('no_stream' as const) : current.at(-1)!.revision;
            try {
              await store.appendToStream(stream, [event('Written', { w, n })], {
                expectedRevision: expected,
              });
              break;
            } catch (error) {
              if (!(error instanceof WrongExpectedVersionError)) throw error;
            }
          }
        }
      };
      await Promise.all(Array.from({ length: writers }, (_, w) => writer(w)));
      const after = collect(store, total, START, ours, 180_000);

      for (const [name, seen] of [
        ['started before', await before],
        ['started after', await after],
      ] as const) {
        t.equal(seen.length, total, `${name}: every event`);
        t.equal(new Set(seen.map((e) => e.id)).size, total, `${name}: each exactly once`);
        const lastRevision = new Map<string, bigint>();
        let inOrder = true;
        for (const e of seen) {
          const previous = lastRevision.get(e.streamId) ?? -1n;
          if (e.revision !== previous + 1n) inOrder = false;
          lastRevision.set(e.streamId, e.revision);
        }
        t.ok(inOrder, `${name}: per-stream order without gaps`);
        const written = new Set<string>();
        for (const e of seen) written.add(JSON.stringify(e.data));
        t.equal(written.size, total, `${name}: every writer's every event`);
      }
    },
  );
}

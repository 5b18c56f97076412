// The EventStoreDB adapter: the shared contract suite plus what only this adapter has (BatchAppend,
// system events, resubscription after a dropped connection). Against a real EventStoreDB when
// EVENTSTORE_URL is set (esdb://…), otherwise against the in-memory stand-in (a test fixture).
import { randomUUID } from 'node:crypto';
import t, { type Test } from 'tap';
import { openEsdbEventStore } from '../../src/eventstore/esdb/index.ts';
import {
  type EventStore,
  type EventToAppend,
  type RecordedEvent,
  type SubscribeOptions,
  WrongExpectedVersionError,
} from '../../src/eventstore/eventStore.ts';
import { type EsdbStandIn, startEsdbStandIn } from '../fixtures/esdbStandIn/index.ts';
import { pollUntil } from '../support/poll.ts';
import { eventStoreContract } from './eventStoreContract.ts';

const serverUrl = process.env.EVENTSTORE_URL;
const target = serverUrl ? 'EventStoreDB server' : 'stand-in';
const standInOnly = serverUrl ? 'needs the stand-in (EVENTSTORE_URL is set)' : false;

const event = (type: string, data: unknown = {}): EventToAppend => ({
  id: randomUUID(),
  type,
  data,
});

async function connect(t: Test): Promise<{ connectionString: string; standIn?: EsdbStandIn }> {
  if (serverUrl) return { connectionString: serverUrl };
  const standIn = await startEsdbStandIn();
  t.teardown(() => standIn.stop());
  return { connectionString: standIn.connectionString, standIn };
}

async function open(t: Test, connectionString: string): Promise<EventStore> {
  const store = await openEsdbEventStore(connectionString);
  t.teardown(() => store.close());
  return store;
}

/** The WrongExpectedVersionError the append fails with; anything else fails the test. */
async function conflictOf(append: Promise<unknown>): Promise<WrongExpectedVersionError> {
  const outcome = await append.then(
    () => new Error('the append succeeded'),
    (error: unknown) => error,
  );
  if (outcome instanceof WrongExpectedVersionError) return outcome;
  throw new Error(`expected a WrongExpectedVersionError, got ${String(outcome)}`);
}

/** Subscribes until `until` has been seen (or 30 s pass); returns everything delivered. */
async function collect(
  store: EventStore,
  until: (seen: RecordedEvent[]) => boolean,
  options: SubscribeOptions = {},
): Promise<RecordedEvent[]> {
  const seen: RecordedEvent[] = [];
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 30_000);
  try {
    for await (const e of store.subscribeToAll({ ...options, signal: controller.signal })) {
      seen.push(e);
      if (until(seen)) break;
    }
  } finally {
    clearTimeout(timer);
  }
  return seen;
}

t.test(`event store contract: EventStoreDB adapter (${target})`, async (t) => {
  const { connectionString } = await connect(t);
  eventStoreContract(t, (t) => open(t, connectionString));
});

t.test(`EventStoreDB adapter specifics (${target})`, async (t) => {
  const { connectionString, standIn } = await connect(t);

  t.test(
    'the client error becomes the port WrongExpectedVersionError, actual included',
    async (t) => {
      const store = await open(t, connectionString);
      const stream = `wallet-${randomUUID()}`;
      const fail = (expectedRevision: 'no_stream' | bigint, streamId = stream) =>
        conflictOf(store.appendToStream(streamId, [event('X')], { expectedRevision }));

      const missing = await fail(0n, `wallet-${randomUUID()}`);
      t.equal(missing.actual, 'no_stream', 'a missing stream is no_stream');
      t.equal(missing.expected, 0n);

      await store.appendToStream(stream, [event('A'), event('B')], {
        expectedRevision: 'no_stream',
      });
      const exists = await fail('no_stream');
      t.same([exists.streamId, exists.expected, exists.actual], [stream, 'no_stream', 1n]);
      const stale = await fail(0n);
      t.same([stale.expected, stale.actual], [0n, 1n]);
      const ahead = await fail(5n);
      t.same([ahead.expected, ahead.actual], [5n, 1n]);
    },
  );

  t.test('system events are in neither readAll nor subscriptions', async (t) => {
    const store = await open(t, connectionString);
    const run = randomUUID().slice(0, 8);
    const wallet = `wallet-${run}`;
    const other = `other-${run}`;
    // Read from here on: a real server's log may be long.
    const { position: from } = await store.appendToStream(`before-${run}`, [event('Before')], {
      expectedRevision: 'no_stream',
    });
    // System events: a `$` event type in a user stream, stream metadata (`$metadata` in the
    // `$$` metastream, as EventStoreDB writes it), a plain event type in a `$` stream.
    await store.appendToStream(wallet, [event('Deposited'), event('$custom')], {
      expectedRevision: 'no_stream',
    });
    await store.appendToStream(`$$${wallet}`, [event('$metadata', {})], {
      expectedRevision: 'any',
    });
    await store.appendToStream(`$system-${run}`, [event('Plain')], { expectedRevision: 'any' });
    await store.appendToStream(other, [event('Other')], { expectedRevision: 'no_stream' });
    await store.appendToStream(wallet, [event('Marker')], { expectedRevision: 1n });
    const ours = (e: RecordedEvent) => e.streamId.endsWith(run);
    const isSystem = (e: RecordedEvent) => e.type.startsWith('$') || e.streamId.startsWith('$');

    const all: RecordedEvent[] = [];
    for (let page = await store.readAll(from, 3); page.length > 0; ) {
      all.push(...page);
      page = await store.readAll(page.at(-1)!.position, 3);
    }
    t.same(
      all.filter(ours).map((e) => e.type),
      ['Deposited', 'Other', 'Marker'],
      'readAll',
    );
    t.notOk(all.some(isSystem), 'readAll: no system event at all');

    const marker = (seen: RecordedEvent[]) => seen.some((e) => e.type === 'Marker' && ours(e));
    const subscribed = await collect(store, marker, { from });
    t.same(
      subscribed.filter(ours).map((e) => e.type),
      ['Deposited', 'Other', 'Marker'],
      'subscription',
    );
    t.notOk(subscribed.some(isSystem), 'subscription: no system event at all');

    const prefixed = await collect(store, marker, { from, streamPrefix: wallet });
    t.same(
      prefixed.map((e) => [e.streamId, e.type]),
      [
        [wallet, 'Deposited'],
        [wallet, 'Marker'],
      ],
      'subscription by stream prefix: only that prefix, still no `$` event types',
    );
  });

  t.test(
    'appends use BatchAppend when the server advertises it',
    { skip: standInOnly },
    async (t) => {
      const store = await open(t, connectionString);
      const before = { ...standIn!.stats };
      const stream = `wallet-${randomUUID()}`;
      await store.appendToStream(stream, [event('A')], { expectedRevision: 'no_stream' });
      const appended = await store.appendToStream(stream, [event('B'), event('C')], {
        expectedRevision: 0n,
      });
      const last = standIn!.log.all.at(-1)!;
      const stored = { commit: last.commit, prepare: last.prepare };
      t.same(appended.position, stored, 'the server position: commit and prepare, not swapped');
      t.same((await store.readStream(stream)).at(-1)!.position, stored, 'the same when read');
      const conflict = await conflictOf(
        store.appendToStream(stream, [event('D')], { expectedRevision: 0n }),
      );
      t.equal(conflict.actual, 2n, 'a conflict over BatchAppend');
      t.equal(
        standIn!.stats.batchAppendRequests - before.batchAppendRequests,
        3,
        'one request each',
      );
      t.equal(standIn!.stats.append, before.append, 'no unary Append call');
      t.ok(standIn!.stats.batchAppend >= 1, 'a BatchAppend stream is open');
    },
  );

  t.test(
    'without BatchAppend the client falls back to Append',
    { skip: standInOnly },
    async (t) => {
      const legacy = await startEsdbStandIn({ batchAppend: false });
      t.teardown(() => legacy.stop());
      const store = await open(t, legacy.connectionString);
      const stream = `wallet-${randomUUID()}`;
      const first = [event('A'), event('B')];
      const r1 = await store.appendToStream(stream, first, { expectedRevision: 'no_stream' });
      const r2 = await store.appendToStream(stream, first, { expectedRevision: 'no_stream' });
      t.same(r2, r1, 'idempotent re-append over Append');
      const conflict = await conflictOf(
        store.appendToStream(stream, [event('C')], { expectedRevision: 0n }),
      );
      t.same([conflict.expected, conflict.actual], [0n, 1n], 'a conflict over Append');
      const missing = await conflictOf(
        store.appendToStream(`wallet-${randomUUID()}`, [event('C')], { expectedRevision: 3n }),
      );
      t.equal(missing.actual, 'no_stream');
      t.equal(legacy.stats.batchAppend, 0);
      t.equal(legacy.stats.append, 4);
    },
  );

  t.test(
    'an append whose answer is lost with the connection is retried and written once',
    { skip: standInOnly },
    async (t) => {
      const store = await open(t, connectionString);
      const stream = `wallet-${randomUUID()}`;
      await store.appendToStream(stream, [event('A')], { expectedRevision: 'no_stream' });
      standIn!.loseNextAppendAnswer();
      const exact = await store.appendToStream(stream, [event('B'), event('C')], {
        expectedRevision: 0n,
      });
      t.equal(exact.nextRevision, 2n, 'the retry finds the first attempt written (exact revision)');
      standIn!.loseNextAppendAnswer();
      const any = await store.appendToStream(stream, [event('D')], { expectedRevision: 'any' });
      t.equal(any.nextRevision, 3n, 'the same with expected revision any');
      const events = await store.readStream(stream);
      t.same(
        events.map((e) => e.type),
        ['A', 'B', 'C', 'D'],
        'each event once',
      );
      t.same(any.position, events.at(-1)!.position);
    },
  );

  t.test(
    'dropped connections: subscriptions resume from the last delivered event, exactly once',
    { skip: standInOnly },
    async (t) => {
      const store = await open(t, connectionString);
      const run = randomUUID().slice(0, 8);
      const streams = Array.from({ length: 5 }, (_, i) => `wallet-${run}-${i}`);
      const total = 300;
      const ours = (e: RecordedEvent) => e.streamId.startsWith(`wallet-${run}-`);
      const subscriptionsBefore = standIn!.stats.subscriptions;
      const subscribe = (options: SubscribeOptions = {}) => {
        const seen: RecordedEvent[] = [];
        const done = collect(
          store,
          (all) => {
            const last = all.at(-1)!;
            if (ours(last)) seen.push(last);
            return seen.length >= total;
          },
          options,
        ).then(() => seen);
        return { seen, done };
      };
      const everything = subscribe();
      const prefixed = subscribe({ streamPrefix: `wallet-${run}-` });
      const delivered = (count: number) =>
        pollUntil(
          `${count} events delivered`,
          async () => everything.seen.length >= count && prefixed.seen.length >= count,
          { until: (done) => done, timeoutMs: 10_000, intervalMs: 5 },
        );

      let drops = 0;
      for (let n = 0; n < total; n++) {
        const stream = streams[n % streams.length]!;
        const revision = BigInt(Math.floor(n / streams.length)) - 1n;
        const append = store.appendToStream(stream, [event('Written', { n })], {
          expectedRevision: revision < 0n ? 'no_stream' : revision,
        });
        if (n % 50 === 25) {
          // Both subscriptions are live (they delivered everything before this append), this
          // append is in flight: cut every connection.
          await delivered(n);
          await standIn!.dropConnections();
          drops++;
        }
        await append;
      }

      for (const [name, seen] of [
        ['all events', await everything.done],
        ['by prefix', await prefixed.done],
      ] as const) {
        t.equal(seen.length, total, `${name}: every event`);
        t.equal(new Set(seen.map((e) => e.id)).size, total, `${name}: each exactly once`);
        t.same(
          seen.map((e) => (e.data as { n: number }).n),
          Array.from({ length: total }, (_, n) => n),
          `${name}: in order`,
        );
      }
      const subscriptions = standIn!.stats.subscriptions - subscriptionsBefore;
      t.ok(
        subscriptions >= 2 * (drops + 1),
        `both subscribed again after each of the ${drops} drops (${subscriptions} subscriptions)`,
      );
      for (const stream of streams) {
        t.equal((await store.readStream(stream)).length, total / streams.length, 'no append twice');
      }
    },
  );
});

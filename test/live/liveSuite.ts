// Live updates over real HTTP (Server-Sent Events), run once per event store adapter
// (live.e2e.test.ts: PostgreSQL; test/esdb/live.e2e.test.ts: the EventStoreDB adapter): resuming
// with Last-Event-ID under concurrent writes, owner isolation, the operator feed, a revoked key
// ending its stream, heartbeats, and one subscription shared by many clients.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Test } from 'tap';
import type { EventStore } from '../../src/eventstore/eventStore.ts';
import { bearer, deposit, makeKey, newWallet } from '../support/ledgerApi.ts';
import { ledgerEvents, openSse, type SseConnection } from '../support/sse.ts';
import type { StackTarget } from '../support/stack.ts';

/** Subscriptions the store was asked for (the projector's and the hub's). */
export function countingStore(store: EventStore) {
  let subscriptions = 0;
  const counted: EventStore = {
    ...store,
    subscribeToAll(options) {
      subscriptions++;
      return store.subscribeToAll(options);
    },
  };
  return { store: counted, subscriptions: () => subscriptions };
}

const LIVE_ENV = { LIVE_HEARTBEAT_SECONDS: '1', LIVE_RECHECK_SECONDS: '1' };

export function liveSuites(t: Test, target: StackTarget): void {
  const { name, startStack } = target;

  t.test(
    `${name}: a wallet stream resumes with Last-Event-ID, no gap, no duplicate, under writes`,
    async (t) => {
      const stack = await startStack(t, { env: LIVE_ENV });
      const walletId = await newWallet(stack.http);
      const url = `${stack.baseUrl}/api/wallets/${walletId}/events`;
      const writers = 4;
      const perWriter = 40;
      let writing = true;
      const load = Promise.all(
        Array.from({ length: writers }, async () => {
          for (let i = 0; i < perWriter; i++) await deposit(stack.http, walletId);
        }),
      ).finally(() => {
        writing = false;
      });
      const total = 1 + writers * perWriter; // WalletCreated and every deposit
      const received: { id: string; revision: number; type: string; wallet: string }[] = [];
      let connection: SseConnection | undefined;
      let reconnects = 0;
      // Reads a few events, hangs up, comes back with the last id: again and again while the
      // writers go on, until every event is in.
      while (received.length < total) {
        const last = received.at(-1);
        // The URL keeps asking from revision 0, as a browser reconnecting does: the
        // Last-Event-ID it sends wins.
        connection = await openSse(`${url}?from_revision=0`, {
          ...bearer(stack.operatorKey),
          ...(last ? { 'last-event-id': last.id } : {}),
        });
        if (connection.status !== 200) throw new Error(`status ${connection.status}`);
        const want = Math.min(total - received.length, 25);
        await connection.until(`${want} events`, (frames) => frames.length >= want);
        connection.close();
        received.push(...ledgerEvents(connection.frames));
        reconnects++;
      }
      await load;
      t.notOk(writing);
      t.ok(reconnects > 3, `resumed ${reconnects - 1} times while deposits went on`);
      t.same(
        received.map((e) => e.revision),
        Array.from({ length: received.length }, (_, i) => i),
        'every revision once, in order',
      );
      t.same(
        received.map((e) => e.id),
        received.map((e) => String(e.revision)),
        'id: is the revision',
      );
      const history = await stack.http('GET', `/api/wallets/${walletId}/history/`);
      t.same(
        received.map(({ id: _, wallet, ...event }) => {
          t.equal(wallet, walletId);
          return event;
        }),
        // The stream carries no running state: the balance after each event is history/'s alone.
        history.body.events.map(({ balance_after: _, ...event }: Record<string, unknown>) => event),
        'each event as history/ shows it',
      );
    },
  );

  t.test(`${name}: who may follow which wallet`, async (t) => {
    const stack = await startStack(t, { env: LIVE_ENV });
    const alice = await makeKey(stack, { owner: 'alice' });
    const writeOnly = await makeKey(stack, { owner: 'alice', scopes: ['wallets:write'] });
    const mine = await newWallet(stack.http, { owner: 'alice' });
    const bobs = await newWallet(stack.http, { owner: 'bob' });
    const events = (id: string) => `${stack.baseUrl}/api/wallets/${id}/events`;

    const foreign = await openSse(events(bobs), bearer(alice.key));
    t.equal(foreign.status, 404, "another owner's wallet is not found");
    t.same(JSON.parse(foreign.text), { detail: 'Not found.' });
    const unknown = await openSse(
      events('00000000-0000-4000-8000-000000000000'),
      bearer(alice.key),
    );
    t.equal(unknown.status, 404, 'as an unknown one');
    t.equal((await openSse(events(mine))).status, 401, 'no key');
    t.equal((await openSse(events(mine), bearer(writeOnly.key))).status, 403, 'no read scope');
    t.equal(
      (await openSse(`${stack.baseUrl}/api/events`, bearer(alice.key))).status,
      403,
      'the every-wallet feed is for operators',
    );
    const bad = await openSse(events(mine), { ...bearer(alice.key), 'last-event-id': 'x' });
    t.equal(bad.status, 400);

    const own = await openSse(events(mine), bearer(alice.key));
    t.teardown(() => own.close());
    t.equal(own.status, 200);
    t.match(own.headers['content-type'], /^text\/event-stream/);
    t.equal(own.headers['x-accel-buffering'], 'no', 'proxies do not buffer it');
    t.match(own.headers['cache-control'], /no-cache/);
    await deposit(stack.http, bobs);
    await deposit(stack.http, mine, '2.00');
    await own.until('the deposit', (frames) => frames.length >= 1);
    const [only] = ledgerEvents(own.frames);
    t.match(only, {
      id: '1',
      type: 'Deposited',
      revision: 1,
      wallet: mine,
      data: { amount: '2.00' },
    });
    t.match(only.metadata, { actor: { type: 'operator' } }, 'with who did it');
    t.equal(own.frames.length, 1, "no event of bob's wallet, nothing before it");
    await own.until('a heartbeat', () => own.comments.includes('heartbeat'), 5000);
  });

  t.test(`${name}: the operator feed has every wallet, and resumes after a position`, async (t) => {
    const stack = await startStack(t, { env: LIVE_ENV });
    const url = `${stack.baseUrl}/api/events`;
    const feed = await openSse(url, bearer(stack.operatorKey));
    t.teardown(() => feed.close());
    t.equal(feed.status, 200);
    const a = await newWallet(stack.http);
    const b = await newWallet(stack.http);
    await deposit(stack.http, a);
    await deposit(stack.http, b);
    await feed.until('4 events', (frames) => frames.length >= 4);
    const first = ledgerEvents(feed.frames);
    t.same(
      first.map((e) => [e.wallet, e.type]),
      [
        [a, 'WalletCreated'],
        [b, 'WalletCreated'],
        [a, 'Deposited'],
        [b, 'Deposited'],
      ],
    );
    for (const e of first) t.equal(e.id, `${e.position.commit}-${e.position.prepare}`);
    feed.close();

    // Missed while away: caught up from the log, then live, without a repeat.
    await deposit(stack.http, a, '3.00');
    await deposit(stack.http, b, '4.00');
    const again = await openSse(url, {
      ...bearer(stack.operatorKey),
      'last-event-id': first[1]?.id as string,
    });
    t.teardown(() => again.close());
    await again.until('the caught-up events', (frames) => frames.length >= 4);
    await deposit(stack.http, a, '5.00');
    await again.until('the live one', (frames) => frames.length >= 5);
    t.same(
      ledgerEvents(again.frames).map((e) => [e.wallet, e.type, e.data.amount]),
      [
        [a, 'Deposited', '1.00'],
        [b, 'Deposited', '1.00'],
        [a, 'Deposited', '3.00'],
        [b, 'Deposited', '4.00'],
        [a, 'Deposited', '5.00'],
      ],
    );
    const bad = await openSse(url, { ...bearer(stack.operatorKey), 'last-event-id': '12' });
    t.equal(bad.status, 400, 'an id the feed never sent');
  });

  t.test(`${name}: a revoked key ends its stream`, async (t) => {
    const stack = await startStack(t, { env: LIVE_ENV });
    const alice = await makeKey(stack, { owner: 'alice' });
    const walletId = await newWallet(stack.http, { owner: 'alice' });
    const stream = await openSse(
      `${stack.baseUrl}/api/wallets/${walletId}/events`,
      bearer(alice.key),
    );
    t.equal(stream.status, 200);
    await deposit(stack.http, walletId);
    await stream.until('the deposit', (frames) => frames.length >= 1);
    t.equal((await stack.http('DELETE', `/api/keys/${alice.id}`)).status, 204);
    await stream.closed; // the server ends it: the test does not close it
    const end = stream.frames.at(-1);
    t.equal(end?.event, 'end');
    t.match(JSON.parse(end?.data ?? '{}'), { reason: 'revoked' });
    t.equal(
      (await openSse(`${stack.baseUrl}/api/wallets/${walletId}/events`, bearer(alice.key))).status,
      401,
      'and it cannot open another',
    );
  });

  t.test(`${name}: many clients share one subscription`, async (t) => {
    const counting = { current: undefined as ReturnType<typeof countingStore> | undefined };
    const stack = await startStack(t, {
      env: LIVE_ENV,
      wrapStore: (store) => {
        counting.current = countingStore(store);
        return counting.current.store;
      },
    });
    const count = counting.current as ReturnType<typeof countingStore>;
    const wallets = await Promise.all(Array.from({ length: 5 }, () => newWallet(stack.http)));
    await sleep(200);
    const before = count.subscriptions(); // the projector's
    const clients = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        i % 6 === 5
          ? openSse(`${stack.baseUrl}/api/events`, bearer(stack.operatorKey))
          : openSse(
              `${stack.baseUrl}/api/wallets/${wallets[i % 5]}/events`,
              bearer(stack.operatorKey),
            ),
      ),
    );
    t.teardown(() => {
      for (const client of clients) client.close();
    });
    t.ok(clients.every((c) => c.status === 200));
    for (const walletId of wallets) await deposit(stack.http, walletId);
    await Promise.all(
      clients.map((client, i) =>
        client.until('its deposits', (frames) => frames.length >= (i % 6 === 5 ? 5 : 1)),
      ),
    );
    t.equal(count.subscriptions() - before, 1, 'one subscription for 60 clients');
    if (stack.standIn) t.ok(stack.standIn.stats.subscriptions >= 2, 'the stand-in saw it too');
    const metrics = (await stack.http('GET', '/metrics')).text;
    // (The registry is the test process's: earlier stacks' hubs have closed by now.)
    t.match(metrics, /^wallet_live_subscriptions 1$/m);
    t.match(metrics, /^wallet_live_clients\{feed="wallet"\} 50$/m);
    t.match(metrics, /^wallet_live_clients\{feed="all"\} 10$/m);
  });
}

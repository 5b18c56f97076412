// The wallet API end to end on the EventStoreDB adapter: the very suite the PostgreSQL event store
// runs (test/api/walletApiSuite.ts), on a stack whose event store is opened from EVENTSTORE_URL,
// pointing at the in-process EventStoreDB stand-in (a test fixture); read models in PostgreSQL.
import t from 'tap';
import { walletApiSuite } from '../api/walletApiSuite.ts';
import { ESDB_STAND_IN_TARGET, startEsdbStack } from '../support/stack.ts';

t.test(
  `the stack on EVENTSTORE_URL keeps its events in EventStoreDB only (stand-in)`,
  async (t) => {
    const { http, standIn, db } = await startEsdbStack(t);
    const id = (await http('POST', '/api/wallets/', {})).body.uuid as string;
    const deposit = await http('PATCH', `/api/wallets/${id}/deposit/`, { amount: '5.00' });
    t.equal(deposit.status, 200);
    t.same(
      standIn?.log.stream(`wallet-${id}`)?.map((e) => e.type),
      ['WalletCreated', 'Deposited'],
      "the wallet's stream is in the EventStoreDB log",
    );
    const { rows } = await db.pool.query(
      `select to_regclass('public.events')::text as events, to_regclass('public.streams')::text as streams`,
    );
    t.same(rows[0], { events: null, streams: null }, 'no PostgreSQL event store tables were made');
    // A list answers once the read model holds the wallet's revision.
    const listed = await http('GET', `/api/wallets/${id}/transactions/`);
    t.equal(
      listed.body.results.length,
      1,
      'the projector followed EventStoreDB into the read model',
    );
    t.ok((standIn?.stats.subscriptions ?? 0) >= 1, 'through a $all subscription');
    const ready = await http('GET', '/ready');
    t.match(ready.body, { status: 'ready', database: 'ok', event_store: 'ok' });
  },
);

walletApiSuite(t, ESDB_STAND_IN_TARGET);

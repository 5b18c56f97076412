// The service as a real process on EventStoreDB: `node --import tsx src/cli/main.ts start` with
// EVENTSTORE_URL pointing at the in-process EventStoreDB stand-in (a test fixture), DATABASE_URL at
// a test database (read models only) and TRANSACTION_SERVICE_URL at a fast transaction-service.
// A withdrawal runs end to end over HTTP.
import t from 'tap';
import { findFreePort } from '../../src/infra/ports.ts';
import { startEsdbStandIn } from '../fixtures/esdbStandIn/index.ts';
import { startService, stopService } from '../support/cli.ts';
import { createTestDatabase } from '../support/database.ts';
import { pollUntil } from '../support/poll.ts';
import { ENDED, startThirdParty } from '../support/scheduler.ts';
import { httpClient } from '../support/stack.ts';
import { tempDir } from '../support/tempDir.ts';

t.test(
  'npm start on EVENTSTORE_URL (EventStoreDB stand-in): a withdrawal end to end',
  async (t) => {
    const standIn = await startEsdbStandIn();
    t.teardown(() => standIn.stop());
    const db = await createTestDatabase(t, 2);
    const bank = await startThirdParty(t, 100);
    const dataDir = await tempDir(t, 'wallet-esdb-start-');
    const port = await findFreePort();

    const service = await startService({
      EVENTSTORE_URL: standIn.connectionString,
      DATABASE_URL: db.url,
      TRANSACTION_SERVICE_URL: bank.url,
      DATA_DIR: dataDir, // unused with DATABASE_URL; keeps ./.data out of it
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
    });
    t.teardown(() => stopService(service.child));
    const http = httpClient(`http://127.0.0.1:${port}`);

    const ready = await http('GET', '/ready');
    t.equal(ready.status, 200);
    t.match(ready.body, { status: 'ready', database: 'ok', event_store: 'ok' });

    const id = (await http('POST', '/api/wallets/', {})).body.uuid as string;
    const deposit = await http('PATCH', `/api/wallets/${id}/deposit/`, { amount: '100.00' });
    t.equal(deposit.body.balance, '100.00');
    const scheduled = await http('POST', `/api/wallets/${id}/withdraw/`, {
      amount: '40.00',
      delay: 1,
    });
    t.equal(scheduled.status, 201);
    const withdrawalId = scheduled.body.outgoing_transactions[0].uuid as string;

    // The projector, the scheduler and the payout all run in the service: poll the API until the
    // withdrawal has ended.
    const wallet = await pollUntil(
      'the withdrawal to end',
      async () => (await http('GET', `/api/wallets/${id}/`)).body,
      { until: (w) => ENDED.includes(w.outgoing_transactions[0]?.status), timeoutMs: 20_000 },
    );
    t.match(wallet.outgoing_transactions, [
      { uuid: withdrawalId, amount: '40.00', status: 'SUCCESS', error_message: '' },
    ]);
    t.equal(wallet.balance, '60.00', 'the balance is right');

    const expected = [
      'WalletCreated',
      'Deposited',
      'WithdrawalScheduled',
      'WithdrawalStarted',
      'WithdrawalPayoutRequested',
      'WithdrawalSucceeded',
    ];
    const history = await http('GET', `/api/wallets/${id}/history/`);
    t.same(
      history.body.events.map((e: { type: string }) => e.type),
      expected,
      'the history shows every event',
    );
    t.match(history.body.events[5], { revision: 5, position: { commit: /^\d+$/ } });
    t.same(
      standIn.log.stream(`wallet-${id}`)?.map((e) => e.type),
      expected,
      "the events are in EventStoreDB's log",
    );
    const { rows } = await db.pool.query(`select to_regclass('public.events')::text as events`);
    t.equal(rows[0].events, null, 'and not in a PostgreSQL event store');

    t.equal(
      await bank.paid(withdrawalId),
      1,
      'the third party paid once, keyed by the withdrawal id',
    );

    t.equal(await stopService(service.child), 0, 'clean exit on SIGTERM');
    t.match(service.output(), new RegExp(`listening on http://localhost:${port}`));
  },
);

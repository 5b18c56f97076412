// The service as a real process on EventStoreDB: `node --import tsx src/cli/main.ts start` with
// EVENTSTORE_URL pointing at the in-process EventStoreDB stand-in (a test fixture), DATABASE_URL at
// a test database (read models only) and TRANSACTION_SERVICE_URL at a fast transaction-service.
// A withdrawal runs end to end over HTTP.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { spawnTransactionService } from '../../src/cli/runtime.ts';
import { loadConfig } from '../../src/infra/config.ts';
import { createLogger } from '../../src/infra/logger.ts';
import { findFreePort } from '../../src/infra/ports.ts';
import { startEsdbStandIn } from '../fixtures/esdbStandIn/index.ts';
import { startService, stopService } from '../support/cli.ts';
import { createTestDatabase } from '../support/database.ts';
import { httpClient } from '../support/stack.ts';

const ENDED = ['SUCCESS', 'FAILED', 'CANCELLED'];

t.test(
  'npm start on EVENTSTORE_URL (EventStoreDB stand-in): a withdrawal end to end',
  async (t) => {
    const standIn = await startEsdbStandIn();
    t.teardown(() => standIn.stop());
    const db = await createTestDatabase(t, 2);
    const bank = await spawnTransactionService(
      loadConfig({ TRANSACTION_SERVICE_PORT: '0' }),
      createLogger('test', 'warn'),
      { TRANSACTION_SERVICE_LATENCY_MS: '100', TRANSACTION_SERVICE_FAILURE_RATE: '0' },
    );
    t.teardown(() => bank.stop());
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'wallet-esdb-start-'));
    t.teardown(() => rm(dataDir, { recursive: true, force: true }));
    const port = await findFreePort();

    const service = await startService({
      EVENTSTORE_URL: standIn.connectionString,
      DATABASE_URL: db.url,
      TRANSACTION_SERVICE_URL: bank.url as string,
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
    const deadline = Date.now() + 20_000;
    let wallet = (await http('GET', `/api/wallets/${id}/`)).body;
    while (!ENDED.includes(wallet.outgoing_transactions[0]?.status) && Date.now() < deadline) {
      await sleep(100);
      wallet = (await http('GET', `/api/wallets/${id}/`)).body;
    }
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

    const transfers = await httpClient(bank.url as string)('GET', '/transfers');
    t.equal(
      transfers.body.transfers.filter((p: { key: string | null }) => p.key === withdrawalId).length,
      1,
      'the third party paid once, keyed by the withdrawal id',
    );

    t.equal(await stopService(service.child), 0, 'clean exit on SIGTERM');
    t.match(service.output(), new RegExp(`listening on http://localhost:${port}`));
  },
);

// Projections on the EventStoreDB adapter: the projector follows EventStoreDB's `$all` (opened from
// EVENTSTORE_URL, pointing at the in-process stand-in, a test fixture) into PostgreSQL read models.
// The shared projector suite (catch-up, standby takeover, rebuild while writes go on), then what is
// particular to EventStoreDB: its own checkpoint positions, dropped connections while writes go on,
// and the operator tools (`verify`, `rebuild`, `history`) as real processes on EVENTSTORE_URL.
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { LIVE_SCHEMA } from '../../projections/readModelSchema.ts';
import { verifyReadModel } from '../../projections/verify.ts';
import { openEventStore } from '../../src/eventstore/index.ts';
import { loadConfig } from '../../src/infra/config.ts';
import { startEsdbStandIn } from '../fixtures/esdbStandIn/index.ts';
import { projectorHarness, projectorSuite } from '../projections/projectorSuite.ts';
import { runCli } from '../support/cli.ts';
import { createTestDatabase } from '../support/database.ts';
import { waitUntilProjected } from '../support/projection.ts';

t.test('projections on the EventStoreDB adapter (stand-in)', async (t) => {
  const standIn = await startEsdbStandIn();
  t.teardown(() => standIn.stop());
  const db = await createTestDatabase(t, 40);
  // Opened the way the service opens it: from the configuration's EVENTSTORE_URL.
  const config = loadConfig({ EVENTSTORE_URL: standIn.connectionString });
  const store = await openEventStore({ eventStoreUrl: config.eventStoreUrl, pool: db.pool });
  t.teardown(() => store.close());
  const harness = projectorHarness(t, store, db);
  const { write } = harness;
  const cli = (args: string[]) =>
    runCli(args, { DATABASE_URL: db.url, EVENTSTORE_URL: standIn.connectionString });

  projectorSuite(t, { store, db, harness, backlog: { wallets: 20, deposits: 20 } });

  t.test("the checkpoint is EventStoreDB's own {commit, prepare} of the last event", async (t) => {
    await waitUntilProjected(db.pool, store);
    const checkpoint = await db.pool.query(
      `select commit_position::text as commit, prepare_position::text as prepare from ${LIVE_SCHEMA}.checkpoint`,
    );
    const head = standIn.log.all.at(-1)!;
    t.same(checkpoint.rows[0], { commit: String(head.commit), prepare: String(head.prepare) });
  });

  t.test('dropped connections while writes go on: nothing lost, nothing twice', async (t) => {
    const subscriptionsBefore = standIn.stats.subscriptions;
    await harness.writeDuring(
      (async () => {
        for (let i = 0; i < 3; i++) {
          await sleep(150);
          await standIn.dropConnections();
        }
      })(),
    );
    await waitUntilProjected(db.pool, store, 15_000);
    t.ok(standIn.stats.subscriptions > subscriptionsBefore, 'the projector subscribed again');
    const result = await verifyReadModel({ store, pool: db.pool });
    t.same(result.differences, [], 'the read model equals a replay');
  });

  t.test('the CLI on EVENTSTORE_URL: verify, rebuild, history', async (t) => {
    const [walletId] = await write(1, 2);
    await waitUntilProjected(db.pool, store);
    const events = standIn.log.all.filter((e) => e.streamId.startsWith('wallet-')).length;

    const verify = await cli(['verify']);
    t.equal(verify.code, 0, verify.stderr);
    t.match(verify.stdout, new RegExp(`replayed ${events} events`));
    t.match(verify.stdout, /no drift/);

    const rebuild = await cli(['rebuild']);
    t.equal(rebuild.code, 0, rebuild.stderr);
    t.match(rebuild.stderr + rebuild.stdout, new RegExp(`rebuilt the read models from ${events}`));

    const history = await cli(['history', walletId!]);
    t.equal(history.code, 0, history.stderr);
    t.match(history.stdout, /#0 .*WalletCreated/);
    t.match(history.stdout, /#2 .*Deposited .*balance\s+2\.50/);

    // Drift is found on EventStoreDB too: a changed balance makes verify fail.
    await db.pool.query(
      `update ${LIVE_SCHEMA}.wallets set balance = balance + 1 where wallet_id = $1`,
      [walletId],
    );
    const drift = await cli(['verify']);
    t.equal(drift.code, 1, 'verify exits 1 on drift');
    t.match(drift.stdout, new RegExp(`wallet ${walletId}`));
  });
});

// Projections on the EventStoreDB adapter: the projector follows EventStoreDB's `$all` (opened from
// EVENTSTORE_URL, pointing at the in-process stand-in, a test fixture) into PostgreSQL read models.
// Catch-up, dropped connections while writes go on, standby takeover, rebuild while writes go on,
// and the operator tools (`verify`, `rebuild`, `history`) run as real processes on EVENTSTORE_URL.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { runProjector } from '../../projections/projector.ts';
import { LIVE_SCHEMA } from '../../projections/readModelSchema.ts';
import { rebuildReadModel } from '../../projections/rebuild.ts';
import { readAllRows, verifyReadModel } from '../../projections/verify.ts';
import { createWalletCommandHandler } from '../../src/commands/walletCommandHandler.ts';
import { openEventStore } from '../../src/eventstore/index.ts';
import { loadConfig } from '../../src/infra/config.ts';
import { createPool } from '../../src/infra/postgres.ts';
import { startEsdbStandIn } from '../fixtures/esdbStandIn/index.ts';
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
  const commands = createWalletCommandHandler(store);
  const controllers: AbortController[] = [];
  const running: Promise<void>[] = [];
  const start = (pool = db.pool) => {
    const controller = new AbortController();
    controllers.push(controller);
    const done = runProjector({ store, pool, signal: controller.signal, standbyPollMs: 50 });
    running.push(done);
    return { controller, done };
  };
  t.teardown(async () => {
    for (const c of controllers) c.abort();
    await Promise.all(running);
  });

  /** Creates `wallets` wallets with `deposits` deposits of 1.25 each; returns their ids. */
  const write = async (wallets: number, deposits: number) => {
    const ids = Array.from({ length: wallets }, () => randomUUID());
    await Promise.all(
      ids.map(async (walletId) => {
        await commands.handle(walletId, {
          type: 'CreateWallet',
          walletId,
          currency: 'USD',
          owner: null,
        });
        for (let i = 0; i < deposits; i++) {
          await commands.handle(walletId, {
            type: 'Deposit',
            depositId: randomUUID(),
            amount: '1.25',
          });
        }
      }),
    );
    return ids;
  };
  const cli = (args: string[]) =>
    runCli(args, { DATABASE_URL: db.url, EVENTSTORE_URL: standIn.connectionString });

  t.test('catches up a backlog from $all and matches a replay', async (t) => {
    await write(20, 20); // 420 events before any projector runs
    start();
    await waitUntilProjected(db.pool, store);
    const result = await verifyReadModel({ store, pool: db.pool });
    t.equal(result.events, 420);
    t.same(result.differences, []);
    const { rows } = await db.pool.query(
      `select count(*)::int as n, sum(balance)::text as total from ${LIVE_SCHEMA}.wallets`,
    );
    t.same(rows[0], { n: 20, total: '50000' }, '20 x 20 x 1.25, in cents');
    const checkpoint = await db.pool.query(
      `select commit_position::text as commit, prepare_position::text as prepare from ${LIVE_SCHEMA}.checkpoint`,
    );
    const head = standIn.log.all.at(-1)!;
    t.same(
      checkpoint.rows[0],
      { commit: String(head.commit), prepare: String(head.prepare) },
      "the checkpoint is EventStoreDB's own {commit, prepare} of the last event",
    );
  });

  t.test('dropped connections while writes go on: nothing lost, nothing twice', async (t) => {
    const subscriptionsBefore = standIn.stats.subscriptions;
    let writing = true;
    const writer = (async () => {
      while (writing) await write(2, 3);
    })();
    for (let i = 0; i < 3; i++) {
      await sleep(150);
      await standIn.dropConnections();
    }
    writing = false;
    await writer;
    await waitUntilProjected(db.pool, store, 15_000);
    t.ok(standIn.stats.subscriptions > subscriptionsBefore, 'the projector subscribed again');
    const result = await verifyReadModel({ store, pool: db.pool });
    t.same(result.differences, [], 'the read model equals a replay');
  });

  t.test('a standby takes over when the active projector loses its session', async (t) => {
    const standbyPool = createPool(db.url, 5);
    const standby = start(standbyPool);
    t.teardown(async () => {
      standby.controller.abort();
      await standby.done;
      await standbyPool.end();
    });
    await sleep(200);
    const { rows } = await db.pool.query(
      `select pid from pg_locks where locktype = 'advisory' and granted`,
    );
    t.equal(rows.length, 1, 'exactly one projector holds the lock');
    await db.pool.query('select pg_terminate_backend($1)', [rows[0].pid]);
    await write(5, 4);
    await waitUntilProjected(db.pool, store, 10_000);
    const result = await verifyReadModel({ store, pool: db.pool });
    t.same(result.differences, [], 'the standby resumed from the EventStoreDB checkpoint');
  });

  t.test('rebuild while writes and the live projector go on: identical rows', async (t) => {
    let writing = true;
    const writer = (async () => {
      while (writing) await write(2, 3);
    })();
    const result = await rebuildReadModel({ store, pool: db.pool, batchSize: 200 });
    writing = false;
    await writer;
    t.ok(result.events > 500, `rebuilt from ${result.events} events`);
    await write(3, 2); // the live projector carries on after the swap
    await waitUntilProjected(db.pool, store, 10_000);
    t.same((await verifyReadModel({ store, pool: db.pool })).differences, []);
    const before = await readAllRows(db.pool, LIVE_SCHEMA);
    await rebuildReadModel({ store, pool: db.pool });
    await waitUntilProjected(db.pool, store, 10_000);
    const after = await readAllRows(db.pool, LIVE_SCHEMA);
    t.same(after.rows, before.rows, 'replay into empty read models gives the live read models');
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

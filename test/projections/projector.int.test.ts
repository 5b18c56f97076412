// The projector on a real PostgreSQL: catch-up in batches, exactly-once checkpoints, standby
// takeover, rebuild while the live projector runs, verify that notices drift.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import {
  CheckpointMovedError,
  inBatches,
  readCheckpoint,
  runProjector,
  storeCheckpoint,
} from '../../projections/projector.ts';
import { LIVE_SCHEMA } from '../../projections/readModelSchema.ts';
import { rebuildReadModel } from '../../projections/rebuild.ts';
import { readAllRows, verifyReadModel } from '../../projections/verify.ts';
import { createWalletCommandHandler } from '../../src/commands/walletCommandHandler.ts';
import { START } from '../../src/eventstore/eventStore.ts';
import { openPostgresEventStore } from '../../src/eventstore/postgres/index.ts';
import { createPool } from '../../src/infra/postgres.ts';
import { createTestDatabase } from '../support/database.ts';
import { waitUntilProjected } from '../support/projection.ts';

t.test('inBatches groups what is available without waiting', async (t) => {
  async function* source() {
    yield 1;
    yield 2;
    yield 3;
    await sleep(20);
    yield 4;
    yield 5;
  }
  const batches: number[][] = [];
  for await (const batch of inBatches(source(), 2)) batches.push(batch);
  t.same(batches, [[1, 2], [3], [4, 5]]);
});

t.test('projector on PostgreSQL', async (t) => {
  const db = await createTestDatabase(t, 40);
  const store = await openPostgresEventStore(db.pool, { pollIntervalMs: 10 });
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

  /** Creates `wallets` wallets with `deposits` deposits each; returns their ids. */
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

  t.test('catches up a backlog in batches and matches a replay', async (t) => {
    await write(40, 50); // 2,040 events before any projector runs
    start();
    await waitUntilProjected(db.pool, store);
    const result = await verifyReadModel({ store, pool: db.pool });
    t.equal(result.events, 2040);
    t.same(result.differences, []);
    const { rows } = await db.pool.query(
      `select count(*)::int as n, sum(balance)::text as total from ${LIVE_SCHEMA}.wallets`,
    );
    t.same(rows[0], { n: 40, total: '250000' }, '40 x 50 x 1.25, in cents');
  });

  t.test('a standby takes over when the active projector loses its session', async (t) => {
    const standbyPool = createPool(db.url, 5);
    const standby = start(standbyPool); // waits: the first projector holds the lock
    t.teardown(async () => {
      standby.controller.abort();
      await standby.done;
      await standbyPool.end();
    });
    await sleep(200);
    // Kill the active projector's lock session from outside, as a crash would.
    const { rows } = await db.pool.query(
      `select pid from pg_locks where locktype = 'advisory' and granted`,
    );
    t.equal(rows.length, 1, 'exactly one projector holds the lock');
    await db.pool.query('select pg_terminate_backend($1)', [rows[0].pid]);
    await write(10, 5);
    await waitUntilProjected(db.pool, store, 10_000);
    const result = await verifyReadModel({ store, pool: db.pool });
    t.same(result.differences, [], 'nothing applied twice, nothing lost');
    const holders = await db.pool.query(
      `select count(*)::int as n from pg_locks where locktype = 'advisory' and granted`,
    );
    t.equal(holders.rows[0].n, 1, 'still exactly one active projector');
  });

  t.test(
    'rebuild while writes and the live projector go on: identical rows, then verify passes',
    async (t) => {
      let writing = true;
      const writer = (async () => {
        while (writing) await write(2, 3);
      })();
      const progress: number[] = [];
      const result = await rebuildReadModel({
        store,
        pool: db.pool,
        batchSize: 500,
        onProgress: ({ done }) => progress.push(done),
      });
      writing = false;
      await writer;
      t.ok(result.events > 2000, `rebuilt from ${result.events} events`);
      t.ok(
        progress.length > 2 && progress.at(-1) === result.events,
        'progress reported as it went',
      );
      await write(3, 2); // the live projector carries on after the swap
      await waitUntilProjected(db.pool, store, 10_000);
      const check = await verifyReadModel({ store, pool: db.pool });
      t.same(check.differences, []);

      // Rebuild again with nothing moving: exactly the rows the live projection had.
      const before = await readAllRows(db.pool, LIVE_SCHEMA);
      await rebuildReadModel({ store, pool: db.pool });
      await waitUntilProjected(db.pool, store, 10_000);
      const after = await readAllRows(db.pool, LIVE_SCHEMA);
      t.same(after.rows, before.rows, 'replay into empty read models gives the live read models');
    },
  );

  t.test('verify lists drift: a changed balance, a missing row, an extra row', async (t) => {
    const [walletId] = await write(1, 2);
    await waitUntilProjected(db.pool, store);
    await db.pool.query(
      `update ${LIVE_SCHEMA}.wallets set balance = balance + 1 where wallet_id = $1`,
      [walletId],
    );
    await db.pool.query(
      `delete from ${LIVE_SCHEMA}.transactions where wallet_id = $1 and ctid = (select ctid from ${LIVE_SCHEMA}.transactions where wallet_id = $1 limit 1)`,
      [walletId],
    );
    await db.pool.query(
      `insert into ${LIVE_SCHEMA}.due_withdrawals (withdrawal_id, wallet_id, step, due_at) values ($1, $2, 'start', now())`,
      [randomUUID(), walletId],
    );
    const result = await verifyReadModel({ store, pool: db.pool });
    t.equal(result.differences.length, 3, result.differences.join('\n'));
    t.match(
      result.differences.join('\n'),
      new RegExp(`wallet ${walletId}: read model .*"balance":"251"`),
    );
    await rebuildReadModel({ store, pool: db.pool });
    t.same(
      (await verifyReadModel({ store, pool: db.pool })).differences,
      [],
      'a rebuild repairs drift',
    );
  });

  t.test('the checkpoint only moves from where it is', async (t) => {
    const { position } = await readCheckpoint(db.pool, LIVE_SCHEMA);
    const error = await storeCheckpoint(db.pool, LIVE_SCHEMA, START, position, new Date()).catch(
      (e) => e,
    );
    t.type(error, CheckpointMovedError);
  });
});

// The projector's behaviour on any event store adapter: both the PostgreSQL and the EventStoreDB
// test files run this very suite, then what is particular to their adapter.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { Test } from 'tap';
import { runProjector } from '../../projections/projector.ts';
import { LIVE_SCHEMA } from '../../projections/readModelSchema.ts';
import { rebuildReadModel } from '../../projections/rebuild.ts';
import { readAllRows, verifyReadModel } from '../../projections/verify.ts';
import { createWalletCommandHandler } from '../../src/commands/walletCommandHandler.ts';
import type { EventStore } from '../../src/eventstore/eventStore.ts';
import { createPool } from '../../src/infra/postgres.ts';
import type { TestDatabase } from '../support/database.ts';
import { waitUntilProjected } from '../support/projection.ts';

export interface ProjectorHarness {
  /** Starts a projector on `pool` (the test database's by default); stopped when `t` ends. */
  start(pool?: pg.Pool): { controller: AbortController; done: Promise<void> };
  /** Creates `wallets` wallets with `deposits` deposits of 1.25 each; returns their ids. */
  write(wallets: number, deposits: number): Promise<string[]>;
  /** Runs `write(2, 3)` over and over until `work` ends. */
  writeDuring<T>(work: Promise<T>): Promise<T>;
}

export function projectorHarness(t: Test, store: EventStore, db: TestDatabase): ProjectorHarness {
  const commands = createWalletCommandHandler(store);
  const controllers: AbortController[] = [];
  const running: Promise<void>[] = [];
  t.teardown(async () => {
    for (const c of controllers) c.abort();
    await Promise.all(running);
  });
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
  return {
    start(pool = db.pool) {
      const controller = new AbortController();
      controllers.push(controller);
      const done = runProjector({ store, pool, signal: controller.signal, standbyPollMs: 50 });
      running.push(done);
      return { controller, done };
    },
    write,
    async writeDuring(work) {
      let writing = true;
      const writer = (async () => {
        while (writing) await write(2, 3);
      })();
      try {
        return await work;
      } finally {
        writing = false;
        await writer;
      }
    },
  };
}

/**
 * Catch-up of a backlog of `backlog.wallets` x (1 + `backlog.deposits`) events, standby takeover,
 * rebuild while writes go on. Leaves one live projector running for the adapter's own tests.
 */
export function projectorSuite(
  t: Test,
  {
    store,
    db,
    harness,
    backlog,
  }: {
    store: EventStore;
    db: TestDatabase;
    harness: ProjectorHarness;
    backlog: { wallets: number; deposits: number };
  },
) {
  t.test('catches up a backlog in batches and matches a replay', async (t) => {
    await harness.write(backlog.wallets, backlog.deposits);
    harness.start();
    await waitUntilProjected(db.pool, store);
    const result = await verifyReadModel({ store, pool: db.pool });
    t.equal(result.events, backlog.wallets * (1 + backlog.deposits));
    t.same(result.differences, []);
    const { rows } = await db.pool.query(
      `select count(*)::int as n, sum(balance)::text as total from ${LIVE_SCHEMA}.wallets`,
    );
    t.same(
      rows[0],
      { n: backlog.wallets, total: String(backlog.wallets * backlog.deposits * 125) },
      'wallets x deposits x 1.25, in cents',
    );
  });

  t.test('a standby takes over when the active projector loses its session', async (t) => {
    const standbyPool = createPool(db.url, 5);
    const standby = harness.start(standbyPool); // waits: the first projector holds the lock
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
    await harness.write(10, 5);
    await waitUntilProjected(db.pool, store, 10_000);
    const result = await verifyReadModel({ store, pool: db.pool });
    t.same(
      result.differences,
      [],
      'the standby resumed from the checkpoint: nothing twice or lost',
    );
    const holders = await db.pool.query(
      `select count(*)::int as n from pg_locks where locktype = 'advisory' and granted`,
    );
    t.equal(holders.rows[0].n, 1, 'still exactly one active projector');
  });

  t.test(
    'rebuild while writes and the live projector go on: identical rows, then verify passes',
    async (t) => {
      const { events: existing } = await verifyReadModel({ store, pool: db.pool });
      const progress: number[] = [];
      const result = await harness.writeDuring(
        rebuildReadModel({
          store,
          pool: db.pool,
          batchSize: 200,
          onProgress: ({ done }) => progress.push(done),
        }),
      );
      t.ok(result.events > existing, `rebuilt from ${result.events} events (${existing} before)`);
      t.ok(
        progress.length > 2 && progress.at(-1) === result.events,
        'progress reported as it went',
      );
      await harness.write(3, 2); // the live projector carries on after the swap
      await waitUntilProjected(db.pool, store, 10_000);
      t.same((await verifyReadModel({ store, pool: db.pool })).differences, []);

      // Rebuild again with nothing moving: exactly the rows the live projection had.
      const before = await readAllRows(db.pool, LIVE_SCHEMA);
      await rebuildReadModel({ store, pool: db.pool });
      await waitUntilProjected(db.pool, store, 10_000);
      const after = await readAllRows(db.pool, LIVE_SCHEMA);
      t.same(after.rows, before.rows, 'replay into empty read models gives the live read models');
    },
  );
}

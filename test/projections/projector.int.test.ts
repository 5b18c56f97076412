// The projector on a real PostgreSQL: catch-up in batches, exactly-once checkpoints, standby
// takeover, rebuild while the live projector runs, verify that notices drift.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import t from 'tap';
import {
  CheckpointMovedError,
  readCheckpoint,
  storeCheckpoint,
} from '../../projections/checkpoint.ts';
import { inBatches } from '../../projections/projector.ts';
import {
  createReadModel,
  LIVE_SCHEMA,
  READ_MODEL_VERSION,
} from '../../projections/readModelSchema.ts';
import { rebuildReadModel } from '../../projections/rebuild.ts';
import { verifyReadModel } from '../../projections/verify.ts';
import { START } from '../../src/eventstore/eventStore.ts';
import { openPostgresEventStore } from '../../src/eventstore/postgres/index.ts';
import { createTestDatabase } from '../support/database.ts';
import { waitUntilProjected } from '../support/projection.ts';
import { projectorHarness, projectorSuite } from './projectorSuite.ts';

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
  const harness = projectorHarness(t, store, db);
  const { write } = harness;
  projectorSuite(t, { store, db, harness, backlog: { wallets: 40, deposits: 50 } });

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
    const error = await storeCheckpoint(db.pool, LIVE_SCHEMA, START, position, new Date(), {
      version: READ_MODEL_VERSION,
    }).catch((e: unknown) => e);
    t.type(error, CheckpointMovedError);
  });

  t.test('readers are told of a checkpoint that moved, and only then', async (t) => {
    const listener = new pg.Client({ connectionString: db.url });
    await listener.connect();
    t.teardown(() => listener.end());
    const heard: string[] = [];
    listener.on('notification', (n) => heard.push(`${n.channel}:${n.payload}`));
    const channel = 'checkpoint_test';
    await listener.query(`listen ${channel}`);
    // A read model of its own: no projector of this suite moves its checkpoint meanwhile.
    const schema = 'checkpoint_notify_test';
    await createReadModel(db.pool, schema);
    const to = { commit: 42n, prepare: 42n };
    const options = { version: READ_MODEL_VERSION, notify: channel };
    await storeCheckpoint(db.pool, schema, START, to, new Date(), options);
    const moved = await storeCheckpoint(db.pool, schema, START, to, new Date(), options).catch(
      (e: unknown) => e,
    );
    t.type(moved, CheckpointMovedError, 'a checkpoint that is not at `from` does not move');
    await listener.query('select 1'); // a round trip: notifications sent before it have arrived
    t.same(heard, [`${channel}:42`], 'told once: when it moved');
  });
});

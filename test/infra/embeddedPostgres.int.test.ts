// A persistent embedded cluster restarted under a live pool, the way `npm start` restarts under a
// role that joined it: same port, the pool reconnects by itself, and while the server is gone
// every query fails with DatabaseUnavailableError (what the API turns into a 503).

import { readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import t from 'tap';
import { PROJECTION_CHANNEL } from '../../projections/projector.ts';
import { createProjectionWaiter } from '../../projections/queries.ts';
import { startRecordedCluster } from '../../src/infra/embeddedPostgres.ts';
import {
  createDatabaseProbe,
  createPool,
  DatabaseUnavailableError,
} from '../../src/infra/postgres.ts';
import { pollUntil } from '../support/poll.ts';
import { tempDir } from '../support/tempDir.ts';

t.test(
  'restarted on its recorded port; pools and LISTEN reconnect; moved if the port is taken',
  async (t) => {
    const dataDir = await tempDir(t, 'wallet-cluster-');
    const dir = path.join(dataDir, 'postgres');
    const moves: [number, number][] = [];
    const start = () => startRecordedCluster(dir, dataDir, (from, to) => moves.push([from, to]));

    let cluster = await start();
    t.teardown(() => cluster.stop());
    const record = JSON.parse(await readFile(path.join(dataDir, 'postgres.json'), 'utf8'));
    t.equal(cluster.port, record.port, 'the port is on record');
    t.match(cluster.url, `:${encodeURIComponent(record.password)}@127.0.0.1:${record.port}/`);

    const pool = createPool(cluster.url, 4);
    t.teardown(() => pool.end());
    const probe = createDatabaseProbe(pool, 0);
    const waiter = await createProjectionWaiter(cluster.url);
    t.teardown(() => waiter.close());
    await pool.query('create table marks (n int)');
    await pool.query('insert into marks values (1)');
    t.same(await probe(), { ok: true });

    await cluster.stop();
    await t.rejects(pool.query('select 1'), DatabaseUnavailableError, 'a query while it is down');
    await t.rejects(pool.connect(), DatabaseUnavailableError, 'a connect while it is down');
    const down = await probe();
    t.equal(down.ok, false, 'health says so');

    cluster = await start();
    t.equal(cluster.port, record.port, 'the same port after a restart');
    t.same(moves, []);
    t.same(
      (await pool.query('select n from marks')).rows,
      [{ n: 1 }],
      'the same pool, reconnected',
    );
    t.same(await probe(), { ok: true });

    // The LISTEN connection comes back with the next wait (it is what wakes readers at once).
    await waiter.waitFor(async () => true, 0);
    await waiter.waitFor(async () => false, 200);
    const listening = await pollUntil('the waiter to listen again', async () => {
      const { rows } = await pool
        .query(`select 1 from pg_stat_activity where query = $1 and pid <> pg_backend_pid()`, [
          `listen ${PROJECTION_CHANNEL}`,
        ])
        .catch(() => ({ rows: [] }));
      return rows.length === 1 || undefined;
    });
    t.ok(listening, 'the waiter listens again');

    // Another program took the port while the cluster was down: it moves, records it, and says so.
    await cluster.stop();
    const squatter = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => squatter.listen(record.port, '127.0.0.1', resolve));
    t.teardown(() => new Promise((resolve) => squatter.close(resolve)));
    cluster = await start();
    t.not(cluster.port, record.port);
    t.same(moves, [[record.port, cluster.port]]);
    t.equal(
      JSON.parse(await readFile(path.join(dataDir, 'postgres.json'), 'utf8')).port,
      cluster.port,
    );
    await t.rejects(
      pool.query('select 1'),
      DatabaseUnavailableError,
      'a pool still on the old port meets the other program: the typed error',
    );
    const moved = createPool(cluster.url, 1);
    t.same((await moved.query('select n from marks')).rows, [{ n: 1 }], 'the data moved with it');
    await moved.end();
  },
);

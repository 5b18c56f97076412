// `npm start` as a real process on the embedded PostgreSQL: it serves, keeps its data across a
// restart, lets the CLI join its database, and two instances with their own PORT and DATA_DIR
// run side by side.
import path from 'node:path';
import t from 'tap';
import { findFreePort } from '../../src/infra/ports.ts';
import { runCli, startService, stopService } from '../support/cli.ts';
import { httpClient } from '../support/stack.ts';
import { tempDir } from '../support/tempDir.ts';

const serviceEnv = (dataDir: string, port: number) => ({
  DATA_DIR: dataDir,
  PORT: String(port),
  HOST: '127.0.0.1',
  LOG_LEVEL: 'info',
});

/** `npm start` on its own embedded database in `dataDir`, on `port`. */
const start = (dataDir: string, port: number) => startService(serviceEnv(dataDir, port));

t.test('npm start: serves, survives a restart, shares its database with the CLI', async (t) => {
  const base = await tempDir(t, 'wallet-start-');
  const dataA = path.join(base, 'a');
  const dataB = path.join(base, 'b');
  const [portA, portB] = [await findFreePort(), await findFreePort()];

  const first = await start(dataA, portA);
  const http = httpClient(`http://127.0.0.1:${portA}`);
  const created = await http('POST', '/api/wallets/', {});
  t.equal(created.status, 201);
  const id = created.body.uuid;
  t.equal((await http('PATCH', `/api/wallets/${id}/deposit/`, { amount: '42.00' })).status, 200);
  t.match(
    first.output(),
    new RegExp(`listening on http://localhost:${portA}`),
    'a log line with the URL',
  );

  // A second instance with its own PORT and DATA_DIR at the same time.
  const second = await start(dataB, portB);
  const other = httpClient(`http://127.0.0.1:${portB}`);
  t.equal((await other('GET', `/api/wallets/${id}/`)).status, 404, 'its own data');
  t.equal((await other('POST', '/api/wallets/', {})).status, 201);

  // The CLI beside the running service joins its embedded database.
  const history = await runCli(['history', id], serviceEnv(dataA, portA));
  t.equal(history.code, 0, history.stderr);
  t.match(history.stdout, /Deposited .*balance\s+42\.00/);

  t.equal(await stopService(first.child), 0, 'clean exit on SIGTERM');
  t.equal(await stopService(second.child), 0);

  const again = await start(dataA, portA);
  t.teardown(() => stopService(again.child));
  const read = await http('GET', `/api/wallets/${id}/`);
  t.equal(read.status, 200, 'the wallet is still there after a restart');
  t.equal(read.body.balance, '42.00');
  t.equal(await stopService(again.child), 0);
});

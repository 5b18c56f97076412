// `npm start` as a real process on the embedded PostgreSQL: it serves, keeps its data across a
// restart, lets the CLI join its database, and two instances with their own PORT and DATA_DIR
// run side by side.
import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { findFreePort } from '../../src/infra/ports.ts';
import { runCli } from '../support/cli.ts';
import { httpClient } from '../support/stack.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

/** The service's environment without the test run's database, so it uses its own embedded one. */
function serviceEnv(dataDir: string, port: number): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && k !== 'DATABASE_URL' && k !== 'TEST_DATABASE_URL') env[k] = v;
  }
  return { ...env, DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info' };
}

async function start(
  dataDir: string,
  port: number,
): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'start'], {
    env: serviceEnv(dataDir, port),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line in 60 s:\n${output}`)), 60_000);
    const check = () => {
      if (output.includes('wallet ledger listening on')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', check);
    child.on('exit', (code) => reject(new Error(`exited with ${code}:\n${output}`)));
  });
  return { child, output: () => output };
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

t.test('npm start: serves, survives a restart, shares its database with the CLI', async (t) => {
  const base = await mkdtemp(path.join(os.tmpdir(), 'wallet-start-'));
  await chmod(base, 0o755);
  t.teardown(() => rm(base, { recursive: true, force: true }));
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

  t.equal(await stop(first.child), 0, 'clean exit on SIGTERM');
  t.equal(await stop(second.child), 0);

  const again = await start(dataA, portA);
  t.teardown(() => stop(again.child));
  const read = await http('GET', `/api/wallets/${id}/`);
  t.equal(read.status, 200, 'the wallet is still there after a restart');
  t.equal(read.body.balance, '42.00');
  t.equal(await stop(again.child), 0);
});

// The headless roles as real processes: the projector and the scheduler answer /health and
// /metrics on OPS_PORT, and the api honours TRUST_PROXY and PUBLIC_URL.
import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { findFreePort } from '../../src/infra/ports.ts';
import { createTestDatabase } from '../support/database.ts';
import { httpClient, startStack } from '../support/stack.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

async function waitForHealth(url: string, child: ChildProcess) {
  const http = httpClient(url);
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}`);
    const response = await http('GET', '/health').catch(() => undefined);
    if (response?.status === 200) return response;
    await sleep(100);
  }
  throw new Error(`${url}/health never answered`);
}

t.test('projector and scheduler serve /health and /metrics on OPS_PORT', async (t) => {
  const db = await createTestDatabase(t, 5);
  for (const [role, extra] of [
    ['project', {}],
    ['schedule', { TRANSACTION_SERVICE_URL: 'http://127.0.0.1:9' }],
  ] as const) {
    const port = await findFreePort();
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, role], {
      env: {
        ...process.env,
        DATABASE_URL: db.url,
        OPS_PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        ...extra,
      },
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    t.teardown(() => {
      if (child.exitCode === null) child.kill('SIGKILL'); // only if an assertion threw first
    });
    const health = await waitForHealth(`http://127.0.0.1:${port}`, child);
    t.equal(health.body.status, 'ok', `${role}: healthy`);
    if (role === 'project') {
      let active = health.body.active;
      for (let i = 0; i < 50 && !active; i++) {
        await sleep(100);
        active = (await httpClient(`http://127.0.0.1:${port}`)('GET', '/health')).body.active;
      }
      t.equal(active, true, 'the only projector is the active one');
    }
    const metrics = await httpClient(`http://127.0.0.1:${port}`)('GET', '/metrics');
    t.match(
      metrics.text,
      role === 'project' ? /projector_lag_seconds/ : /scheduler_due_backlog/,
      `${role}: metrics`,
    );
    child.kill('SIGTERM');
    t.equal(await exited, 0, `${role}: clean exit`);
  }
});

t.test('TRUST_PROXY: wallet URLs show the scheme and host the client used', async (t) => {
  const { http } = await startStack(t, { env: { TRUST_PROXY: 'true' } });
  const created = await http(
    'POST',
    '/api/wallets/',
    {},
    {
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'wallets.example.com',
    },
  );
  t.match(created.body.url, /^https:\/\/wallets\.example\.com\/api\/wallets\/[0-9a-f-]{36}\/$/);
});

t.test('PUBLIC_URL: links use it, whatever Host the client sends', async (t) => {
  const { http } = await startStack(t, { env: { PUBLIC_URL: 'https://wallets.example.com/' } });
  const created = await http('POST', '/api/wallets/', {}, { host: 'evil.example' });
  t.match(created.body.url, /^https:\/\/wallets\.example\.com\/api\/wallets\/[0-9a-f-]{36}\/$/);
});

// The headless roles as real processes: the projector and the scheduler answer /health and
// /metrics on OPS_PORT, and the api honours TRUST_PROXY and PUBLIC_URL.
import t from 'tap';
import { findFreePort } from '../../src/infra/ports.ts';
import { startRole } from '../support/cli.ts';
import { createTestDatabase } from '../support/database.ts';
import { pollUntil } from '../support/poll.ts';
import { httpClient, startStack } from '../support/stack.ts';

t.test('projector and scheduler serve /health and /metrics on OPS_PORT', async (t) => {
  const db = await createTestDatabase(t, 5);
  for (const [role, extra] of [
    ['project', {}],
    ['schedule', { TRANSACTION_SERVICE_URL: 'http://127.0.0.1:9' }],
  ] as const) {
    const port = await findFreePort();
    // Ready once /health answers on OPS_PORT.
    const child = await startRole(t, role, {
      DATABASE_URL: db.url,
      OPS_PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ...extra,
    });
    const ops = httpClient(`http://127.0.0.1:${port}`);
    const health = await ops('GET', '/health');
    t.equal(health.body.status, 'ok', `${role}: healthy`);
    if (role === 'project') {
      const active = await pollUntil(
        'the projector to become active',
        async () => (await ops('GET', '/health')).body.active,
        { until: (a) => a === true, timeoutMs: 5000 },
      );
      t.equal(active, true, 'the only projector is the active one');
    }
    const metrics = await ops('GET', '/metrics');
    t.match(
      metrics.text,
      role === 'project' ? /projector_lag_seconds/ : /scheduler_due_backlog/,
      `${role}: metrics`,
    );
    t.equal(await child.stop(), 0, `${role}: clean exit`);
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

t.test('API_METRICS=false: /metrics leaves the API port, OPS_PORT serves it', async (t) => {
  const db = await createTestDatabase(t, 5);
  const opsPort = await findFreePort();
  const api = await startRole(t, 'serve', {
    DATABASE_URL: db.url,
    PORT: '0',
    HOST: '127.0.0.1',
    OPS_PORT: String(opsPort),
    API_METRICS: 'false',
    AUTH: 'off',
    LOG_LEVEL: 'info',
  });
  const url = api.readyMatch?.[1];
  t.ok(url, 'the api said where it listens');
  const http = httpClient(url as string);
  t.equal((await http('GET', '/metrics')).status, 404, 'not on the API port');
  t.equal((await http('GET', '/health')).status, 200, '/health stays on the API port');
  const ops = httpClient(`http://127.0.0.1:${opsPort}`);
  const metrics = await ops('GET', '/metrics');
  t.equal(metrics.status, 200);
  t.match(metrics.text, /^process_resident_memory_bytes\{role="serve"\} \d/m, 'on OPS_PORT');
  t.equal(await api.stop(), 0, 'clean exit');
});

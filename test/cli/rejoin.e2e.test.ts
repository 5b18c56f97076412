// Roles started beside `npm start` with the same DATA_DIR join its embedded PostgreSQL. When
// `npm start` stops, they answer 503 with Retry-After (never a 500, no stack trace) and their
// /health says they cannot serve; when it starts again, on the same port, they recover by
// themselves.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { findFreePort } from '../../src/infra/ports.ts';
import { startService, stopService } from '../support/cli.ts';
import { pollUntil } from '../support/poll.ts';
import { type Http, type HttpResponse, httpClient } from '../support/stack.ts';
import { tempDir } from '../support/tempDir.ts';

/** The first answer of `request` that `done` accepts (polling, up to a bound). */
const eventually = (
  what: string,
  request: () => Promise<HttpResponse>,
  done: (response: HttpResponse) => boolean,
) => pollUntil(what, request, { until: done, timeoutMs: 15_000 });

/** The first answer of `/health` that says healthy (200), or, with `up` false, that says not. */
const healthOnce = (what: string, http: Http, up = true) =>
  eventually(
    what,
    () => http('GET', '/health'),
    (r) => (r.status === 200) === up,
  );

// Several service processes one after another (tsx compiles each): more than the default timeout
// on a busy 2-core machine. A bound, not a measurement.
t.setTimeout(300_000);

t.test('a serve and a project role beside npm start ride out its restart', async (t) => {
  const base = await tempDir(t, 'wallet-rejoin-');
  const dataDir = path.join(base, 'data');
  const [startPort, servePort, opsPort] = [
    await findFreePort(),
    await findFreePort(),
    await findFreePort(),
  ];
  const env = { DATA_DIR: dataDir, HOST: '127.0.0.1', LOG_LEVEL: 'info' };
  const startAll = () => startService({ ...env, PORT: String(startPort) });

  let main = await startAll();
  t.teardown(() => stopService(main.child));
  const { port } = JSON.parse(await readFile(path.join(dataDir, 'postgres.json'), 'utf8'));
  t.match(
    main.output(),
    `embedded PostgreSQL in ${path.join(dataDir, 'postgres')} on port ${port}`,
  );

  const serve = await startService({ ...env, PORT: String(servePort) }, { command: 'serve' });
  t.teardown(() => stopService(serve.child));
  const project = await startService(
    { ...env, OPS_PORT: String(opsPort) },
    { command: 'project', ready: 'health and metrics on' },
  );
  t.teardown(() => stopService(project.child));
  for (const role of [serve, project])
    t.match(role.output(), 'joining the embedded PostgreSQL already running');

  const api = httpClient(`http://127.0.0.1:${servePort}`);
  const ops = httpClient(`http://127.0.0.1:${opsPort}`);
  const created = await api('POST', '/api/wallets/', {});
  t.equal(created.status, 201);
  const id = created.body.uuid;
  t.equal((await api('PATCH', `/api/wallets/${id}/deposit/`, { amount: '42.00' })).status, 200);
  t.equal((await api('GET', '/health')).body.status, 'ok');
  t.equal((await ops('GET', '/health')).body.status, 'ok');

  t.equal(await stopService(main.child), 0, 'npm start stopped, and its database with it');

  const read = await api('GET', `/api/wallets/${id}/`);
  t.equal(read.status, 503, 'a read while the database is gone');
  t.ok(Number(read.headers['retry-after']) > 0, 'with Retry-After');
  t.same(read.body, { detail: 'The database is unavailable; try again shortly.' });
  const deposit = await api('PATCH', `/api/wallets/${id}/deposit/`, { amount: '1.00' });
  t.equal(deposit.status, 503, 'a command too');
  t.equal((await api('POST', '/api/wallets/', {})).status, 503);
  const health = await healthOnce('the api to say it cannot serve', api, false);
  t.equal(health.status, 503, 'the api is not healthy');
  t.equal(health.body.status, 'unavailable');
  t.match(health.body.error, /database is unavailable/);
  t.equal((await api('GET', '/ready')).status, 503);
  const opsHealth = await healthOnce('the projector to say it cannot serve', ops, false);
  t.equal(opsHealth.status, 503, 'nor is the projector beside it');
  t.equal(opsHealth.body.status, 'unavailable');

  main = await startAll();
  t.match(main.output(), `on port ${port}`, 'npm start takes the same port again');
  const back = await eventually(
    'the serve role to read again',
    () => api('GET', `/api/wallets/${id}/`),
    (r) => r.status === 200,
  );
  t.equal(back.status, 200, 'the serve role reads again, without a restart');
  t.equal(back.body.balance, '42.00');
  const again = await api('PATCH', `/api/wallets/${id}/deposit/`, { amount: '1.00' });
  t.equal(again.status, 200, 'and writes');
  t.equal(again.body.balance, '43.00');
  t.equal((await healthOnce('the api to be healthy again', api)).status, 200);
  t.equal((await api('GET', '/ready')).status, 200);
  const listed = await eventually(
    'both deposits listed',
    () => api('GET', `/api/wallets/${id}/transactions/`),
    (r) => r.body?.results?.length === 2,
  );
  t.equal(listed.body.results.length, 2, 'a projector runs again: both deposits are listed');
  t.equal((await healthOnce('the projector to be healthy again', ops)).status, 200);

  for (const role of [serve, project, main]) t.equal(await stopService(role.child), 0);
  const logs = serve.output();
  t.notMatch(logs, /"level":50/, 'the outage logged no error');
  t.notMatch(logs, /\n\s+at /, 'and no stack trace');
  t.match(logs, /"level":40,.*The database is unavailable/, 'one warning line per refused request');
});

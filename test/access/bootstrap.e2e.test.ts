// `npm start` with keys required and no OPERATOR_API_KEY, as a real process on its own embedded
// PostgreSQL: the first start makes an operator key, logs it once and writes it to a file only the
// user can read; a restart keeps it and does not show it again.
import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { findFreePort } from '../../src/infra/ports.ts';
import { startService, stopService } from '../support/cli.ts';
import { httpClient } from '../support/stack.ts';

t.test('npm start: the bootstrap operator key', async (t) => {
  const base = await mkdtemp(path.join(os.tmpdir(), 'wallet-bootstrap-'));
  await chmod(base, 0o755);
  t.teardown(() => rm(base, { recursive: true, force: true }));
  const dataDir = path.join(base, 'data');
  const port = await findFreePort();
  const env = {
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    AUTH: 'on',
    OPERATOR_API_KEY: '',
  };

  const first = await startService(env);
  const file = path.join(dataDir, 'operator-api-key');
  const key = (await readFile(file, 'utf8')).trim();
  t.match(key, /^wlk_[A-Za-z0-9_-]{43}$/);
  t.equal(((await stat(file)).mode & 0o777).toString(8), '600', 'only the user can read it');
  t.equal(first.output().split(key).length - 1, 1, 'the start log shows it once');
  const http = httpClient(`http://127.0.0.1:${port}`);
  t.equal((await http('GET', '/api/keys')).status, 401, 'keys are required');
  t.equal((await http('GET', '/ready')).body.auth, 'on');
  const listed = await http('GET', '/api/keys', undefined, { authorization: `Bearer ${key}` });
  t.equal(listed.status, 200, 'the key works');
  t.match(listed.body.results, [{ kind: 'operator', name: 'bootstrap' }]);
  t.equal(await stopService(first.child), 0);

  const again = await startService(env);
  t.teardown(() => stopService(again.child));
  t.notOk(again.output().includes(key), 'a restart does not show it again');
  t.match(again.output(), file, 'it says where the file is');
  t.equal((await readFile(file, 'utf8')).trim(), key, 'the same key');
  const after = await http('GET', '/api/keys', undefined, { authorization: `Bearer ${key}` });
  t.equal(after.body.results.length, 1, 'no second key');
  t.equal(await stopService(again.child), 0);
});

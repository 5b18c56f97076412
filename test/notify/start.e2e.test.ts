// `npm start` runs the notify role with the others: a webhook registered on it is delivered.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { findFreePort } from '../../src/infra/ports.ts';
import { startService, stopService } from '../support/cli.ts';
import { startReceiver } from '../support/receiver.ts';
import { httpClient } from '../support/stack.ts';

t.test('npm start delivers webhooks', async (t) => {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'wallet-notify-start-'));
  await chmod(dataDir, 0o755);
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const port = await findFreePort();
  const service = await startService({
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
  });
  t.teardown(() => stopService(service.child));
  const receiver = await startReceiver(t);
  const http = httpClient(`http://127.0.0.1:${port}`);
  const hook = await http('POST', '/api/webhooks', { url: receiver.url });
  t.equal(hook.status, 201);
  const wallet = (await http('POST', '/api/wallets/', {})).body.uuid;
  await http('PATCH', `/api/wallets/${wallet}/deposit/`, { amount: '5.00' });
  await receiver.until('both events', (r) => r.length >= 2);
  t.same(
    receiver.received.map((r) => [r.json.type, r.json.data.walletId]),
    [
      ['WalletCreated', wallet],
      ['Deposited', wallet],
    ],
  );
  t.ok(receiver.received.every((r) => receiver.verify(r, hook.body.secret)));
  t.match(service.output(), /"msg":"notify outbox writer active"/);
  const metrics = (await http('GET', '/metrics')).text;
  t.match(metrics, /^webhook_deliveries_total\{outcome="delivered",role="start"\} 2$/m);
  t.equal(await stopService(service.child), 0, 'stops cleanly with the notify role');
});

// `npm start` runs the notify role with the others: a webhook registered on it is delivered.
import t from 'tap';
import { findFreePort } from '../../src/infra/ports.ts';
import { startService, stopService } from '../support/cli.ts';
import { pollUntil } from '../support/poll.ts';
import { startReceiver } from '../support/receiver.ts';
import { httpClient } from '../support/stack.ts';
import { tempDir } from '../support/tempDir.ts';

t.test('npm start delivers webhooks', async (t) => {
  const dataDir = await tempDir(t, 'wallet-notify-start-');
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
  // Counted once the answer is on record, a moment after the receiver has it.
  const delivered = /^webhook_deliveries_total\{outcome="delivered",role="start"\} (\d+)$/m;
  const counted = await pollUntil(
    (last) => `both deliveries counted (last: ${last})`,
    async () => delivered.exec((await http('GET', '/metrics')).text)?.[1],
    { until: (n) => n === '2' },
  );
  t.equal(counted, '2', 'webhook_deliveries_total counts both');
  t.equal(await stopService(service.child), 0, 'stops cleanly with the notify role');
});

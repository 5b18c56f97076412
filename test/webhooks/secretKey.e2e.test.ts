// A notify instance that cannot read an endpoint's signing secret (WEBHOOK_SECRET_KEY missing or
// another one) is at fault, not the endpoint: it sends nothing to it, records no attempt, leaves
// its health alone and says so; an instance with the right key delivers everything, in order.
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { sealSecret } from '../../src/webhooks/secretBox.ts';
import { pollUntil } from '../support/poll.ts';
import { startReceiver } from '../support/receiver.ts';
import { revisionsByWallet, startWebhookStack } from './support.ts';

t.test('an unreadable secret burns no attempts and leaves the endpoint healthy', async (t) => {
  const key = randomBytes(32);
  const otherKey = randomBytes(32);
  const stack = await startWebhookStack(t, {
    notify: false,
    // No retries and a quick disabling: a single recorded failure would show at once.
    env: {
      WEBHOOK_SECRET_KEY: key.toString('hex'),
      WEBHOOK_RETRY_SCHEDULE: 'none',
      WEBHOOK_DISABLE_AFTER: '1s',
    },
  });
  const [receiver, sentinel] = [await startReceiver(t), await startReceiver(t)];
  const hook = await stack.register(stack.http, { url: receiver.url });
  // The sentinel's secret is sealed with the other key: the instance below can sign for it only.
  const watch = await stack.register(stack.http, { url: sentinel.url });
  await stack.db.pool.query(`update webhooks.endpoints set secret = $2 where endpoint_id = $1`, [
    watch.id,
    sealSecret(watch.secret, watch.id, otherKey),
  ]);
  const wrongKey = stack.startNotify({
    config: { ...stack.runtime.config.webhooks, secretKey: otherKey },
  });
  const wallet = await stack.newWallet(stack.http);
  for (let i = 0; i < 3; i++) await stack.deposit(stack.http, wallet);
  await sentinel.until('the 4 events', (r) => r.length === 4);
  t.ok(
    sentinel.received.every((r) => sentinel.verify(r, watch.secret)),
    'the instance signs where it can',
  );
  await pollUntil('the unreadable secret reported', async () =>
    wrongKey.unreadableSecrets().includes(hook.id) ? true : undefined,
  );
  t.same(wrongKey.unreadableSecrets(), [hook.id], 'reported (for /health)');
  t.equal(receiver.received.length, 0, 'nothing sent without a signature');
  const { rows } = await stack.db.pool.query(
    `select d.status, d.attempts, (select count(*)::int from notify.attempts a
                                   where a.delivery_id = d.delivery_id) as recorded
     from notify.deliveries d where endpoint_id = $1`,
    [hook.id],
  );
  t.same(
    rows,
    Array.from({ length: 4 }, () => ({ status: 'pending', attempts: 0, recorded: 0 })),
    'its deliveries wait, no attempt spent',
  );
  const { rows: health } = await stack.db.pool.query(
    `select * from notify.endpoint_health where endpoint_id = $1`,
    [hook.id],
  );
  t.same(health, [], 'its health untouched');
  t.match((await stack.http('GET', `/api/webhooks/${hook.id}`)).body, {
    enabled: true,
    failing_since: null,
  });

  // An instance with the key delivers them all, in order.
  stack.startNotify();
  await receiver.until('the 4 events', (r) => r.length === 4);
  t.same(revisionsByWallet(receiver.received).get(wallet), [0, 1, 2, 3]);
  t.ok(receiver.received.every((r) => receiver.verify(r, hook.secret)));
});

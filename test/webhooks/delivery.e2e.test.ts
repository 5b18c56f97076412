// Deliveries end to end: wallet commands over HTTP, the notify role following the log (on both
// event store adapters), real receivers on 127.0.0.1. Signatures are checked with the
// `standardwebhooks` package (an independent implementation), also across a secret rotation.
import t from 'tap';
import { pollUntil } from '../support/poll.ts';
import { startReceiver } from '../support/receiver.ts';
import { ESDB_STAND_IN_TARGET, POSTGRES_TARGET } from '../support/stack.ts';
import { revisionsByWallet, startWebhookStack } from './support.ts';

/** The endpoint's newest delivery once `done` holds for it. */
const newestDelivery = (http: any, hookId: string, done: (delivery: any) => boolean) =>
  pollUntil(
    'the delivery',
    async () => {
      const delivery = (await http('GET', `/api/webhooks/${hookId}/deliveries`)).body.results[0];
      return delivery && done(delivery) ? delivery : undefined;
    },
    { intervalMs: 50 },
  );

for (const target of [POSTGRES_TARGET, ESDB_STAND_IN_TARGET]) {
  t.test(`${target.name}: signed deliveries, per-wallet order, owners apart`, async (t) => {
    const stack = await startWebhookStack(t, { target });
    const alice = await stack.ownerClient('alice');
    const bob = await stack.ownerClient('bob');
    const [toAlice, toBob, toOperator] = [
      await startReceiver(t),
      await startReceiver(t),
      await startReceiver(t),
    ];
    const aliceHook = await stack.register(alice, { url: toAlice.url });
    const bobHook = await stack.register(bob, { url: toBob.url });
    await stack.register(stack.http, { url: toOperator.url, events: ['Deposited'] });

    const wallets = [await stack.newWallet(alice), await stack.newWallet(alice)];
    for (let i = 0; i < 5; i++)
      for (const wallet of wallets) await stack.deposit(alice, wallet, `${i + 1}.00`);
    const bobs = await stack.newWallet(bob);
    await stack.deposit(bob, bobs);

    // Alice's endpoint: her 12 events; the operator's: every deposit (11); bob's: his 2.
    await toAlice.until('12 events', (r) => new Set(r.map((x) => x.id)).size === 12);
    await toOperator.until('11 deposits', (r) => new Set(r.map((x) => x.id)).size === 11);
    await toBob.until('2 events', (r) => new Set(r.map((x) => x.id)).size === 2);
    t.same(
      [...new Set(toBob.received.map((r) => r.json.data.walletId))],
      [bobs],
      "bob's endpoint saw only bob's wallet",
    );
    const { rows } = await stack.db.pool.query(
      `select count(*)::int as n from notify.deliveries where endpoint_id = $1 and wallet_id <> $2`,
      [bobHook.id, bobs],
    );
    t.equal(rows[0].n, 0, "and nothing of alice's is on its way to it");
    t.ok(toAlice.received.every((r) => wallets.includes(r.json.data.walletId)));
    t.ok(
      toOperator.received.every((r) => r.json.type === 'Deposited'),
      'the operator asked for deposits only',
    );

    t.ok(
      toAlice.received.every((r) => toAlice.verify(r, aliceHook.secret)),
      'every delivery verifies',
    );
    t.notOk(
      toAlice.received.some((r) => toAlice.verify(r, bobHook.secret)),
      'not with another secret',
    );
    for (const [wallet, revisions] of revisionsByWallet(toAlice.received)) {
      t.same(revisions, [0, 1, 2, 3, 4, 5], `wallet ${wallet.slice(0, 8)}: in order, once each`);
    }
    const created = toAlice.received.find((r) => r.json.type === 'WalletCreated');
    t.match(created?.json, {
      type: 'WalletCreated',
      timestamp: /^\d{4}-\d\d-\d\dT.*Z$/,
      data: { walletId: created?.json.data.walletId, revision: 0, owner: 'alice', currency: 'USD' },
    });
    t.match(created?.json.data.globalPosition, { commit: /^\d+$/, prepare: /^\d+$/ });
    t.ok(
      Math.abs(Number(created?.timestamp) - Date.now() / 1000) < 60,
      'webhook-timestamp: Unix seconds',
    );
    const deposit = toAlice.received.find(
      (r) => r.json.type === 'Deposited' && r.json.data.amount === '5.00',
    );
    t.match(deposit?.json.data, { depositId: /^[0-9a-f-]{36}$/, amount: '5.00', revision: 5 });

    // After a rotation both secrets sign (two signatures); either verifies.
    const rotated = await alice('POST', `/api/webhooks/${aliceHook.id}/rotate-secret`);
    await stack.deposit(alice, wallets[0] as string);
    await toAlice.until('the 13th event', (r) => r.length >= 13);
    const after = toAlice.received.at(-1)!;
    t.equal(after.signature.split(' ').length, 2, 'two signatures');
    t.ok(toAlice.verify(after, rotated.body.secret), 'the new secret verifies');
    t.ok(toAlice.verify(after, aliceHook.secret), 'the old one too, for 24 h');

    // The deliveries as the API shows them, once the 13th is recorded (the notify role records an
    // attempt after its answer arrived: the receiver can count it a moment before).
    const page = await pollUntil(
      'the 13th delivery recorded',
      () => alice('GET', `/api/webhooks/${aliceHook.id}/deliveries?status=delivered&limit=5`),
      { until: (answer) => answer.body.results?.[0]?.id === after.id },
    );
    t.equal(page.status, 200);
    t.equal(page.body.results.length, 5);
    t.match(page.body.results[0], {
      id: after.id,
      type: 'Deposited',
      status: 'delivered',
      attempts: [{ attempt: 1, status: 204, latency_ms: Number, response: '', error: null }],
    });
    const seen = new Set(page.body.results.map((d: { id: string }) => d.id));
    let next = page.body.next as string | null;
    while (next) {
      const more = await alice('GET', new URL(next).pathname + new URL(next).search);
      for (const d of more.body.results) seen.add(d.id);
      next = more.body.next;
    }
    t.equal(seen.size, 13, 'the cursor pages through all 13');
    t.same(
      (await alice('GET', `/api/webhooks/${aliceHook.id}/deliveries?status=failed`)).body.results,
      [],
    );
    t.equal((await alice('GET', `/api/webhooks/${aliceHook.id}/deliveries?cursor=zz`)).status, 400);
  });
}

t.test('a receiver that answers 500 twice, then 200', async (t) => {
  const stack = await startWebhookStack(t);
  const receiver = await startReceiver(t);
  receiver.answer((r) =>
    r.n <= 2 ? { status: 500, body: 'try later' } : { status: 200, body: 'thanks' },
  );
  const hook = await stack.register(stack.http, { url: receiver.url, events: ['WalletCreated'] });
  await stack.newWallet(stack.http);
  await receiver.until('three attempts', (r) => r.length === 3);
  t.equal(new Set(receiver.received.map((r) => r.id)).size, 1, 'one webhook-id on every attempt');
  t.equal(new Set(receiver.received.map((r) => r.body)).size, 1, 'the same body');
  t.ok(
    receiver.received.every((r) => receiver.verify(r, hook.secret)),
    'each signed afresh',
  );
  const delivery = await newestDelivery(stack.http, hook.id, (d) => d.status === 'delivered');
  t.match(delivery, {
    id: receiver.received[0]?.id,
    attempts: [
      { attempt: 1, status: 500, response: 'try later', error: 'HTTP 500.' },
      { attempt: 2, status: 500, response: 'try later' },
      { attempt: 3, status: 200, response: 'thanks', error: null },
    ],
  });
  const gap = (a: number, b: number) =>
    (receiver.received[b]?.at ?? 0) - (receiver.received[a]?.at ?? 0);
  t.ok(
    gap(0, 1) >= 80 && gap(1, 2) >= 160,
    `waited per the schedule (${gap(0, 1)} ms, ${gap(1, 2)} ms)`,
  );
  t.equal(receiver.received.length, 3, 'nothing more once delivered');
});

t.test('a hanging endpoint does not hold up another one; its attempts time out', async (t) => {
  const stack = await startWebhookStack(t, {
    env: { WEBHOOK_TIMEOUT_MS: '500', WEBHOOK_RETRY_SCHEDULE: '1h' },
  });
  const [hanging, healthy] = [await startReceiver(t), await startReceiver(t)];
  hanging.answer(() => 'hang');
  const stuck = await stack.register(stack.http, { url: hanging.url });
  await stack.register(stack.http, { url: healthy.url });
  const wallets = [await stack.newWallet(stack.http), await stack.newWallet(stack.http)];
  for (const wallet of wallets) for (let i = 0; i < 4; i++) await stack.deposit(stack.http, wallet);
  await healthy.until('all 10 events', (r) => r.length === 10);
  const { rows } = await stack.db.pool.query(
    `select count(*) filter (where status = 'delivered')::int as delivered, count(*)::int as total
     from notify.deliveries where endpoint_id = $1`,
    [stuck.id],
  );
  t.same(rows[0], { delivered: 0, total: 10 }, 'the hanging one delivered nothing meanwhile');
  t.ok(hanging.received.length <= 2, 'it got at most the head of each wallet (order)');
  const tried = await pollUntil(
    'two timed-out attempts',
    async () => {
      const path = `/api/webhooks/${stuck.id}/deliveries?status=pending`;
      const tried = (await stack.http('GET', path)).body.results.filter(
        (d: any) => d.attempts.length > 0,
      );
      return tried.length === 2 ? tried : undefined;
    },
    { intervalMs: 50 },
  );
  t.match(tried[0].attempts[0], { status: null, error: 'No answer within 500 ms.' });
  t.ok(tried[0].attempts[0].latency_ms >= 450, 'after the timeout');
});

t.test('an endpoint down for a while gets everything once it is back, in order', async (t) => {
  const stack = await startWebhookStack(t, {
    env: { WEBHOOK_RETRY_SCHEDULE: '50ms,100ms,150ms,200ms,250ms,300ms,300ms,300ms,300ms,300ms' },
  });
  const receiver = await startReceiver(t, { listen: false }); // nothing listens on its port yet
  const hook = await stack.register(stack.http, { url: receiver.url });
  const wallets = [await stack.newWallet(stack.http), await stack.newWallet(stack.http)];
  for (const wallet of wallets) for (let i = 0; i < 3; i++) await stack.deposit(stack.http, wallet);
  // Refused connections, a few times over.
  const attempts = await pollUntil(
    'refused attempts',
    async () => {
      const page = (await stack.http('GET', `/api/webhooks/${hook.id}/deliveries`)).body;
      const attempts = page.results.flatMap((d: any) => d.attempts);
      return attempts.length >= 4 ? attempts : undefined;
    },
    { intervalMs: 50 },
  );
  t.match(attempts[0], { status: null, error: /^Connection failed \(ECONNREFUSED\)\.$/ });
  await receiver.reopen();
  await receiver.until('all 8 events', (r) => new Set(r.map((x) => x.id)).size === 8);
  for (const [, revisions] of revisionsByWallet(receiver.received)) {
    t.same(revisions, [0, 1, 2, 3], 'in order, each once');
  }
  // Recorded a moment after the receiver answered: wait until all 8 have ended, then see how.
  const ended = await pollUntil(
    'all 8 deliveries ended',
    async () => {
      const { rows } = await stack.db.pool.query(
        `select count(*) filter (where status <> 'pending')::int as ended,
                count(*) filter (where status = 'delivered')::int as delivered
         from notify.deliveries where endpoint_id = $1`,
        [hook.id],
      );
      return rows[0];
    },
    { until: (counts) => counts.ended === 8 },
  );
  t.equal(ended.delivered, 8);
});

t.test(
  'pause and resume; a failing endpoint is disabled and says why; retry by hand',
  async (t) => {
    const stack = await startWebhookStack(t, {
      env: { WEBHOOK_RETRY_SCHEDULE: 'none', WEBHOOK_DISABLE_AFTER: '1s' },
    });
    const [receiver, sentinel] = [await startReceiver(t), await startReceiver(t)];
    const hook = await stack.register(stack.http, { url: receiver.url });
    await stack.register(stack.http, { url: sentinel.url });
    await stack.http('PATCH', `/api/webhooks/${hook.id}`, { enabled: false });
    const wallet = await stack.newWallet(stack.http);
    for (let i = 0; i < 3; i++) await stack.deposit(stack.http, wallet);
    await sentinel.until('the 4 events', (r) => r.length === 4);
    await new Promise((resolve) => setTimeout(resolve, 300)); // a few polls of the deliverer
    t.equal(receiver.received.length, 0, 'paused: nothing sent');
    await stack.http('PATCH', `/api/webhooks/${hook.id}`, { enabled: true });
    await receiver.until('the held events', (r) => r.length === 4);
    t.same(revisionsByWallet(receiver.received).get(wallet), [0, 1, 2, 3], 'held in order');

    // Now every attempt fails (no retries configured: each delivery fails at once).
    receiver.answer(() => ({ status: 503 }));
    const start = Date.now();
    let endpoint: any;
    while (endpoint?.enabled !== false) {
      await stack.deposit(stack.http, wallet);
      await new Promise((resolve) => setTimeout(resolve, 100));
      endpoint = (await stack.http('GET', `/api/webhooks/${hook.id}`)).body;
    }
    t.ok(Date.now() - start >= 1000, 'after failing for WEBHOOK_DISABLE_AFTER');
    t.match(endpoint, {
      enabled: false,
      disabled_reason:
        /^Every delivery attempt failed for \d+ seconds? \(since .*; the last: HTTP 503\.\)$/,
      failing_since: /^\d{4}-/,
    });
    const failed = (await stack.http('GET', `/api/webhooks/${hook.id}/deliveries?status=failed`))
      .body.results;
    t.ok(failed.length >= 1, `${failed.length} failed deliveries`);
    const sentBefore = receiver.received.length;
    const sentinelBefore = sentinel.received.length;
    await stack.deposit(stack.http, wallet);
    await sentinel.until('that deposit', (r) => r.length > sentinelBefore);
    await new Promise((resolve) => setTimeout(resolve, 300)); // a few polls of the deliverer
    t.equal(receiver.received.length, sentBefore, 'disabled: nothing sent');

    // Fixed, enabled again, and the failed ones retried by hand: each gets one more attempt.
    receiver.answer(() => ({ status: 200 }));
    const enabled = await stack.http('PATCH', `/api/webhooks/${hook.id}`, { enabled: true });
    t.match(enabled.body, { enabled: true, disabled_reason: null });
    for (const delivery of failed) {
      const retry = await stack.http(
        'POST',
        `/api/webhooks/${hook.id}/deliveries/${delivery.id}/retry`,
      );
      t.equal(retry.status, 202);
      t.match(retry.body, { id: delivery.id, status: 'failed', retry_requested: /^\d{4}-/ });
    }
    const page = await pollUntil(
      'every delivery delivered',
      async () => {
        const path = `/api/webhooks/${hook.id}/deliveries?limit=100`;
        const page = (await stack.http('GET', path)).body.results;
        return page.every((d: any) => d.status === 'delivered') ? page : undefined;
      },
      { intervalMs: 50 },
    );
    const retried = page.filter((d: any) => failed.some((f: any) => f.id === d.id));
    t.equal(retried.length, failed.length);
    t.ok(
      retried.every((d: any) => d.attempts.length === 2 && d.attempts[1].status === 200),
      'one more attempt each',
    );
    t.equal(
      (await stack.http('POST', `/api/webhooks/${hook.id}/deliveries/${hook.id}/retry`)).status,
      404,
    );
  },
);

t.test('redirects are not followed', async (t) => {
  const stack = await startWebhookStack(t, { env: { WEBHOOK_RETRY_SCHEDULE: 'none' } });
  const [redirecting, elsewhere] = [await startReceiver(t), await startReceiver(t)];
  redirecting.answer(() => ({ status: 307, headers: { location: elsewhere.url } }));
  const hook = await stack.register(stack.http, {
    url: redirecting.url,
    events: ['WalletCreated'],
  });
  await stack.newWallet(stack.http);
  const delivery = await newestDelivery(stack.http, hook.id, (d) => d.status === 'failed');
  t.match(delivery.attempts, [{ status: 307, error: 'HTTP 307.' }]);
  t.equal(elsewhere.received.length, 0);
});

t.test(
  'at delivery time a name that now resolves to loopback is refused (DNS rebinding)',
  async (t) => {
    // Registered while private targets were allowed; delivered by a notify role that refuses them,
    // whose resolver says the name is loopback now.
    const stack = await startWebhookStack(t, {
      notify: false,
      env: { WEBHOOK_RETRY_SCHEDULE: 'none' },
    });
    const receiver = await startReceiver(t);
    const byName = await stack.register(stack.http, {
      url: `http://rebound.example:${receiver.port}/hooks`,
      events: ['WalletCreated'],
    });
    const byAddress = await stack.register(stack.http, {
      url: receiver.url,
      events: ['WalletCreated'],
    });
    stack.startNotify({
      config: { ...stack.runtime.config.webhooks, allowPrivateTargets: false },
      resolve: async () => [{ address: '127.0.0.1', family: 4 }],
    });
    await stack.newWallet(stack.http);
    for (const [hook, says] of [
      [byName, /^The host "rebound\.example" resolves to 127\.0\.0\.1, a loopback address/],
      [byAddress, /^The host 127\.0\.0\.1 is a loopback address/],
    ] as const) {
      const delivery = await newestDelivery(stack.http, hook.id, (d) => d.status === 'failed');
      t.match(delivery.attempts, [{ status: null, error: says }]);
    }
    t.equal(receiver.received.length, 0, 'no request reached the receiver');
  },
);

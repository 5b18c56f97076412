// The notify role as a real process (`npm run cli -- notify`), SIGKILLed while deliveries are in
// flight, then started again: every event arrives at least once, a repeat carries the same
// webhook-id (and body) as the first, and each wallet's events arrive in order.
import t from 'tap';
import { findFreePort } from '../../src/infra/ports.ts';
import { startRole } from '../support/cli.ts';
import { pollUntil } from '../support/poll.ts';
import { startReceiver } from '../support/receiver.ts';
import { inOrder, revisionsByWallet, startWebhookStack } from '../webhooks/support.ts';

t.test(
  'a notify process killed mid-delivery loses nothing; repeats keep their webhook-id',
  async (t) => {
    const stack = await startWebhookStack(t, { notify: false });
    const receiver = await startReceiver(t);
    // Slow answers: requests are in flight when the kill comes.
    receiver.answer(() => ({ status: 200, delayMs: 150 }));
    const hook = await stack.register(stack.http, { url: receiver.url });
    const opsPort = await findFreePort();
    const env = {
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      DATABASE_URL: stack.db.url,
      OPS_PORT: String(opsPort),
      WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
      WEBHOOK_TIMEOUT_MS: '1000',
      WEBHOOK_LEASE_MS: '2000',
      WEBHOOK_RETRY_SCHEDULE: '100ms,200ms,400ms',
    };
    // Ready once /health answers on its OPS_PORT.
    const first = await startRole(t, 'notify', env);
    t.match(await (await fetch(`http://127.0.0.1:${opsPort}/health`)).json(), { status: 'ok' });

    const wallets = await Promise.all(Array.from({ length: 5 }, () => stack.newWallet(stack.http)));
    await Promise.all(
      wallets.map(async (wallet) => {
        for (let i = 0; i < 10; i++) await stack.deposit(stack.http, wallet);
      }),
    );
    const expected = 5 * 11;

    await receiver.until(
      'requests in flight after a few deliveries',
      (r) => r.length >= 10 && receiver.open() > 0,
    );
    const inFlight = receiver.open();
    await first.stop({ signal: 'SIGKILL' });
    const beforeRestart = receiver.received.length;
    t.ok(
      beforeRestart < expected,
      `killed after ${beforeRestart} of ${expected} requests, ${inFlight} in flight`,
    );

    const second = await startRole(t, 'notify', env);
    await receiver.until(
      'every event',
      (r) => new Set(r.map((x) => x.id)).size === expected,
      60_000,
    );
    await pollUntil('every delivery recorded as delivered', async () => {
      const { rows } = await stack.db.pool.query(
        `select count(*)::int as n from notify.deliveries where endpoint_id = $1 and status = 'delivered'`,
        [hook.id],
      );
      return rows[0].n === expected ? true : undefined;
    });
    const { rows } = await stack.db.pool.query(
      'select count(*)::int as total from notify.deliveries where endpoint_id = $1',
      [hook.id],
    );
    t.equal(rows[0].total, expected, 'one delivery per event, written once');

    const byId = new Map<string, string[]>();
    for (const r of receiver.received) byId.set(r.id, [...(byId.get(r.id) ?? []), r.body]);
    const repeated = [...byId.values()].filter((bodies) => bodies.length > 1);
    t.ok(
      repeated.length >= 1,
      `${repeated.length} deliveries arrived twice (the requests cut off by the kill)`,
    );
    t.ok(
      repeated.every((bodies) => bodies.every((body) => body === bodies[0])),
      'a repeat is the same delivery: same webhook-id, same body',
    );
    t.ok(
      receiver.received.every((r) => receiver.verify(r, hook.secret)),
      'all signed',
    );
    const byWallet = revisionsByWallet(receiver.received);
    t.equal(byWallet.size, 5);
    for (const [wallet, revisions] of byWallet) {
      t.ok(inOrder(revisions), `wallet ${wallet.slice(0, 8)}: in order (${revisions.join(',')})`);
      t.same([...new Set(revisions)], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    }

    const metrics = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
    t.match(metrics, /^webhook_deliveries_total\{outcome="delivered",role="notify"\} \d+/m);
    t.match(metrics, /^webhook_attempt_duration_seconds_count\{role="notify"\} \d+/m);
    const after = (await (await fetch(`http://127.0.0.1:${opsPort}/health`)).json()) as any;
    t.match(after, { status: 'ok', outbox: 'active' });
    t.same(after.unreadable_webhook_secrets, [], 'it can sign for every endpoint');
    t.equal(await second.stop(), 0, 'SIGTERM stops it cleanly');
  },
);

// A bank does not forget: the books in PostgreSQL survive a restart of the service, and two
// instances on one database pay a key once, over real HTTP on 127.0.0.1.
import { randomUUID } from 'node:crypto';
import t, { type Test } from 'tap';
import { buildTransactionService } from '../../transaction-service/app.ts';
import type { FaultRule } from '../../transaction-service/faults.ts';
import { openPostgresBank } from '../../transaction-service/postgresBank/index.ts';
import { createTestDatabase } from '../support/database.ts';
import { type Http, httpClient } from '../support/stack.ts';

const SUCCESS = { data: 'success', status: 200 };
const REFUSED = { data: 'refused', status: 422 };

/** An instance of the service with its books in `databaseUrl`; `close` stops it (a restart). */
async function startInstance(t: Test, databaseUrl: string, rules: FaultRule[] = []) {
  const app = buildTransactionService({
    latencyMs: 50,
    failureRate: 0,
    rules,
    bank: await openPostgresBank(databaseUrl),
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await app.close();
  };
  t.teardown(close);
  const http = httpClient(url);
  const pay = (key: string, body = '{"amount":"10.00"}') =>
    http('POST', '/', body, { 'idempotency-key': key, 'content-type': 'application/json' });
  const payouts = async (key: string) =>
    ((await http('GET', '/transfers')).body.transfers as { key: string }[]).filter(
      (transfer) => transfer.key === key,
    );
  return { http, pay, payouts, close };
}

const lookup = (http: Http, key: string) => http('GET', `/transfers/${encodeURIComponent(key)}`);

t.test('a restart on the same database finds every verdict and pays nothing again', async (t) => {
  const db = await createTestDatabase(t, 1);
  const paidKey = randomUUID();
  const refusedKey = randomUUID();
  const first = await startInstance(t, db.url, [{ mode: 'refuse', key: refusedKey }]);
  t.same((await first.pay(paidKey, '{"amount":"12.34","currency":"EUR"}')).body, SUCCESS);
  t.same((await first.pay(refusedKey)).body, REFUSED);
  const keyless = await first.http('POST', '/', 'amount=1.00');
  t.same(keyless.body, SUCCESS);
  const before = (await lookup(first.http, paidKey)).body;
  await first.close();

  const second = await startInstance(t, db.url); // no refusal rule this time
  const found = await lookup(second.http, paidKey);
  t.equal(found.status, 200, 'the lookup finds the payout made before the restart');
  t.same(found.body, before, 'as it was recorded');
  t.match(found.body, { status: 'paid', amount: '12.34', currency: 'EUR', attempts: 1 });

  const resent = await second.pay(paidKey);
  t.same(resent.body, SUCCESS);
  t.equal(resent.headers['idempotent-replayed'], 'true', 'the resend is a replay');
  const listed = await second.payouts(paidKey);
  t.equal(listed.length, 1, 'paid once');
  t.match(listed[0], { attempts: 2 });

  const refusedAgain = await second.pay(refusedKey);
  t.equal(refusedAgain.status, 422, 'a refusal stays a refusal without its rule');
  t.equal(refusedAgain.headers['idempotent-replayed'], 'true');

  const all = (await second.http('GET', '/transfers')).body;
  t.equal(all.count, 2, 'the keyless payout is on the books too');
  t.match(all.transfers, [{ key: paidKey }, { key: null, amount: '1.00', attempts: 1 }]);
});

t.test('two instances on one database: concurrent duplicates pay once', async (t) => {
  const db = await createTestDatabase(t, 1);
  const a = await startInstance(t, db.url);
  const b = await startInstance(t, db.url);
  const key = randomUUID();
  const answers = await Promise.all(
    Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).pay(key)),
  );
  t.ok(
    answers.every((answer) => answer.status === 200 && answer.body.data === 'success'),
    'every request answers success',
  );
  t.equal(
    answers.filter((answer) => answer.headers['idempotent-replayed'] !== 'true').length,
    1,
    'exactly one of them paid',
  );
  t.equal((await a.payouts(key)).length, 1, 'one payout on the books');
  t.same(await a.payouts(key), await b.payouts(key), 'both instances read the same books');
  t.equal((await lookup(b.http, key)).body.attempts, 20, 'attempts counted across instances');
});

t.test(
  'two instances deciding one key differently: the first verdict holds for both',
  async (t) => {
    const db = await createTestDatabase(t, 1);
    for (let round = 0; round < 5; round++) {
      const key = randomUUID();
      const refusing = await startInstance(t, db.url, [{ mode: 'refuse', key }]);
      const paying = await startInstance(t, db.url);
      const [refused, paid] = await Promise.all([refusing.pay(key), paying.pay(key)]);
      t.equal(refused.status, paid.status, `round ${round}: both answer the same verdict`);
      t.same(refused.body, paid.body);
      const verdict = (await lookup(paying.http, key)).body.status;
      t.equal(verdict, refused.status === 200 ? 'paid' : 'refused', 'the books say the same');
      await refusing.close();
      await paying.close();
    }
  },
);

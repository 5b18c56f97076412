// The HTTP API over real HTTP against a started server, read models in a real PostgreSQL: every
// example and error of the original service's documentation, and every error the API promises
// beyond it. A suite run once per event store adapter (see walletApiSuite's callers).
import { randomUUID } from 'node:crypto';
import type { Test } from 'tap';
import type { StackTarget, StartStack } from '../support/stack.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const future = (seconds: number) => new Date(Date.now() + seconds * 1000).toISOString();

/**
 * The wallet API suite on a stack of the given target (event store adapter). The same tests run
 * on every adapter: `test/api/wallets.e2e.test.ts` (PostgreSQL), `test/esdb/wallets.e2e.test.ts`.
 */
export function walletApiSuite(t: Test, target: StackTarget): void {
  t.test(`wallet API (${target.name})`, async (t) => {
    await walletApiTests(t, target.startStack);
  });
}

async function walletApiTests(t: Test, startStack: StartStack): Promise<void> {
  const { http, baseUrl } = await startStack(t);
  const createWallet = async (body?: unknown) => {
    const response = await http('POST', '/api/wallets/', body);
    t.equal(response.status, 201, 'wallet created');
    return response.body.uuid as string;
  };

  t.test('the original examples: create, deposit, deposit error, withdraw, retrieve', async (t) => {
    // `curl -X POST /api/wallets/ -H "Content-Type: application/json"`: a JSON content type, no body.
    const created = await http('POST', '/api/wallets/', undefined, {
      'content-type': 'application/json',
    });
    t.equal(created.status, 201);
    const wallet = created.body;
    t.match(wallet.uuid, UUID);
    t.equal(wallet.url, `${baseUrl}/api/wallets/${wallet.uuid}/`);
    t.equal(wallet.balance, '0.00');
    t.same(wallet.outgoing_transactions, []);
    t.same(wallet.incoming_transactions, []);
    t.ok(Date.parse(wallet.created) > 0 && wallet.created === wallet.updated);
    t.equal(created.headers.location, `/api/wallets/${wallet.uuid}/`);

    const deposit = await http('PATCH', `/api/wallets/${wallet.uuid}/deposit/`, {
      amount: '100.00',
    });
    t.equal(deposit.status, 200);
    t.equal(deposit.body.balance, '100.00');
    t.equal(deposit.body.created, wallet.created);
    t.ok(deposit.body.updated > wallet.updated, 'updated moves');

    const bad = await http('PATCH', `/api/wallets/${wallet.uuid}/deposit/`, { amount: '-50.00' });
    t.equal(bad.status, 400);
    t.same(bad.body, {
      amount: [
        'Positive value required, got -50.00.',
        'Ensure this value is greater than or equal to 0.01.',
      ],
    });

    const target = await createWallet();
    const scheduled = future(3600);
    const withdraw = await http('POST', `/api/wallets/${wallet.uuid}/withdraw/`, {
      amount: '50.00',
      target,
      scheduled_time: scheduled,
    });
    t.equal(withdraw.status, 201);
    t.equal(withdraw.body.balance, '100.00', 'not taken before it is due');
    const [transaction] = withdraw.body.outgoing_transactions;
    t.match(transaction, {
      uuid: UUID,
      amount: '50.00',
      scheduled_time: scheduled,
      status: 'PENDING',
      error_message: '',
      target,
    });
    t.equal(transaction.created, transaction.updated);

    const retrieved = await http('GET', `/api/wallets/${wallet.uuid}/?min_revision=2`);
    t.equal(retrieved.status, 200);
    t.same(retrieved.body, withdraw.body, 'GET shows exactly what the command answered');
    t.equal(retrieved.headers.etag, withdraw.headers.etag);
  });

  t.test('paths work with and without the trailing slash', async (t) => {
    const id = await createWallet();
    t.equal((await http('GET', `/api/wallets/${id}`)).status, 200);
    t.equal((await http('PATCH', `/api/wallets/${id}/deposit`, { amount: '1' })).status, 200);
    t.equal((await http('POST', '/api/wallets', {})).status, 201);
  });

  t.test('create: currency and owner; defaults; bad ones', async (t) => {
    const jpy = await http('POST', '/api/wallets/', { currency: 'JPY', owner: 'alice' });
    t.equal(jpy.body.currency, 'JPY');
    t.equal(jpy.body.owner, 'alice');
    t.equal(jpy.body.balance, '0');
    const deposit = await http('PATCH', `/api/wallets/${jpy.body.uuid}/deposit/`, {
      amount: '1.5',
    });
    t.same(deposit.body, { amount: ['Ensure that there are no more than 0 decimal places.'] });
    t.equal((await http('POST', '/api/wallets/', {})).body.currency, 'USD');
    const unknown = await http('POST', '/api/wallets/', { currency: 'XYZ' });
    t.equal(unknown.status, 400);
    t.same(unknown.body, { currency: ['"XYZ" is not a valid ISO 4217 currency code.'] });
    const lower = await http('POST', '/api/wallets/', { currency: 'usd' });
    t.equal(lower.status, 400);
    t.ok(lower.body.currency);
    const extra = await http('POST', '/api/wallets/', { balance: '1000000.00' });
    t.same(extra.body, { balance: ['Unknown field.'] }, 'no setting a balance');
  });

  t.test('unknown and malformed wallets are 404 with a detail, never 500', async (t) => {
    const unknown = randomUUID();
    for (const [method, path, body] of [
      ['GET', `/api/wallets/${unknown}/`],
      ['GET', '/api/wallets/not-a-uuid/'],
      ['PATCH', `/api/wallets/${unknown}/deposit/`, { amount: '1.00' }],
      ['PATCH', '/api/wallets/123/deposit/', { amount: '1.00' }],
      ['POST', `/api/wallets/${unknown}/withdraw/`, { amount: '1.00', delay: 5 }],
      ['GET', `/api/wallets/${unknown}/history/`],
      ['GET', `/api/wallets/${unknown}/transactions/`],
      ['POST', `/api/wallets/${unknown}/withdrawals/${randomUUID()}/cancel/`],
      ['GET', '/api/nothing-here/'],
    ] as const) {
      const response = await http(method, path, body);
      t.equal(response.status, 404, `${method} ${path}`);
      t.same(response.body, { detail: 'Not found.' });
    }
  });

  t.test(
    'bodies: malformed JSON, wrong content type, too large, not an object, unknown fields',
    async (t) => {
      const id = await createWallet();
      const path = `/api/wallets/${id}/deposit/`;
      const malformed = await http('PATCH', path, '{"amount": ', {
        'content-type': 'application/json',
      });
      t.equal(malformed.status, 400);
      t.match(malformed.body.detail, /^JSON parse error/);
      const text = await http('PATCH', path, 'amount=1', { 'content-type': 'text/plain' });
      t.equal(text.status, 415);
      t.same(text.body, { detail: 'Unsupported media type "text/plain" in request.' });
      const huge = await http('PATCH', path, { amount: '1', pad: 'x'.repeat(100_000) });
      t.equal(huge.status, 413);
      t.same(huge.body, { detail: 'Request body is too large.' });
      const list = await http('PATCH', path, [1, 2]);
      t.same(list.body, {
        non_field_errors: ['Invalid data. Expected a dictionary, but got list.'],
      });
      t.equal(list.status, 400);
      const missing = await http('PATCH', path, {});
      t.same(missing.body, { amount: ['This field is required.'] });
      const unknown = await http('PATCH', path, { amount: '1.00', currency: 'EUR' });
      t.same(unknown.body, { currency: ['Unknown field.'] });
      const form = await http('PATCH', path, 'amount=2.50', {
        'content-type': 'application/x-www-form-urlencoded',
      });
      t.equal(form.status, 200, 'form-encoded bodies, as the original accepted');
      t.equal(form.body.balance, '2.50');
      const proto = await http('PATCH', path, '{"amount": "1", "__proto__": {"x": 1}}', {
        'content-type': 'application/json',
      });
      t.equal(proto.status, 400, 'prototype poisoning refused');
    },
  );

  t.test(
    'amounts: every validation message of the original, no float drift, the upper bound',
    async (t) => {
      const id = await createWallet();
      const deposit = (amount: unknown) => http('PATCH', `/api/wallets/${id}/deposit/`, { amount });
      t.same((await deposit('abc')).body, { amount: ['A valid number is required.'] });
      t.same((await deposit(null)).body, { amount: ['A valid number is required.'] });
      t.same((await deposit({ v: 1 })).body, { amount: ['A valid number is required.'] });
      t.same((await deposit('1.001')).body, {
        amount: ['Ensure that there are no more than 2 decimal places.'],
      });
      t.same((await deposit('0')).body, {
        amount: [
          'Positive value required, got 0.00.',
          'Ensure this value is greater than or equal to 0.01.',
        ],
      });
      t.same((await deposit('1000000000000.01')).body, {
        amount: ['Ensure this value is less than or equal to 1000000000000.00.'],
      });
      for (let i = 0; i < 10; i++) await deposit(0.1);
      const after = await deposit('0.20');
      t.equal(after.body.balance, '1.20', 'ten deposits of 0.1 and one of 0.20 are exactly 1.20');
      const big = await deposit('1000000000000');
      t.equal(big.body.balance, '1000000000001.20', 'past the original 10-digit cap');
    },
  );

  t.test('withdraw: scheduled_time and delay rules', async (t) => {
    const id = await createWallet();
    const withdraw = (body: Record<string, unknown>) =>
      http('POST', `/api/wallets/${id}/withdraw/`, body);
    const past = await withdraw({ amount: '1', scheduled_time: '2020-01-01T00:00:00Z' });
    t.same(past.body, { scheduled_time: ['Scheduled time must be in the future.'] });
    const naive = await withdraw({ amount: '1', scheduled_time: '2999-01-01T00:00:00' });
    t.equal(naive.status, 400);
    t.match(naive.body.scheduled_time[0], /^Datetime has wrong format/);
    t.same((await withdraw({ amount: '1' })).body, { scheduled_time: ['This field is required.'] });
    const both = await withdraw({ amount: '1', delay: 5, scheduled_time: future(5) });
    t.same(both.body, { non_field_errors: ['Give either scheduled_time or delay, not both.'] });
    t.same((await withdraw({ amount: '1', delay: 0 })).body, {
      delay: ['Ensure the delay is greater than 0 seconds.'],
    });
    t.match(
      (await withdraw({ amount: '1', delay: 'soon' })).body.delay[0],
      /^Duration has wrong format/,
    );
    t.match(
      (await withdraw({ amount: '1', delay: true })).body.delay[0],
      /^Duration has wrong format/,
    );
    const tooFar = await withdraw({ amount: '1', scheduled_time: '2999-01-01T00:00:00+03:30' });
    t.same(tooFar.body, { scheduled_time: ['Scheduled time must be within 10 years.'] });
    t.same((await withdraw({ amount: '-1', delay: 5 })).body.amount, [
      'Positive value required, got -1.00.',
      'Ensure this value is greater than or equal to 0.01.',
    ]);

    const before = Date.now();
    const iso = await withdraw({ amount: '1.00', delay: 'PT1H30M' });
    t.equal(iso.status, 201);
    const due = Date.parse(iso.body.outgoing_transactions[0].scheduled_time);
    t.ok(due >= before + 5_400_000 && due <= Date.now() + 5_400_000, 'PT1H30M from now');
    const seconds = await withdraw({ amount: '1.00', delay: '90' });
    const due2 = Date.parse(seconds.body.outgoing_transactions[1].scheduled_time);
    t.ok(due2 >= before + 90_000 && due2 <= Date.now() + 90_000, '"90" seconds from now');
    const offset = await withdraw({ amount: '1.00', scheduled_time: '2030-06-01T08:00:00+03:30' });
    t.equal(offset.body.outgoing_transactions[2].scheduled_time, '2030-06-01T04:30:00.000Z');
  });

  t.test('withdraw: target must be another existing wallet of the same currency', async (t) => {
    const id = await createWallet();
    const withdraw = (target: unknown) =>
      http('POST', `/api/wallets/${id}/withdraw/`, { amount: '1.00', delay: 60, target });
    t.same((await withdraw(id)).body, {
      target: ['Target wallet must differ from the source wallet.'],
    });
    const ghost = randomUUID();
    t.same((await withdraw(ghost)).body, {
      target: [`Invalid pk "${ghost}" - object does not exist.`],
    });
    t.same((await withdraw('nope')).body, { target: ['Must be a valid UUID.'] });
    const euro = await http('POST', '/api/wallets/', { currency: 'EUR' });
    t.same((await withdraw(euro.body.uuid)).body, {
      target: ['Target wallet holds EUR, this wallet holds USD.'],
    });
    const ok = await withdraw(null);
    t.equal(ok.status, 201, 'null target: payout to the owner');
    t.equal(ok.body.outgoing_transactions[0].target, null);
  });

  t.test('cancel: only while pending; twice is fine; unknown withdrawal 404', async (t) => {
    const id = await createWallet();
    const scheduled = await http('POST', `/api/wallets/${id}/withdraw/`, {
      amount: '5.00',
      delay: 600,
    });
    const withdrawalId = scheduled.body.outgoing_transactions[0].uuid;
    const cancel = await http('POST', `/api/wallets/${id}/withdrawals/${withdrawalId}/cancel/`);
    t.equal(cancel.status, 200);
    t.equal(cancel.body.outgoing_transactions[0].status, 'CANCELLED');
    const again = await http('POST', `/api/wallets/${id}/withdrawals/${withdrawalId}/cancel/`);
    t.equal(again.status, 200);
    const unknown = await http('POST', `/api/wallets/${id}/withdrawals/${randomUUID()}/cancel/`);
    t.equal(unknown.status, 404);
  });

  t.test('Idempotency-Key: same request once, other request 409, bad keys 400', async (t) => {
    const id = await createWallet();
    const key = { 'idempotency-key': randomUUID() };
    const first = await http('PATCH', `/api/wallets/${id}/deposit/`, { amount: '10.00' }, key);
    const other = await http('PATCH', `/api/wallets/${id}/deposit/`, { amount: '1.00' });
    const again = await http('PATCH', `/api/wallets/${id}/deposit/`, { amount: '10.00' }, key);
    t.equal(again.status, 200);
    t.same(again.body, first.body, 'the first answer, not the current state');
    t.equal(other.body.balance, '11.00');
    const conflict = await http('PATCH', `/api/wallets/${id}/deposit/`, { amount: '99.00' }, key);
    t.equal(conflict.status, 409);
    t.same(conflict.body, {
      detail: 'This Idempotency-Key was already used with a different request.',
    });
    const current = await http('GET', `/api/wallets/${id}/?min_revision=2`);
    t.equal(current.body.balance, '11.00', 'the retry moved no money');

    const bad = await http(
      'PATCH',
      `/api/wallets/${id}/deposit/`,
      { amount: '1' },
      { 'idempotency-key': 'has space' },
    );
    t.equal(bad.status, 400);
    t.ok(bad.body['Idempotency-Key']);

    const createKey = { 'idempotency-key': randomUUID() };
    const c1 = await http('POST', '/api/wallets/', { owner: 'x' }, createKey);
    const c2 = await http('POST', '/api/wallets/', { owner: 'x' }, createKey);
    t.equal(c1.status, 201);
    t.equal(c2.status, 201);
    t.equal(c2.body.uuid, c1.body.uuid, 'a retried create finds the same wallet');
    const c3 = await http('POST', '/api/wallets/', { owner: 'y' }, createKey);
    t.equal(c3.status, 409);

    const w1 = await http(
      'POST',
      `/api/wallets/${id}/withdraw/`,
      { amount: '1.00', delay: 60 },
      key,
    );
    t.equal(
      w1.status,
      409,
      'a key is per wallet and per request: reusing it for a withdrawal conflicts',
    );
    const wkey = { 'idempotency-key': randomUUID() };
    const s1 = await http(
      'POST',
      `/api/wallets/${id}/withdraw/`,
      { amount: '1.00', delay: 60 },
      wkey,
    );
    const s2 = await http(
      'POST',
      `/api/wallets/${id}/withdraw/`,
      { amount: '1.00', delay: 60 },
      wkey,
    );
    t.same(s2.body, s1.body, 'a retried withdrawal with a delay is not scheduled twice');
    t.equal(s2.body.outgoing_transactions.length, 1);
  });

  t.test('the same keyed deposit sent 30 times at once has its effect once', async (t) => {
    const id = await createWallet();
    const key = { 'idempotency-key': randomUUID() };
    const responses = await Promise.all(
      Array.from({ length: 30 }, () =>
        http('PATCH', `/api/wallets/${id}/deposit/`, { amount: '7.00' }, key),
      ),
    );
    t.ok(responses.every((r) => r.status === 200 && r.body.balance === '7.00'));
    const history = await http('GET', `/api/wallets/${id}/history/`);
    t.equal(history.body.events.filter((e: { type: string }) => e.type === 'Deposited').length, 1);
  });

  t.test('50 concurrent deposits over HTTP: the balance is their exact sum', async (t) => {
    const id = await createWallet();
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        http('PATCH', `/api/wallets/${id}/deposit/`, { amount: `${i + 1}.01` }),
      ),
    );
    t.ok(responses.every((r) => r.status === 200));
    const wallet = await http('GET', `/api/wallets/${id}/?min_revision=50`);
    t.equal(wallet.body.balance, '1275.50', 'sum of 1.01 .. 50.01');
  });

  t.test('ETag, If-None-Match and read-your-writes', async (t) => {
    const id = await createWallet();
    const deposit = await http('PATCH', `/api/wallets/${id}/deposit/`, { amount: '3.00' });
    t.equal(deposit.headers.etag, '"1"');
    const read = await http('GET', `/api/wallets/${id}/`, undefined, { 'if-none-match': '"1"' });
    t.equal(read.status, 304, 'the client already holds revision 1');
    const older = await http('GET', `/api/wallets/${id}/`, undefined, { 'if-none-match': '"0"' });
    t.equal(older.status, 200);
    t.equal(older.body.balance, '3.00');
    const ahead = await http('GET', `/api/wallets/${id}/?min_revision=1`);
    t.equal(ahead.body.balance, '3.00');
  });

  t.test('If-None-Match with several ETags: any current one is a 304', async (t) => {
    const id = await createWallet();
    await http('PATCH', `/api/wallets/${id}/deposit/`, { amount: '3.00' });
    const read = await http('GET', `/api/wallets/${id}/`, undefined, {
      'if-none-match': '"1", "9"',
    });
    t.equal(read.status, 304);
  });

  t.test('as of a past moment, by replaying the stream', async (t) => {
    const id = await createWallet();
    await http('PATCH', `/api/wallets/${id}/deposit/`, { amount: '1.00' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const between = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await http('PATCH', `/api/wallets/${id}/deposit/`, { amount: '2.00' });
    const then = await http('GET', `/api/wallets/${id}/?at=${encodeURIComponent(between)}`);
    t.equal(then.status, 200);
    t.equal(then.body.balance, '1.00');
    const before = await http('GET', `/api/wallets/${id}/?at=2000-01-01T00:00:00Z`);
    t.equal(before.status, 404);
    const bad = await http('GET', `/api/wallets/${id}/?at=yesterday`);
    t.equal(bad.status, 400);
    t.match(bad.body.at[0], /^Datetime has wrong format/);
    // Unknown query parameters are ignored, as the original ignored them (a cache-buster).
    const unknownParam = await http('GET', `/api/wallets/${id}/?_=1716`);
    t.equal(unknownParam.status, 200);
    t.equal(unknownParam.body.uuid, id);
  });

  t.test('history: every event in order with revision, position and time', async (t) => {
    const id = await createWallet();
    await http('PATCH', `/api/wallets/${id}/deposit/`, { amount: '4.00' });
    await http('POST', `/api/wallets/${id}/withdraw/`, { amount: '1.00', delay: 60 });
    const history = await http('GET', `/api/wallets/${id}/history/`);
    t.equal(history.status, 200);
    t.same(
      history.body.events.map((e: { type: string; revision: number }) => [e.type, e.revision]),
      [
        ['WalletCreated', 0],
        ['Deposited', 1],
        ['WithdrawalScheduled', 2],
      ],
    );
    t.match(history.body.events[1], {
      position: { commit: /^\d+$/, prepare: /^\d+$/ },
      recorded_at: String,
      data: { amount: '4.00' },
    });
    const page = await http('GET', `/api/wallets/${id}/history/?limit=2`);
    t.equal(page.body.events.length, 2);
    t.ok(page.body.next);
    const rest = await http(
      'GET',
      new URL(page.body.next).pathname + new URL(page.body.next).search,
    );
    t.same(
      rest.body.events.map((e: { revision: number }) => e.revision),
      [2],
    );
    t.equal(rest.body.next, null);
  });

  t.test('transactions: newest first, filters, cursor pagination', async (t) => {
    const id = await createWallet();
    for (let i = 1; i <= 5; i++)
      await http('PATCH', `/api/wallets/${id}/deposit/`, { amount: `${i}.00` });
    await http('POST', `/api/wallets/${id}/withdraw/`, { amount: '1.00', delay: 60 });
    const all = await http('GET', `/api/wallets/${id}/transactions/?min_revision=6`);
    t.same(
      all.body.results.map((r: { amount: string }) => r.amount),
      ['1.00', '5.00', '4.00', '3.00', '2.00', '1.00'],
    );
    t.equal(all.body.next, null);
    const deposits = await http('GET', `/api/wallets/${id}/transactions/?kind=deposit&limit=2`);
    t.same(
      deposits.body.results.map((r: { amount: string }) => r.amount),
      ['5.00', '4.00'],
    );
    const next = new URL(deposits.body.next);
    const second = await http('GET', next.pathname + next.search);
    t.same(
      second.body.results.map((r: { amount: string }) => r.amount),
      ['3.00', '2.00'],
    );
    const pending = await http('GET', `/api/wallets/${id}/transactions/?status=PENDING`);
    t.equal(pending.body.results.length, 1);
    t.equal(pending.body.results[0].kind, 'withdrawal');
    t.equal((await http('GET', `/api/wallets/${id}/transactions/?limit=0`)).status, 400);
    t.equal((await http('GET', `/api/wallets/${id}/transactions/?status=DONE`)).status, 400);
    const badCursor = await http('GET', `/api/wallets/${id}/transactions/?cursor=zzz`);
    t.same(badCursor.body, { cursor: ['Invalid cursor.'] });
  });

  t.test('operations: health, readiness, metrics, OpenAPI', async (t) => {
    t.same((await http('GET', '/health')).body, { status: 'ok' });
    const ready = await http('GET', '/ready');
    t.equal(ready.status, 200);
    t.match(ready.body, {
      status: 'ready',
      database: 'ok',
      event_store: 'ok',
      projection: { lag_ms: Number, last_batch_at: String },
    });
    const metrics = await http('GET', '/metrics');
    t.match(
      metrics.text,
      /http_requests_total\{method="PATCH",route="\/api\/wallets\/:id\/deposit\/",status="200"\}/,
    );
    t.match(metrics.text, /projector_lag_seconds/);
    const openapi = await http('GET', '/docs/json');
    t.equal(openapi.status, 200);
    t.ok(openapi.body.paths['/api/wallets/{id}/deposit/'], 'the deposit endpoint is documented');
    const ui = await http('GET', '/docs/');
    t.equal(ui.status, 200);
    t.match(ui.text, /swagger/i);
  });

  t.test('text that cannot be stored is a 400 on its field', async (t) => {
    const json = { 'content-type': 'application/json' };
    const nul = await http('POST', '/api/wallets/', '{"owner":"a\\u0000b"}', json);
    t.equal(nul.status, 400);
    t.same(nul.body, { owner: ['Null characters are not allowed.'] });
    const surrogate = await http('POST', '/api/wallets/', '{"owner":"\\ud800"}', json);
    t.equal(surrogate.status, 400);
    t.same(surrogate.body, { owner: ['Surrogate characters are not allowed: U+D800.'] });
    const form = await http('POST', '/api/wallets/', 'owner=a%00b', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    t.equal(form.status, 400);
    t.same(form.body, { owner: ['Null characters are not allowed.'] });
  });

  t.test('JSON numbers are read by their exact text, never through a float', async (t) => {
    const id = await createWallet();
    const deposit = (text: string) =>
      http('PATCH', `/api/wallets/${id}/deposit/`, `{"amount":${text}}`, {
        'content-type': 'application/json',
      });
    const places = { amount: ['Ensure that there are no more than 2 decimal places.'] };
    // As floats, these would be 10, 0.01 and 123456789012.01: each has too many places.
    t.same((await deposit('10.000')).body, places);
    t.same((await deposit('0.009999999999999999999')).body, places);
    t.same((await deposit('123456789012.00999999')).body, places);
    t.equal((await deposit('12.5')).body.balance, '12.50');
    t.equal((await deposit('1.5e1')).body.balance, '27.50', 'an exponent moves the point exactly');
    t.same((await deposit('1e400')).body, { amount: ['A valid number is required.'] });
  });

  t.test('no type coercion: lists and booleans are not strings or numbers', async (t) => {
    const id = await createWallet();
    const list = await http('PATCH', `/api/wallets/${id}/deposit/`, { amount: ['7'] });
    t.equal(list.status, 400);
    t.same(list.body, { amount: ['A valid number is required.'] });
    const owner = await http('POST', '/api/wallets/', { owner: true });
    t.equal(owner.status, 400);
    t.same(Object.keys(owner.body), ['owner']);
    const delay = await http('POST', `/api/wallets/${id}/withdraw/`, { amount: '1', delay: [5] });
    t.equal(delay.status, 400);
    t.same(Object.keys(delay.body), ['delay']);
    const limit = await http('GET', `/api/wallets/${id}/transactions/?limit=1e1`);
    t.same(limit.body, { limit: ['A valid integer is required.'] });
    const tooMany = await http('GET', `/api/wallets/${id}/history/?limit=10001`);
    t.same(tooMany.body, { limit: ['Ensure this value is less than or equal to 10000.'] });
    const huge = await http('GET', `/api/wallets/${id}/transactions/?limit=1000000000000`);
    t.same(huge.body, { limit: ['Ensure this value is less than or equal to 100.'] });
    const zero = await http('GET', `/api/wallets/${id}/transactions/?limit=0`);
    t.same(zero.body, { limit: ['Ensure this value is greater than or equal to 1.'] });
  });

  t.test('dates the calendar does not have, tiny delays, odd field names', async (t) => {
    const id = await createWallet();
    await http('PATCH', `/api/wallets/${id}/deposit/`, { amount: '5.00' });
    const feb30 = await http('POST', `/api/wallets/${id}/withdraw/`, {
      amount: '1.00',
      scheduled_time: '2030-02-30T10:00:00Z',
    });
    t.equal(feb30.status, 400);
    t.same(Object.keys(feb30.body), ['scheduled_time']);
    const at = await http('GET', `/api/wallets/${id}/?at=2026-02-30T00:00:00Z`);
    t.equal(at.status, 400);
    t.same(Object.keys(at.body), ['at']);
    const tiny = await http('POST', `/api/wallets/${id}/withdraw/`, { amount: '1', delay: 0.0004 });
    t.same(tiny.body, { delay: ['Ensure the delay is at least 0.001 seconds.'] });
    const far = await http('POST', `/api/wallets/${id}/withdraw/`, '{"amount":"1","delay":1e300}', {
      'content-type': 'application/json',
    });
    t.same(far.body, { delay: ['Ensure the delay is at most 10 years.'] });
    const negative = await http('POST', `/api/wallets/${id}/withdraw/`, { amount: '1', delay: -5 });
    t.same(negative.body, { delay: ['Ensure the delay is greater than 0 seconds.'] });
    const proto = await http('PATCH', `/api/wallets/${id}/deposit/`, '__proto__=x&amount=1', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    t.equal(proto.status, 400);
    t.equal(proto.text, '{"__proto__":["Unknown field."]}');
    const history = await http('GET', `/api/wallets/${randomUUID()}/history/?from_revision=1`);
    t.equal(history.status, 404, 'an unknown wallet has no history page, whatever the start');
  });

  t.test('wrong methods are 405, unroutable URLs 404, a cancel takes no fields', async (t) => {
    const id = await createWallet();
    const put = await http('PUT', `/api/wallets/${id}/`, { amount: '1' });
    t.equal(put.status, 405);
    t.same(put.body, { detail: 'Method "PUT" not allowed.' });
    t.match(put.headers.allow, /GET/);
    const putBroken = await http('PUT', `/api/wallets/${id}/deposit/`, '{bad', {
      'content-type': 'application/json',
    });
    t.equal(putBroken.status, 405, 'the method is wrong whatever the body');
    const numericKey = await http('PATCH', `/api/wallets/${id}/deposit/`, '{1:2}', {
      'content-type': 'application/json',
    });
    t.equal(numericKey.status, 400);
    t.match(numericKey.body.detail, /^JSON parse error/);
    const getDeposit = await http('GET', `/api/wallets/${id}/deposit`);
    t.equal(getDeposit.status, 405);
    t.equal(getDeposit.headers.allow, 'PATCH');
    const long = await http('GET', `/api/wallets/${'x'.repeat(300)}/`);
    t.equal(long.status, 404);
    t.same(long.body, { detail: 'Not found.' });
    const badEncoding = await http('GET', '/api/wallets/%E0%A4%A/');
    t.equal(badEncoding.status, 404);
    t.same(badEncoding.body, { detail: 'Not found.' });
    const cancel = await http('POST', `/api/wallets/${id}/withdrawals/${randomUUID()}/cancel/`, {
      x: 1,
    });
    t.equal(cancel.status, 400);
    t.same(cancel.body, { x: ['Unknown field.'] });
  });

  t.test('random garbage never yields a 500', async (t) => {
    const id = await createWallet();
    const bodies = [
      '{',
      '[]',
      'null',
      '"x"',
      '1',
      '{"amount":{}}',
      '{"amount":[1]}',
      '{"amount":"1e400"}',
      '{"amount":"99999999999999999999999999999"}',
      '\u0000',
      '{"delay":"P","amount":"1"}',
      '{"amount":"1","target":1}',
      '{"amount":"1","scheduled_time":"9999-99-99T99:99:99Z"}',
    ];
    const statuses = new Set<number>();
    for (const body of bodies) {
      for (const path of [
        `/api/wallets/${id}/deposit/`,
        `/api/wallets/${id}/withdraw/`,
        '/api/wallets/',
      ]) {
        const method = path.endsWith('deposit/') ? 'PATCH' : 'POST';
        const response = await http(method, path, body, { 'content-type': 'application/json' });
        statuses.add(response.status);
        if (response.status >= 500)
          t.fail(`${method} ${path} ${body}: ${response.status} ${response.text}`);
        t.notMatch(response.text, /at .*\.ts:\d+/, 'no stack trace');
      }
    }
    t.ok(
      [...statuses].every((s) => s < 500),
      `statuses seen: ${[...statuses].sort().join(', ')}`,
    );
  });
}

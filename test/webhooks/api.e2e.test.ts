// The webhook routes over real HTTP: registration and its answer (the secret once), validation in
// the original's 400 shape, targets refused (SSRF), owners seeing only their own endpoints, the
// scope, pause and resume, rotation, delete, the endpoint cap, AUTH=off.
import t from 'tap';
import { MAX_ENDPOINTS_PER_OWNER } from '../../src/webhooks/routes.ts';
import { httpClient } from '../support/stack.ts';
import { assertRefusal, REFUSED_TARGETS } from './refusedTargets.ts';
import { startWebhookStack } from './support.ts';

t.test('register, read, change, pause, rotate, delete', async (t) => {
  const stack = await startWebhookStack(t, { notify: false });
  const { http } = stack;
  const created = await http('POST', '/api/webhooks', {
    url: 'http://127.0.0.1:9/hooks',
    events: ['Deposited', 'WithdrawalFailed', 'Deposited'],
    description: 'ledger events',
  });
  t.equal(created.status, 201);
  t.match(created.body, {
    id: /^[0-9a-f-]{36}$/,
    url: 'http://127.0.0.1:9/hooks',
    events: ['Deposited', 'WithdrawalFailed'],
    description: 'ledger events',
    owner: null,
    enabled: true,
    disabled_reason: null,
    secret: /^whsec_[A-Za-z0-9+/]+=*$/,
    created: /^\d{4}-\d\d-\d\dT/,
  });
  t.ok(
    Buffer.from(created.body.secret.slice(6), 'base64').length >= 24,
    'at least 24 random bytes',
  );
  t.match(created.headers.location, new RegExp(`/api/webhooks/${created.body.id}$`));
  const { id, secret } = created.body;

  const one = await http('GET', `/api/webhooks/${id}`);
  t.equal(one.status, 200);
  t.notOk('secret' in one.body, 'the secret is shown once');
  t.notMatch(one.text, secret.slice(6));
  const list = await http('GET', '/api/webhooks');
  t.same(
    list.body.results.map((e: { id: string }) => e.id),
    [id],
  );
  t.notMatch(list.text, 'whsec_');
  const { rows } = await stack.db.pool.query('select secret from webhooks.endpoints');
  t.match(rows[0].secret, /^plain:/, 'stored as it is without WEBHOOK_SECRET_KEY');

  const paused = await http('PATCH', `/api/webhooks/${id}`, { enabled: false, events: null });
  t.match(paused.body, { enabled: false, events: null, disabled_reason: null });
  const resumed = await http('PATCH', `/api/webhooks/${id}`, { enabled: true, description: 'x' });
  t.match(resumed.body, { enabled: true, description: 'x', events: null });

  const rotated = await http('POST', `/api/webhooks/${id}/rotate-secret`);
  t.equal(rotated.status, 200);
  t.match(rotated.body.secret, /^whsec_/);
  t.not(rotated.body.secret, secret);
  const expires = Date.parse(rotated.body.previous_secret_expires);
  t.ok(
    Math.abs(expires - Date.now() - 24 * 3_600_000) < 60_000,
    'the old secret signs for 24 h more',
  );

  t.equal((await http('DELETE', `/api/webhooks/${id}`)).status, 204);
  t.equal((await http('GET', `/api/webhooks/${id}`)).status, 404);
  t.equal((await http('DELETE', `/api/webhooks/${id}`)).status, 404);
  t.same((await http('GET', '/api/webhooks')).body.results, []);
  const { rows: gone } = await stack.db.pool.query(
    'select secret, previous_secret from webhooks.endpoints',
  );
  t.same(gone, [{ secret: null, previous_secret: null }], 'a deleted endpoint keeps no secret');
  t.equal((await http('GET', '/api/webhooks/not-a-uuid')).status, 404);
});

t.test('validation: the original 400 shape, field by field', async (t) => {
  const stack = await startWebhookStack(t, { notify: false });
  const post = async (body: unknown) => {
    const response = await stack.http('POST', '/api/webhooks', body);
    t.equal(response.status, 400, JSON.stringify(body));
    return response.body;
  };
  t.same(await post({}), { url: ['This field is required.'] });
  t.same(await post({ url: 'http://127.0.0.1:9/', events: ['Deposited', 'Nope'] }), {
    events: [
      '"Nope" is not an event type (WalletCreated, Deposited, WithdrawalScheduled, WithdrawalStarted, WithdrawalPayoutRequested, WithdrawalAttemptFailed, WithdrawalSucceeded, WithdrawalFailed, WithdrawalAwaitingSettlement, WithdrawalOutcomeConflict, WithdrawalCancelled, TransferReceived).',
    ],
  });
  t.same(await post({ url: 'http://127.0.0.1:9/', events: [] }), {
    events: ['Give at least one event type, or leave "events" out for all of them.'],
  });
  t.same(await post({ url: 'http://127.0.0.1:9/', secret: 'mine' }), {
    secret: ['Unknown field.'],
  });
  t.same(await post({ url: 'not a url' }), { url: ['Enter a valid URL.'] });
  t.same(await post({ url: 7 }), { url: ['Enter a valid URL.'] });
  t.same(await post({ url: ['http://127.0.0.1:9/'] }), {
    url: ['Enter a valid URL of at most 2048 characters.'],
  });
  t.same(await post({ url: 'http://127.0.0.1:9/', events: 'Deposited' }), {
    events: ['Must be a list of at most 50 event types, or null for all.'],
  });
  t.same(await post({ url: 'http://127.0.0.1:9/', description: 'x'.repeat(501) }), {
    description: ['Must be a string of at most 500 characters.'],
  });
  t.same(await post([]), {
    non_field_errors: ['Invalid data. Expected a dictionary, but got list.'],
  });
  const patch = await stack.http(
    'PATCH',
    `/api/webhooks/${(await stack.register(stack.http, { url: 'http://127.0.0.1:9/' })).id}`,
    {
      enabled: 'yes',
    },
  );
  t.equal(patch.status, 400);
  t.same(patch.body, { enabled: ['Must be true or false.'] });
});

t.test(
  'refused targets: scheme, loopback, metadata, a name that resolves to loopback',
  async (t) => {
    const stack = await startWebhookStack(t, {
      env: { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'false' },
      notify: false,
    });
    const refused = async (url: string) => {
      const response = await stack.http('POST', '/api/webhooks', { url });
      t.equal(response.status, 400, url);
      return response.body.url?.[0] as string;
    };
    for (const row of REFUSED_TARGETS) assertRefusal(t, row, await refused(row[0]));
    t.match(
      await refused('http://localhost:3000/hooks'),
      /^The host "localhost" resolves to (127\.0\.0\.1|::1), a loopback address/,
    );
    t.match(
      await refused('http://nothing.invalid/'),
      /^The host "nothing\.invalid" does not resolve\.$/,
    );
    const id = (await stack.register(stack.http, { url: 'https://93.184.215.14/hooks' })).id;
    const patched = await stack.http('PATCH', `/api/webhooks/${id}`, { url: 'http://127.0.0.2/' });
    t.equal(patched.status, 400, 'a change is checked too');
    t.match(patched.body.url[0], /127\.0\.0\.2 is a loopback address/);
    const { rows } = await stack.db.pool.query('select count(*)::int as n from webhooks.endpoints');
    t.equal(rows[0].n, 1, 'only the public one was stored');
  },
);

t.test('owners see their own endpoints only; the scope; operators see all', async (t) => {
  const stack = await startWebhookStack(t, { notify: false });
  const alice = await stack.ownerClient('alice');
  const bob = await stack.ownerClient('bob');
  const reader = await stack.ownerClient('carol', ['wallets:read']);
  const mine = await stack.register(alice, { url: 'http://127.0.0.1:9/a' });
  const bobs = await stack.register(bob, { url: 'http://127.0.0.1:9/b' });
  const operators = await stack.register(stack.http, { url: 'http://127.0.0.1:9/o' });
  t.match((await alice('GET', `/api/webhooks/${mine.id}`)).body, { owner: 'alice' });
  t.same(
    (await alice('GET', '/api/webhooks')).body.results.map((e: { id: string }) => e.id),
    [mine.id],
  );
  for (const [method, path, body] of [
    ['GET', `/api/webhooks/${bobs.id}`],
    ['PATCH', `/api/webhooks/${bobs.id}`, { enabled: false }],
    ['POST', `/api/webhooks/${bobs.id}/rotate-secret`],
    ['GET', `/api/webhooks/${bobs.id}/deliveries`],
    ['DELETE', `/api/webhooks/${bobs.id}`],
    ['GET', `/api/webhooks/${operators.id}`],
  ] as const) {
    t.equal((await alice(method, path, body)).status, 404, `alice: ${method} ${path}: as unknown`);
  }
  t.match(
    (await bob('GET', `/api/webhooks/${bobs.id}`)).body,
    { enabled: true },
    "bob's is untouched",
  );
  t.equal(
    (await stack.http('GET', '/api/webhooks')).body.results.length,
    3,
    'the operator sees all',
  );
  t.equal(
    (await stack.http('PATCH', `/api/webhooks/${mine.id}`, { description: 'by op' })).status,
    200,
  );
  const refused = await reader('GET', '/api/webhooks');
  t.equal(refused.status, 403);
  t.same(refused.body, { detail: 'This key does not have the "webhooks:write" scope.' });
  t.equal((await httpClient(stack.baseUrl)('GET', '/api/webhooks')).status, 401);
});

t.test('at most 50 endpoints per owner', async (t) => {
  const stack = await startWebhookStack(t, { notify: false });
  const alice = await stack.ownerClient('alice');
  for (let i = 0; i < MAX_ENDPOINTS_PER_OWNER; i++)
    await stack.register(alice, { url: `http://127.0.0.1:9/${i}` });
  const over = await alice('POST', '/api/webhooks', { url: 'http://127.0.0.1:9/x' });
  t.equal(over.status, 409);
  t.match(over.body.detail, /At most 50 webhook endpoints per owner/);
  t.equal(
    (await stack.register(await stack.ownerClient('bob'), { url: 'http://127.0.0.1:9/b' })).id
      .length,
    36,
    'bob has his own 50',
  );
});

t.test('secrets sealed with WEBHOOK_SECRET_KEY; AUTH=off registers for every wallet', async (t) => {
  const stack = await startWebhookStack(t, {
    env: { AUTH: 'off', WEBHOOK_SECRET_KEY: Buffer.alloc(32, 3).toString('base64') },
    notify: false,
  });
  const open = httpClient(stack.baseUrl);
  const created = await open('POST', '/api/webhooks', { url: 'http://127.0.0.1:9/' });
  t.equal(created.status, 201);
  t.match(created.body, { owner: null });
  const { rows } = await stack.db.pool.query('select secret from webhooks.endpoints');
  t.match(rows[0].secret, /^aes256gcm:/);
  t.notMatch(rows[0].secret, created.body.secret.slice(6, 30));
});

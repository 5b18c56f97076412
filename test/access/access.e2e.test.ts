// Who may call the API, over real HTTP on real PostgreSQL: the authorization matrix (every route
// x every kind of caller), the key routes, rate limits and revocation across two API instances on
// one database, the operator allow-list, the access log, AUTH=off, security headers and CORS.
import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { Client } from 'undici';
import { newApiKey } from '../../src/access/apiKeys.ts';
import { startApi } from '../../src/cli/runtime.ts';
import { bearer, makeKey } from '../support/ledgerApi.ts';
import { pollUntil } from '../support/poll.ts';
import {
  type Http,
  type HttpResponse,
  httpClient,
  type Stack,
  startStack,
} from '../support/stack.ts';

/** Another API instance on the stack's database (as `npm run cli -- serve` beside it). */
async function anotherApi(t: Test, stack: Stack, now?: () => number) {
  const api = await startApi(stack.runtime, 0, now ? { now } : {});
  t.teardown(() => api.stop());
  const baseUrl = (api.url as string).replace('localhost', '127.0.0.1');
  return (key?: string) => httpClient(baseUrl, key ? bearer(key) : {});
}

/** What a refused request must leave as it was: every event, every key. */
async function ledgerState(stack: Stack): Promise<string> {
  const { rows } = await stack.db.pool.query(
    `select (select count(*) from events) as events,
            (select count(*) from access.api_keys) as keys,
            (select count(*) from access.api_keys where revoked_at is not null) as revoked`,
  );
  return JSON.stringify(rows[0]);
}

async function refusedCounts(http: Http): Promise<Record<string, number>> {
  const { text } = await http('GET', '/metrics');
  const counts: Record<string, number> = {};
  for (const [, reason, value] of text.matchAll(
    /^wallet_http_refused_total\{reason="(\w+)"\} (\d+)/gm,
  ))
    counts[reason as string] = Number(value);
  return counts;
}

/** Deposits in a wallet's stream (its history, not the read model: no projection lag). */
async function deposits(http: Http, walletId: string): Promise<number> {
  const { body } = await http('GET', `/api/wallets/${walletId}/history/`);
  return body.events.filter((e: { type: string }) => e.type === 'Deposited').length;
}

type Need = { scope: 'wallets:read' | 'wallets:write' | 'withdrawals:write' } | 'operator';
interface Route {
  readonly name: string;
  readonly need: Need;
  /** The status when allowed. */
  readonly ok: number;
  /** Sends the request; `prepare` (run as the operator, before) gives what it needs. */
  readonly send: (http: Http, prepared: string) => Promise<HttpResponse>;
  readonly prepare?: () => Promise<string>;
}

t.test('authorization matrix: every route x every kind of caller', async (t) => {
  const stack = await startStack(t, {
    env: {
      TRUST_PROXY: 'true',
      OPERATOR_ALLOWED_CIDRS: '127.0.0.0/8,::1',
      RATE_LIMIT_ANONYMOUS: '100000',
    },
  });
  const operator = stack.http;
  const ownerA = await makeKey(stack, { owner: 'alice', name: 'A' });
  const ownerB = await makeKey(stack, { owner: 'bob', name: 'B' });
  const readOnly = await makeKey(stack, { owner: 'alice', scopes: ['wallets:read'] });
  const revoked = await makeKey(stack, { owner: 'alice' });
  t.equal((await operator('DELETE', `/api/keys/${revoked.id}`)).status, 204);
  const walletA = (await operator('POST', '/api/wallets/', { owner: 'alice' })).body.uuid;
  await operator('PATCH', `/api/wallets/${walletA}/deposit/`, { amount: '100.00' });
  const pendingWithdrawal = async () => {
    const made = await operator('POST', `/api/wallets/${walletA}/withdraw/`, {
      amount: '1.00',
      delay: 3600,
    });
    return made.body.outgoing_transactions.at(-1).uuid as string;
  };
  const read = { scope: 'wallets:read' } as const;
  const write = { scope: 'wallets:write' } as const;
  const withdraw = { scope: 'withdrawals:write' } as const;
  const w = `/api/wallets/${walletA}`;
  const routes: Route[] = [
    {
      name: 'POST /api/wallets/',
      need: write,
      ok: 201,
      send: (h) => h('POST', '/api/wallets/', {}),
    },
    { name: 'GET wallet', need: read, ok: 200, send: (h) => h('GET', `${w}/`) },
    {
      name: 'PATCH deposit',
      need: write,
      ok: 200,
      send: (h) => h('PATCH', `${w}/deposit/`, { amount: '1.00' }),
    },
    {
      name: 'POST withdraw',
      need: withdraw,
      ok: 201,
      send: (h) => h('POST', `${w}/withdraw/`, { amount: '1.00', delay: 3600 }),
    },
    {
      name: 'POST cancel',
      need: withdraw,
      ok: 200,
      prepare: pendingWithdrawal,
      send: (h, id) => h('POST', `${w}/withdrawals/${id}/cancel/`),
    },
    { name: 'GET transactions', need: read, ok: 200, send: (h) => h('GET', `${w}/transactions/`) },
    { name: 'GET history', need: read, ok: 200, send: (h) => h('GET', `${w}/history/`) },
    {
      name: 'POST /api/keys',
      need: 'operator',
      ok: 201,
      send: (h) => h('POST', '/api/keys', { owner: 'carol' }),
    },
    { name: 'GET /api/keys', need: 'operator', ok: 200, send: (h) => h('GET', '/api/keys') },
    {
      name: 'DELETE /api/keys/<id>',
      need: 'operator',
      ok: 204,
      prepare: async () => (await makeKey(stack, { owner: 'victim' })).id,
      send: (h, id) => h('DELETE', `/api/keys/${id}`),
    },
    {
      name: 'GET /api/audit/access',
      need: 'operator',
      ok: 200,
      send: (h) => h('GET', '/api/audit/access'),
    },
  ];

  const NO_CREDENTIALS = { status: 401, detail: 'Authentication credentials were not provided.' };
  const INVALID = { status: 401, detail: 'Invalid token.' };
  const callers: {
    name: string;
    headers: Record<string, string>;
    expect: (route: Route) => { status: number; detail?: string | RegExp };
  }[] = [
    { name: 'no key', headers: {}, expect: () => NO_CREDENTIALS },
    {
      name: 'malformed',
      headers: { authorization: 'Basic YWxpY2U6c2VjcmV0' },
      expect: () => NO_CREDENTIALS,
    },
    { name: 'unknown key', headers: bearer(newApiKey()), expect: () => INVALID },
    { name: 'revoked key', headers: bearer(revoked.key), expect: () => INVALID },
    {
      name: 'owner A (all scopes) on A’s wallet',
      headers: bearer(ownerA.key),
      expect: (r) =>
        r.need === 'operator'
          ? { status: 403, detail: 'This action needs an operator key.' }
          : { status: r.ok },
    },
    {
      name: 'read-only key (wallets:read)',
      headers: bearer(readOnly.key),
      expect: (r) =>
        r.need === 'operator'
          ? { status: 403, detail: 'This action needs an operator key.' }
          : r.need.scope === 'wallets:read'
            ? { status: r.ok }
            : { status: 403, detail: new RegExp(`"${r.need.scope}" scope`) },
    },
    { name: 'operator', headers: bearer(stack.operatorKey), expect: (r) => ({ status: r.ok }) },
    {
      name: 'operator from a refused address',
      headers: { ...bearer(stack.operatorKey), 'x-forwarded-for': '203.0.113.7' },
      expect: () => ({ status: 403, detail: 'Operator keys are not accepted from this address.' }),
    },
  ];
  // Owner B on A's wallet: every wallet route answers as for an unknown wallet (no existence
  // oracle), and nothing changes; B may still make wallets of its own.
  callers.push({
    name: 'owner B on A’s wallet',
    headers: bearer(ownerB.key),
    expect: (r) =>
      r.need === 'operator'
        ? { status: 403, detail: 'This action needs an operator key.' }
        : r.name === 'POST /api/wallets/'
          ? { status: 201 }
          : { status: 404, detail: 'Not found.' },
  });

  const plain = httpClient(stack.baseUrl);
  const metricsBefore = await refusedCounts(operator);
  let refused = 0;
  for (const caller of callers) {
    for (const route of routes) {
      const prepared = route.prepare ? await route.prepare() : '';
      const before = await ledgerState(stack);
      const response = await route.send(
        (method, path, body, headers) =>
          plain(method, path, body, { ...caller.headers, ...headers }),
        prepared,
      );
      const expected = caller.expect(route);
      const cell = `${caller.name} | ${route.name}: ${expected.status}`;
      t.equal(response.status, expected.status, cell);
      if (expected.status >= 400) {
        if ([401, 403, 429].includes(expected.status)) refused++;
        if (expected.detail) t.match(response.body?.detail, expected.detail, `${cell} detail`);
        t.equal(await ledgerState(stack), before, `${cell}: nothing changed`);
        if (expected.status === 401) t.equal(response.headers['www-authenticate'], 'Bearer');
        t.notOk(/at .*\(/.test(response.text), 'no stack trace');
      }
    }
  }

  // Every refusal is in the access log (batched: it arrives within a second or so) and counted.
  const logged = await pollUntil('the access log holds every refusal', async () => {
    const page = await operator('GET', '/api/audit/access?limit=1000');
    return page.body.results.length >= refused ? page.body.results : undefined;
  });
  t.equal(logged.length, refused, 'one entry per refused request');
  const reasons: Record<string, number> = {};
  for (const entry of logged) reasons[entry.reason] = (reasons[entry.reason] ?? 0) + 1;
  const walletRoutes = routes.filter((r) => r.need !== 'operator').length;
  const keyRoutes = routes.length - walletRoutes;
  const writeRoutes = routes.filter(
    (r) => r.need !== 'operator' && r.need.scope !== 'wallets:read',
  ).length;
  t.same(reasons, {
    no_credentials: 2 * routes.length,
    invalid_token: 2 * routes.length,
    operator_only: 3 * keyRoutes,
    missing_scope: writeRoutes,
    address_not_allowed: routes.length,
  });
  const entry = logged.find((e: { reason: string }) => e.reason === 'address_not_allowed');
  t.match(entry, { address: '203.0.113.7', status: 403, key_id: /^[0-9a-f-]{36}$/ });
  t.match(
    logged.find((e: { reason: string }) => e.reason === 'missing_scope'),
    { key_id: readOnly.id, address: '127.0.0.1' },
  );
  const metricsAfter = await refusedCounts(operator);
  for (const [reason, count] of Object.entries(reasons))
    t.equal((metricsAfter[reason] ?? 0) - (metricsBefore[reason] ?? 0), count, `metric ${reason}`);

  // The ledger: of all those deposits, only the allowed ones (owner A's, the operator's) happened.
  t.equal(await deposits(operator, walletA), 3, 'the first one, owner A’s and the operator’s');
  const forOther = await plain('POST', '/api/wallets/', { owner: 'alice' }, bearer(ownerB.key));
  t.equal(forOther.status, 400, 'an owner key makes wallets of its own owner only');
  t.same(Object.keys(forOther.body), ['owner']);
  const own = await plain('POST', '/api/wallets/', {}, bearer(ownerB.key));
  t.equal(own.body.owner, 'bob', 'an owner key’s wallet is its owner’s');
  const ownList = await plain(
    'GET',
    `/api/wallets/${own.body.uuid}/history/`,
    undefined,
    bearer(ownerB.key),
  );
  t.match(ownList.body.events[0].metadata, {
    actor: { type: 'owner', owner: 'bob', keyId: ownerB.id },
  });
});

t.test('open routes stay open; security headers on every answer', async (t) => {
  const stack = await startStack(t);
  const plain = httpClient(stack.baseUrl);
  for (const path of ['/health', '/ready', '/metrics', '/docs', '/docs/json']) {
    const response = await plain('GET', path);
    t.ok([200, 302].includes(response.status), `${path} without a key: ${response.status}`);
  }
  t.equal((await plain('GET', '/ready')).body.auth, 'on');
  for (const [path, status] of [
    ['/api/wallets/', 401],
    ['/health', 200],
    ['/no/such/path', 404],
  ] as const) {
    const response = await plain('GET', path);
    t.equal(response.status, status);
    t.equal(response.headers['x-content-type-options'], 'nosniff', `${path}: nosniff`);
    t.equal(response.headers['x-frame-options'], 'SAMEORIGIN', `${path}: frame options`);
    t.equal(
      response.headers['content-security-policy'],
      "default-src 'none';frame-ancestors 'none'",
    );
    t.notOk(response.headers['access-control-allow-origin'], 'no CORS without CORS_ORIGINS');
  }
  const ui = await plain('GET', '/docs/');
  t.equal(ui.status, 200);
  const csp = String(ui.headers['content-security-policy']);
  t.match(csp, /script-src 'self'/, 'the UI has a policy of its own that runs its scripts');
  t.notMatch(csp, /upgrade-insecure-requests/, 'and works over plain http');
  const doc = (await plain('GET', '/docs/json')).body;
  t.same(doc.components.securitySchemes.bearer, { type: 'http', scheme: 'bearer' });
  t.ok(doc.paths['/api/keys'], 'the key routes are documented');
});

t.test('key routes: what they check, show and hide', async (t) => {
  const stack = await startStack(t);
  const http = stack.http;
  for (const [body, field] of [
    [{}, 'owner'],
    [{ owner: '  ' }, 'owner'],
    [{ owner: 'a', scopes: ['wallets:delete'] }, 'scopes'],
    [{ owner: 'a', scopes: [] }, 'scopes'],
    [{ owner: 'a', scopes: ['wallets:read', 'wallets:read'] }, 'scopes'],
    [{ operator: true, owner: 'a' }, 'owner'],
    [{ operator: true, scopes: ['wallets:read'] }, 'scopes'],
    [{ owner: 'a', admin: true }, 'admin'],
    [{ owner: 'x'.repeat(201) }, 'owner'],
    [{ owner: 'a', operator: 'yes' }, 'operator'],
  ] as const) {
    const response = await http('POST', '/api/keys', body);
    t.equal(response.status, 400, JSON.stringify(body));
    t.ok(Array.isArray(response.body[field]), `names ${field}: ${response.text}`);
  }
  const made = await http('POST', '/api/keys', { owner: 'alice', name: 'phone' });
  t.equal(made.status, 201);
  t.match(made.body, {
    id: /^[0-9a-f-]{36}$/,
    key: /^wlk_[A-Za-z0-9_-]{43}$/,
    owner: 'alice',
    kind: 'owner',
    scopes: ['wallets:read', 'wallets:write', 'withdrawals:write', 'webhooks:write'],
    name: 'phone',
  });
  t.ok(Date.parse(made.body.created) > 0);
  const operatorMade = await http('POST', '/api/keys', { operator: true, name: 'ci' });
  t.match(operatorMade.body, { kind: 'operator', owner: null, scopes: { length: 4 } });
  const asAlice = httpClient(stack.baseUrl, bearer(made.body.key));
  t.equal((await asAlice('GET', '/api/wallets/00000000-0000-4000-8000-000000000000/')).status, 404);

  const listed = await pollUntil('last use written', async () => {
    const list = await http('GET', '/api/keys');
    const alice = list.body.results.find((k: { id: string }) => k.id === made.body.id);
    return alice?.last_used ? list : undefined;
  });
  t.notMatch(listed.text, made.body.key.slice(4), 'no secrets in the list');
  t.notMatch(listed.text, stack.operatorKey, 'not even the operator’s');
  t.match(
    listed.body.results.find((k: { id: string }) => k.id === made.body.id),
    { owner: 'alice', revoked: null, name: 'phone', last_used: /^\d{4}-/ },
  );
  t.match(listed.body.results[0], { kind: 'operator', name: 'OPERATOR_API_KEY' }, 'bootstrap key');

  t.equal((await http('DELETE', `/api/keys/${made.body.id}`)).status, 204);
  t.equal((await http('DELETE', `/api/keys/${made.body.id}`)).status, 204, 'again: still revoked');
  t.equal((await asAlice('GET', '/api/wallets/')).status, 401, 'refused at once here');
  t.equal((await http('DELETE', '/api/keys/00000000-0000-4000-8000-000000000000')).status, 404);
  t.equal((await http('DELETE', '/api/keys/not-a-uuid')).status, 404);
  const after = await http('GET', '/api/keys');
  t.match(
    after.body.results.find((k: { id: string }) => k.id === made.body.id),
    { revoked: /^\d{4}-/ },
  );
});

t.test('access log route: filters, pages, bad input', async (t) => {
  const stack = await startStack(t, { env: { RATE_LIMIT_ANONYMOUS: '100000' } });
  const plain = httpClient(stack.baseUrl);
  const readOnly = await makeKey(stack, { owner: 'alice', scopes: ['wallets:read'] });
  for (let i = 0; i < 5; i++) await plain('GET', `/api/wallets/?n=${i}`);
  for (let i = 0; i < 3; i++) await plain('POST', '/api/wallets/', {}, bearer(readOnly.key));
  // Read on the instance that refused them: written before the log is read, not a second later.
  const all = (await stack.http('GET', '/api/audit/access')).body;
  t.equal(all.results.length, 8, 'the refusals of this instance, at once');
  t.equal(all.next, null);
  t.match(all.results[0], {
    id: /^\d+$/,
    at: /^\d{4}-/,
    method: 'POST',
    path: '/api/wallets/',
    status: 403,
    reason: 'missing_scope',
    key_id: readOnly.id,
  });
  t.equal(all.results.at(-1).path, '/api/wallets/', 'the path without its query');
  const byKey = await stack.http('GET', `/api/audit/access?key=${readOnly.id}`);
  t.equal(byKey.body.results.length, 3);
  const byStatus = await stack.http('GET', '/api/audit/access?status=401');
  t.equal(byStatus.body.results.length, 5);
  const future = await stack.http('GET', '/api/audit/access?from=2999-01-01T00:00:00Z');
  t.same(future.body.results, []);
  const past = await stack.http('GET', '/api/audit/access?to=2000-01-01T00:00:00Z');
  t.same(past.body.results, []);

  const ids: string[] = [];
  let next: string | null = `/api/audit/access?limit=3`;
  while (next) {
    const page: HttpResponse = await stack.http('GET', next.replace(stack.baseUrl, ''));
    t.equal(page.status, 200);
    t.ok(page.body.results.length <= 3);
    ids.push(...page.body.results.map((e: { id: string }) => e.id));
    next = page.body.next;
    if (next) t.ok(next.startsWith(`${stack.baseUrl}/api/audit/access?`), 'absolute next link');
  }
  t.same(
    ids,
    all.results.map((e: { id: string }) => e.id),
    'the pages hold every entry once, in order',
  );

  for (const [query, field] of [
    ['status=500', 'status'],
    ['from=yesterday', 'from'],
    ['key=nope', 'key'],
    ['cursor=AAAA', 'cursor'],
    ['limit=0', 'limit'],
    ['limit=1001', 'limit'],
  ] as const) {
    const response = await stack.http('GET', `/api/audit/access?${query}`);
    t.equal(response.status, 400, query);
    t.ok(response.body[field], `${query}: names ${field} (${response.text})`);
  }
});

t.test('rate limits hold across two API instances; Retry-After is honoured', async (t) => {
  let now = Date.parse('2031-01-01T00:00:20Z');
  const clock = () => now;
  const stack = await startStack(t, {
    env: { RATE_LIMIT_PER_KEY: '5', RATE_LIMIT_ANONYMOUS: '3' },
  });
  const first = await anotherApi(t, stack, clock);
  const second = await anotherApi(t, stack, clock);
  const key = (await makeKey(stack, { owner: 'alice' })).key;
  const other = (await makeKey(stack, { owner: 'bob' })).key;
  const wallet = (await stack.http('POST', '/api/wallets/', { owner: 'alice' })).body.uuid;

  const statuses: number[] = [];
  let last: HttpResponse | undefined;
  for (let i = 0; i < 8; i++) {
    const http = (i % 2 === 0 ? first : second)(key);
    last = await http('PATCH', `/api/wallets/${wallet}/deposit/`, { amount: '1.00' });
    statuses.push(last.status);
    if (last.status === 200) t.equal(last.headers['ratelimit-limit'], '5');
  }
  t.same(statuses, [200, 200, 200, 200, 200, 429, 429, 429], 'five in the minute, over both');
  t.match(last?.headers, {
    'retry-after': '40',
    'ratelimit-limit': '5',
    'ratelimit-remaining': '0',
    'ratelimit-reset': '40',
  });
  t.match(last?.body, { detail: 'Request was throttled. Expected available in 40 seconds.' });
  t.equal(await deposits(stack.http, wallet), 5, 'the throttled deposits were not executed');
  const bobs = (await stack.http('POST', '/api/wallets/', { owner: 'bob' })).body.uuid;
  t.equal((await second(other)('GET', `/api/wallets/${bobs}/`)).status, 200, 'per key');

  now += 39_000;
  t.equal((await first(key)('GET', `/api/wallets/${wallet}/`)).status, 429, 'a second early');
  now += Number(last?.headers['retry-after']) * 1000 - 39_000;
  const again = await second(key)('GET', `/api/wallets/${wallet}/`);
  t.equal(again.status, 200, 'after Retry-After: allowed again');
  t.equal(again.headers['ratelimit-reset'], '60');

  // Without a valid key: the address's limit (3), whatever the key tried.
  const anonymous = [
    await first()('GET', '/api/wallets/'),
    await second(newApiKey())('GET', '/api/wallets/'),
    await first('garbage')('GET', '/api/wallets/'),
    await second()('GET', '/api/wallets/'),
  ].map((r) => r.status);
  t.same(anonymous, [401, 401, 401, 429], 'guessing keys is slow, on every instance');
  t.equal(
    (await first(key)('GET', `/api/wallets/${wallet}/`)).status,
    200,
    'a valid key is not held back by its address',
  );
});

t.test('a key revoked on one instance is refused by another within a second', async (t) => {
  const stack = await startStack(t);
  const other = await anotherApi(t, stack);
  const key = (await makeKey(stack, { owner: 'alice' })).key;
  const id = (await stack.http('GET', '/api/keys')).body.results.at(-1).id;
  const asKey = other(key);
  t.equal((await asKey('GET', '/api/keys/')).status, 403, 'known to the other instance');
  const revokedAt = Date.now();
  t.equal((await stack.http('DELETE', `/api/keys/${id}`)).status, 204);
  // Poll the other instance until it refuses; the contract is one second after the revocation.
  let firstRefusalAt = 0;
  while (Date.now() < revokedAt + 5000) {
    const sentAt = Date.now();
    if ((await asKey('GET', '/api/keys/')).status === 401) {
      firstRefusalAt = sentAt;
      break;
    }
    await sleep(20);
  }
  t.ok(firstRefusalAt > 0, 'the other instance refuses it');
  t.ok(
    firstRefusalAt - revokedAt <= 1000,
    `refused by a request sent ${firstRefusalAt - revokedAt} ms after`,
  );
  await sleep(Math.max(0, revokedAt + 1000 - Date.now()));
  t.equal((await asKey('GET', '/api/keys/')).status, 401, 'and every request after the second');
});

t.test('operator allow-list: X-Forwarded-For counts only with TRUST_PROXY', async (t) => {
  const stack = await startStack(t, { env: { OPERATOR_ALLOWED_CIDRS: '127.0.0.1/32' } });
  const proxied = await startStack(t, {
    env: { TRUST_PROXY: 'true', OPERATOR_ALLOWED_CIDRS: '10.0.0.0/8' },
  });
  const forged = await proxied.http('GET', '/api/keys', undefined, {
    'x-forwarded-for': '10.1.2.3, 203.0.113.7',
  });
  t.equal(forged.status, 403, 'the address the proxy appended counts, not what the client wrote');
  const viaProxy = await proxied.http('GET', '/api/keys', undefined, {
    'x-forwarded-for': '203.0.113.7, 10.1.2.3',
  });
  t.equal(viaProxy.status, 200, 'a client the proxy saw at an allowed address');
  const spoofed = await stack.http('GET', '/api/keys', undefined, {
    'x-forwarded-for': '203.0.113.7',
  });
  t.equal(spoofed.status, 200, 'the connection’s address (127.0.0.1) counts, not the header');
  const outside = await startStack(t, {
    env: { OPERATOR_ALLOWED_CIDRS: '10.0.0.0/8,2001:db8::/32' },
  });
  const refused = await outside.http('GET', '/api/keys');
  t.equal(refused.status, 403);
  const owner = await outside.http(
    'GET',
    '/api/wallets/00000000-0000-4000-8000-000000000000/',
    undefined,
    {},
  );
  t.equal(owner.status, 403, 'every operator request from there');
});

t.test('AUTH=off: the original open API, and /ready says so', async (t) => {
  const stack = await startStack(t, { env: { AUTH: 'off' } });
  const plain = httpClient(stack.baseUrl);
  const created = await plain('POST', '/api/wallets/', {});
  t.equal(created.status, 201, 'no key needed');
  t.notOk(created.headers['ratelimit-limit'], 'no limits');
  t.equal((await plain('GET', `/api/wallets/${created.body.uuid}/`)).status, 200);
  t.equal((await plain('GET', '/api/keys')).status, 404, 'no key routes: nothing to protect them');
  t.equal((await plain('GET', '/ready')).body.auth, 'off');
  t.equal(created.headers['x-content-type-options'], 'nosniff', 'headers still');
});

t.test('CORS only for the listed origins; preflights need no key', async (t) => {
  const stack = await startStack(t, { env: { CORS_ORIGINS: 'https://console.example' } });
  const plain = httpClient(stack.baseUrl);
  const preflight = await plain('OPTIONS' as 'GET', '/api/wallets/', undefined, {
    origin: 'https://console.example',
    'access-control-request-method': 'POST',
    'access-control-request-headers': 'authorization,content-type',
  });
  t.equal(preflight.status, 204);
  t.equal(preflight.headers['access-control-allow-origin'], 'https://console.example');
  t.match(String(preflight.headers['access-control-allow-headers']), /Authorization/);
  const read = await stack.http('GET', '/api/keys', undefined, {
    origin: 'https://console.example',
  });
  t.equal(read.headers['access-control-allow-origin'], 'https://console.example');
  t.match(String(read.headers['access-control-expose-headers']), /RateLimit-Remaining/);
  const foreign = await stack.http('GET', '/api/keys', undefined, {
    origin: 'https://evil.example',
  });
  t.notOk(foreign.headers['access-control-allow-origin'], 'another origin gets no CORS header');
  t.equal((await plain('GET', '/no/such/path')).status, 404, 'unknown paths stay 404');
  t.equal((await stack.http('PUT', '/api/keys')).status, 405, 'wrong methods stay 405');
});

t.test(
  'one connection, other credentials on each request: each is judged by its own',
  async (t) => {
    const stack = await startStack(t);
    const alice = await makeKey(stack, { owner: 'alice' });
    const bob = await makeKey(stack, { owner: 'bob' });
    const wallet = (await stack.http('POST', '/api/wallets/', { owner: 'alice' })).body.uuid;
    // One connection: the access layer remembers what it last parsed per connection.
    const client = new Client(stack.baseUrl);
    t.teardown(() => client.close());
    const statusWith = async (authorization?: string) => {
      const response = await client.request({
        method: 'GET',
        path: `/api/wallets/${wallet}/`,
        headers: authorization === undefined ? {} : { authorization },
      });
      await response.body.dump();
      return response.statusCode;
    };
    const sent: [string, string | undefined, number][] = [
      ['alice', `Bearer ${alice.key}`, 200],
      ['bob', `Bearer ${bob.key}`, 404],
      ['alice again', `Bearer ${alice.key}`, 200],
      ['malformed', 'Bearer', 401],
      ['none', undefined, 401],
      ['unknown', `Bearer ${newApiKey()}`, 401],
      ['alice after those', `Bearer ${alice.key}`, 200],
    ];
    for (const [who, authorization, status] of sent) {
      t.equal(await statusWith(authorization), status, who);
    }
    t.equal((await stack.http('DELETE', `/api/keys/${alice.id}`)).status, 204);
    t.equal(await statusWith(`Bearer ${alice.key}`), 401, 'alice revoked, on the same connection');
  },
);

// Lists across wallets (the console's overviews) over real HTTP: an owner sees only their own
// wallets, an operator every wallet with search; withdrawals by status and the status summary are
// for operators only; the audit trail carries the balance after each event.
import t from 'tap';
import { bearer, makeKey } from '../support/ledgerApi.ts';
import { httpClient, startStack } from '../support/stack.ts';

t.test('overviews', async (t) => {
  const stack = await startStack(t);
  const alice = httpClient(stack.baseUrl, bearer((await makeKey(stack, { owner: 'alice' })).key));
  const mine = (await alice('POST', '/api/wallets/', {})).body.uuid as string;
  const bobs = (await stack.http('POST', '/api/wallets/', { owner: 'bob', currency: 'JPY' })).body
    .uuid as string;
  await alice('PATCH', `/api/wallets/${mine}/deposit/`, { amount: '10.00' });
  const w = await alice('POST', `/api/wallets/${mine}/withdraw/`, { amount: '4.00', delay: 3600 });
  t.equal(w.status, 201);
  // Lists read the read models: wait until the projector holds the wallet's last change.
  await stack.http('GET', `/api/wallets/${mine}/transactions/`);

  const own = await alice('GET', '/api/wallets/');
  t.equal(own.status, 200);
  t.same(
    own.body.results.map((x: { uuid: string }) => x.uuid),
    [mine],
    'an owner: only their own',
  );
  t.match(own.body.results[0], { currency: 'USD', owner: 'alice', balance: '10.00' });
  const asked = await alice('GET', '/api/wallets/?owner=bob');
  t.same(
    asked.body.results.map((x: { uuid: string }) => x.uuid),
    [mine],
    '?owner= cannot widen it',
  );

  const all = await stack.http('GET', '/api/wallets/');
  t.same(all.body.results.map((x: { uuid: string }) => x.uuid).sort(), [mine, bobs].sort());
  const byId = await stack.http('GET', `/api/wallets/?search=${bobs.slice(0, 6)}`);
  t.same(
    byId.body.results.map((x: { uuid: string }) => x.uuid),
    [bobs],
    'search by id prefix',
  );
  const byOwner = await stack.http('GET', '/api/wallets/?search=LIC');
  t.same(
    byOwner.body.results.map((x: { uuid: string }) => x.uuid),
    [mine],
    'search by owner',
  );
  const odd = await stack.http('GET', `/api/wallets/?search=${encodeURIComponent("%_'\\")}`);
  t.same(odd.body.results, [], 'wildcards and quotes are plain text');
  t.equal((await stack.http('GET', '/api/wallets/?limit=0')).status, 400);

  const pending = await stack.http('GET', '/api/withdrawals/?status=PENDING');
  t.equal(pending.status, 200);
  t.match(pending.body.results, [
    { wallet: mine, owner: 'alice', amount: '4.00', currency: 'USD', status: 'PENDING' },
  ]);
  t.same((await stack.http('GET', '/api/withdrawals/?status=SUCCESS')).body.results, []);
  t.equal((await stack.http('GET', '/api/withdrawals/?status=nope')).status, 400);
  t.equal((await alice('GET', '/api/withdrawals/')).status, 403, 'operators only');

  const status = await stack.http('GET', '/api/status');
  t.equal(status.status, 200);
  t.match(status.body, {
    projection: { last_event_recorded_at: String, lag_ms: Number },
    scheduler: { awaiting_settlement: 0 },
  });
  t.equal((await alice('GET', '/api/status')).status, 403, 'operators only');

  const history = await alice('GET', `/api/wallets/${mine}/history/`);
  t.same(
    history.body.events.map((e: { type: string; balance_after: string }) => [
      e.type,
      e.balance_after,
    ]),
    [
      ['WalletCreated', '0.00'],
      ['Deposited', '10.00'],
      ['WithdrawalScheduled', '10.00'],
    ],
  );
  const later = await alice('GET', `/api/wallets/${mine}/history/?from_revision=1&limit=1`);
  t.same(
    later.body.events.map((e: { balance_after: string }) => e.balance_after),
    ['10.00'],
    'a later page folds from the start',
  );
});

// The CLI's key and access-log commands as an operator runs them (real subprocesses) on a real
// PostgreSQL; a key they make or revoke is seen by a running API.
import t from 'tap';
import { runCli } from '../support/cli.ts';
import { bearer } from '../support/ledgerApi.ts';
import { pollUntil } from '../support/poll.ts';
import { httpClient, startStack } from '../support/stack.ts';

t.test('keys create, list, revoke; audit access', async (t) => {
  const stack = await startStack(t, { env: { RATE_LIMIT_ANONYMOUS: '100000' } });
  const cli = async (...args: string[]) => {
    const { code, stdout, stderr } = await runCli(args, { DATABASE_URL: stack.db.url });
    return { code, out: stdout.trimEnd().split('\n'), err: stderr };
  };

  const made = await cli(
    'keys',
    'create',
    '--owner',
    'alice',
    '--scope',
    'wallets:read',
    '--scope',
    'wallets:write',
    '--name',
    'cli',
  );
  t.equal(made.code, 0, made.err);
  const key = JSON.parse(made.out[0] as string);
  t.match(key, {
    id: /^[0-9a-f-]{36}$/,
    key: /^wlk_/,
    kind: 'owner',
    owner: 'alice',
    scopes: ['wallets:read', 'wallets:write'],
    name: 'cli',
  });
  const asAlice = httpClient(stack.baseUrl, bearer(key.key));
  t.equal((await asAlice('POST', '/api/wallets/', {})).status, 201, 'the API accepts it');
  t.equal(
    (await asAlice('POST', '/api/wallets/00000000-0000-4000-8000-000000000000/withdraw/', {}))
      .status,
    403,
    'with its scopes only',
  );

  const operator = await cli('keys', 'create', '--operator', '--name', 'rescue');
  t.equal(operator.code, 0);
  t.match(JSON.parse(operator.out[0] as string), { kind: 'operator', owner: null });
  const commaScopes = await cli(
    'keys',
    'create',
    '--owner',
    'bob',
    '--scope',
    'wallets:read,withdrawals:write',
  );
  t.equal(commaScopes.code, 0);
  t.same(JSON.parse(commaScopes.out[0] as string).scopes, ['wallets:read', 'withdrawals:write']);

  for (const [args, message] of [
    [['create'], /owner: This field is required/],
    [['create', '--owner', 'a', '--scope', 'root'], /scopes: "root" is not a scope/],
    [['create', '--operator', '--owner', 'a'], /owner: Operator keys have no owner/],
    [['create', '--owner'], /argument missing/],
    [['create', '--bogus'], /unknown option/],
    [['revoke'], /missing <key id>/],
    [['revoke', 'nope'], /needs a key id/],
    [['frobnicate'], /Unknown command/],
  ] as const) {
    const run = await cli('keys', ...args);
    t.equal(run.code, 2, args.join(' '));
    t.match(run.err, message);
  }

  const list = await cli('keys', 'list');
  t.equal(list.code, 0);
  t.equal(list.out.at(-1), '4 keys', 'the stack’s operator key and the three made here');
  t.match(
    list.out.join('\n'),
    new RegExp(`${key.id}  owner "alice"  scopes wallets:read,wallets:write  name "cli"`),
  );
  t.notMatch(list.out.join('\n'), key.key.slice(4), 'no secrets');

  const revoke = await cli('keys', 'revoke', key.id);
  t.equal(revoke.code, 0);
  t.match(revoke.out[0], `key ${key.id} revoked at`);
  t.equal((await cli('keys', 'revoke', '00000000-0000-4000-8000-000000000000')).code, 1);
  // The running API learns of it by itself (its key lookups are trusted for half a second).
  const status = await pollUntil(
    'the API to refuse the revoked key',
    async () => (await asAlice('GET', '/api/wallets/')).status,
    { until: (s) => s === 401, timeoutMs: 5000, intervalMs: 50 },
  );
  t.equal(status, 401, 'the API refuses the key the CLI revoked');

  // The access log: the 403 and the 401 above, and what the filters keep.
  const plain = httpClient(stack.baseUrl);
  await plain('GET', '/api/keys');
  const audit = await pollUntil('the access log to hold them', () => cli('audit', 'access'), {
    until: (a) => a.out.at(-1) === '3 refused requests',
    intervalMs: 200,
  });
  t.equal(audit.out.at(-1), '3 refused requests');
  t.match(
    audit.out.join('\n'),
    /403 +missing_scope +POST \/api\/wallets\/0{8}-.*\/withdraw\/ +from 127\.0\.0\.1 +key [0-9a-f-]{36}/,
  );
  t.match(audit.out.join('\n'), /401 +no_credentials +GET \/api\/keys +from 127\.0\.0\.1 +key -/);
  const filtered = await cli('audit', 'access', '--status', '403', '--key', key.id);
  t.equal(filtered.code, 0);
  t.equal(filtered.out.at(-1), '1 refused requests');
  const limited = await cli('audit', 'access', '--limit', '1');
  t.equal(limited.code, 0);
  t.match(limited.out.at(-1), /1 refused requests \(more/);
  for (const args of [
    ['access', '--status', '200'],
    ['access', '--from', 'soon'],
    ['access', '--key', 'x'],
    ['access', '--limit', '0'],
    ['nothing'],
  ]) {
    const run = await cli('audit', ...args);
    t.equal(run.code, 2, args.join(' '));
    t.ok(run.err.length > 0);
  }
});

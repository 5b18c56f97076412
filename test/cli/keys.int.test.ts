// The CLI's key and access-log commands, called as the CLI calls them, on a real PostgreSQL; a
// key they make or revoke is seen by a running API.
import t from 'tap';
import { auditCommand, keysCommand } from '../../src/cli/keys.ts';
import { httpClient, startStack } from '../support/stack.ts';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { log: (l: string) => out.push(l), error: (l: string) => err.push(l) } };
}

t.test('keys create, list, revoke; audit access', async (t) => {
  const stack = await startStack(t, { env: { RATE_LIMIT_ANONYMOUS: '100000' } });
  const runtime = { db: stack.runtime.db };

  const made = capture();
  t.equal(
    await keysCommand(
      runtime,
      [
        'create',
        '--owner',
        'alice',
        '--scope',
        'wallets:read',
        '--scope',
        'wallets:write',
        '--name',
        'cli',
      ],
      made.io,
    ),
    0,
    made.err.join('\n'),
  );
  const key = JSON.parse(made.out[0] as string);
  t.match(key, {
    id: /^[0-9a-f-]{36}$/,
    key: /^wlk_/,
    kind: 'owner',
    owner: 'alice',
    scopes: ['wallets:read', 'wallets:write'],
    name: 'cli',
  });
  const asAlice = httpClient(stack.baseUrl, { authorization: `Bearer ${key.key}` });
  t.equal((await asAlice('POST', '/api/wallets/', {})).status, 201, 'the API accepts it');
  t.equal(
    (await asAlice('POST', '/api/wallets/00000000-0000-4000-8000-000000000000/withdraw/', {}))
      .status,
    403,
    'with its scopes only',
  );

  const operator = capture();
  t.equal(await keysCommand(runtime, ['create', '--operator', '--name', 'rescue'], operator.io), 0);
  t.match(JSON.parse(operator.out[0] as string), { kind: 'operator', owner: null });
  const commaScopes = capture();
  t.equal(
    await keysCommand(
      runtime,
      ['create', '--owner', 'bob', '--scope', 'wallets:read,withdrawals:write'],
      commaScopes.io,
    ),
    0,
  );
  t.same(JSON.parse(commaScopes.out[0] as string).scopes, ['wallets:read', 'withdrawals:write']);

  for (const [args, message] of [
    [['create'], /owner: This field is required/],
    [['create', '--owner', 'a', '--scope', 'root'], /scopes: "root" is not a scope/],
    [['create', '--operator', '--owner', 'a'], /owner: Operator keys have no owner/],
    [['create', '--owner'], /argument missing/],
    [['create', '--bogus'], /Unknown option/],
    [['revoke'], /needs a key id/],
    [['revoke', 'nope'], /needs a key id/],
    [['frobnicate'], /usage/],
  ] as const) {
    const run = capture();
    t.equal(await keysCommand(runtime, [...args], run.io), 2, args.join(' '));
    t.match(run.err.join('\n'), message);
  }

  const list = capture();
  t.equal(await keysCommand(runtime, ['list'], list.io), 0);
  t.equal(list.out.at(-1), '4 keys', 'the stack’s operator key and the three made here');
  t.match(
    list.out.join('\n'),
    new RegExp(`${key.id}  owner "alice"  scopes wallets:read,wallets:write  name "cli"`),
  );
  t.notMatch(list.out.join('\n'), key.key.slice(4), 'no secrets');

  const revoke = capture();
  t.equal(await keysCommand(runtime, ['revoke', key.id], revoke.io), 0);
  t.match(revoke.out[0], `key ${key.id} revoked at`);
  const unknown = capture();
  t.equal(
    await keysCommand(runtime, ['revoke', '00000000-0000-4000-8000-000000000000'], unknown.io),
    1,
  );
  // The running API learns of it by itself (its key lookups are trusted for half a second).
  const deadline = Date.now() + 5000;
  let status = 0;
  while (Date.now() < deadline && status !== 401) {
    status = (await asAlice('GET', '/api/wallets/')).status;
    if (status !== 401) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.equal(status, 401, 'the API refuses the key the CLI revoked');

  // The access log: the 403 and the 401 above, and what the filters keep.
  const plain = httpClient(stack.baseUrl);
  await plain('GET', '/api/keys');
  let audit = capture();
  for (let i = 0; i < 50; i++) {
    audit = capture();
    await auditCommand(runtime, ['access'], audit.io);
    if (audit.out.at(-1) === '3 refused requests') break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.equal(audit.out.at(-1), '3 refused requests');
  t.match(
    audit.out.join('\n'),
    /403 +missing_scope +POST \/api\/wallets\/0{8}-.*\/withdraw\/ +from 127\.0\.0\.1 +key [0-9a-f-]{36}/,
  );
  t.match(audit.out.join('\n'), /401 +no_credentials +GET \/api\/keys +from 127\.0\.0\.1 +key -/);
  const filtered = capture();
  t.equal(
    await auditCommand(runtime, ['access', '--status', '403', '--key', key.id], filtered.io),
    0,
  );
  t.equal(filtered.out.at(-1), '1 refused requests');
  const limited = capture();
  t.equal(await auditCommand(runtime, ['access', '--limit', '1'], limited.io), 0);
  t.match(limited.out.at(-1), /1 refused requests \(more/);
  for (const args of [
    ['access', '--status', '200'],
    ['access', '--from', 'soon'],
    ['access', '--key', 'x'],
    ['access', '--limit', '0'],
    ['nothing'],
  ]) {
    const run = capture();
    t.equal(await auditCommand(runtime, args, run.io), 2, args.join(' '));
    t.ok(run.err.length > 0);
  }
});

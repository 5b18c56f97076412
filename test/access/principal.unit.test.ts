import t from 'tap';
import { addressFilter, limitSubject, parseCidr } from '../../src/access/addresses.ts';
import {
  hashApiKey,
  KEY_PREFIX,
  newApiKey,
  readBearer,
  sameSecret,
} from '../../src/access/apiKeys.ts';
import {
  ANONYMOUS,
  actorOf,
  hasScope,
  idempotencyNamespace,
  mayAccessWallet,
  ownerForNewWallet,
  type Principal,
  SCOPES,
} from '../../src/access/principal.ts';
import { RequestError } from '../../src/api/requestError.ts';

const alice: Principal = {
  kind: 'owner',
  keyId: 'k-alice',
  owner: 'alice',
  scopes: ['wallets:read'],
};
const operator: Principal = { kind: 'operator', keyId: 'k-op', name: 'ops', scopes: SCOPES };

t.test('keys: prefix, 256 random bits, SHA-256 hash', async (t) => {
  const key = newApiKey();
  t.ok(key.startsWith(KEY_PREFIX));
  t.equal(Buffer.from(key.slice(KEY_PREFIX.length), 'base64url').length, 32);
  t.not(newApiKey(), key, 'fresh each time');
  t.equal(hashApiKey(key).length, 32);
  t.same(hashApiKey(key), hashApiKey(key));
});

t.test('bearer header: token, missing or malformed', async (t) => {
  t.same(readBearer('Bearer wlk_abc'), { token: 'wlk_abc' });
  t.same(readBearer('bearer   wlk_abc'), { token: 'wlk_abc' }, 'scheme in any case');
  t.equal(readBearer(undefined), 'missing');
  t.equal(readBearer(''), 'missing');
  for (const bad of [
    'Basic dXNlcjpwdw==',
    'Bearer',
    'Bearer ',
    'Bearer a b',
    'wlk_abc',
    `Bearer ${'x'.repeat(513)}`,
    'Bearer é',
  ])
    t.equal(readBearer(bad), 'malformed', bad);
});

t.test('sameSecret: equal text only, whatever the lengths', async (t) => {
  const key = newApiKey();
  t.ok(sameSecret(`Bearer ${key}`, `Bearer ${key}`));
  t.notOk(sameSecret(`Bearer ${key}`, `Bearer ${newApiKey()}`), 'another key');
  t.notOk(sameSecret(`Bearer ${key}`, `Bearer ${key.slice(0, -1)}`), 'one character short');
  t.notOk(sameSecret('Bearer é', 'Bearer e'), 'beyond ASCII');
  t.ok(sameSecret('', ''));
});

t.test(
  'mayAccessWallet: owners their own wallets, operators and AUTH=off every wallet',
  async (t) => {
    t.equal(mayAccessWallet(alice, 'alice'), true);
    t.equal(mayAccessWallet(alice, 'bob'), false);
    t.equal(mayAccessWallet(alice, null), false, 'a wallet without owner is no owner key’s');
    t.equal(mayAccessWallet(operator, 'bob'), true);
    t.equal(mayAccessWallet(operator, null), true);
    t.equal(mayAccessWallet(ANONYMOUS, 'bob'), true);
  },
);

t.test('ownerForNewWallet: an owner key makes its own wallets', async (t) => {
  t.equal(ownerForNewWallet(alice, undefined), 'alice');
  t.equal(ownerForNewWallet(alice, null), 'alice');
  t.equal(ownerForNewWallet(alice, 'alice'), 'alice');
  const error = t.throws(() => ownerForNewWallet(alice, 'bob')) as RequestError;
  t.ok(error instanceof RequestError);
  t.equal(error.status, 400);
  t.same(Object.keys(error.body), ['owner']);
  t.equal(ownerForNewWallet(operator, 'bob'), 'bob');
  t.equal(ownerForNewWallet(operator, undefined), null);
  t.equal(ownerForNewWallet(ANONYMOUS, 'carol'), 'carol');
});

t.test('actorOf, hasScope, idempotencyNamespace', async (t) => {
  t.same(actorOf(alice), { type: 'owner', keyId: 'k-alice', owner: 'alice' });
  t.same(actorOf(operator), { type: 'operator', keyId: 'k-op', name: 'ops' });
  t.same(actorOf(ANONYMOUS), { type: 'anonymous' });
  t.equal(hasScope(alice, 'wallets:read'), true);
  t.equal(hasScope(alice, 'wallets:write'), false);
  t.equal(hasScope(operator, 'webhooks:write'), true);
  t.equal(hasScope(ANONYMOUS, 'withdrawals:write'), true, 'AUTH=off checks nothing');
  t.equal(idempotencyNamespace(alice), 'owner:alice');
  t.not(idempotencyNamespace(alice), idempotencyNamespace({ ...alice, owner: 'bob' }));
  t.equal(idempotencyNamespace(operator), 'operator');
  t.equal(idempotencyNamespace(ANONYMOUS), '', 'AUTH=off: the global namespace of before');
});

t.test('operator allow-list: IPv4 and IPv6 ranges, IPv4-mapped addresses', async (t) => {
  t.same(parseCidr('10.0.0.0/8'), { address: '10.0.0.0', prefix: 8, family: 'ipv4' });
  t.same(parseCidr('::1'), { address: '::1', prefix: 128, family: 'ipv6' });
  for (const bad of ['10.0.0.0/33', '::/129', 'example.com', '10.0.0.0/8/1', '1.2.3.4/x', ''])
    t.equal(parseCidr(bad), undefined, bad);
  const allowed = addressFilter(['10.0.0.0/8', '2001:db8::/32'].map((c) => parseCidr(c)!));
  t.equal(allowed('10.1.2.3'), true);
  t.equal(allowed('::ffff:10.1.2.3'), true, 'IPv4-mapped');
  t.equal(allowed('11.0.0.1'), false);
  t.equal(allowed('2001:db8::5'), true);
  t.equal(allowed('2001:db9::5'), false);
  t.equal(allowed('not an address'), false);
  t.equal(addressFilter([])('203.0.113.9'), true, 'no list: any address');
});

t.test('rate-limit subject: an IPv4 address, an IPv6 /64', async (t) => {
  t.equal(limitSubject('203.0.113.9'), '203.0.113.9');
  t.equal(limitSubject('::ffff:203.0.113.9'), '203.0.113.9', 'IPv4-mapped');
  t.equal(limitSubject('2001:db8:0:12:aaaa::1'), '2001:db8:0:12::/64');
  t.equal(limitSubject('2001:db8:0:12:ffff:1:2:3'), '2001:db8:0:12::/64', 'same /64');
  t.equal(limitSubject('2001:0db8::1'), '2001:db8:0:0::/64');
  t.equal(limitSubject('::1'), '0:0:0:0::/64');
  t.equal(limitSubject('fe80::1%eth0'), 'fe80:0:0:0::/64');
});

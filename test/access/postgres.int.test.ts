// The access layer's SQL, one operation at a time, on a real PostgreSQL.
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { hashApiKey, newApiKey } from '../../src/access/apiKeys.ts';
import { findKeyByHash } from '../../src/access/postgres/findKeyByHash.ts';
import { hasOperatorKey } from '../../src/access/postgres/hasOperatorKey.ts';
import { insertKey } from '../../src/access/postgres/insertKey.ts';
import { insertRefusals } from '../../src/access/postgres/insertRefusals.ts';
import { listKeys } from '../../src/access/postgres/listKeys.ts';
import { migrateAccess } from '../../src/access/postgres/migrations.ts';
import { pruneRateWindows } from '../../src/access/postgres/pruneRateWindows.ts';
import { pruneRefusals } from '../../src/access/postgres/pruneRefusals.ts';
import { readRefusals } from '../../src/access/postgres/readRefusals.ts';
import { recordKeyUse } from '../../src/access/postgres/recordKeyUse.ts';
import type { Refusal } from '../../src/access/postgres/refusal.ts';
import { revokeKey } from '../../src/access/postgres/revokeKey.ts';
import { takeTokens } from '../../src/access/postgres/takeTokens.ts';
import { SCOPES } from '../../src/access/principal.ts';
import { createTestDatabase } from '../support/database.ts';

t.test('access SQL', async (t) => {
  const db = await createTestDatabase(t, 30);
  t.same(await migrateAccess(db.pool), [1, 2]);
  t.same(await migrateAccess(db.pool), [], 'migrations run once');

  t.test('keys: insert (only a hash), find, list, revoke, last use', async (t) => {
    t.equal(await hasOperatorKey(db.pool), false);
    const secret = newApiKey();
    const id = randomUUID();
    const made = await insertKey(db.pool, {
      id,
      hash: hashApiKey(secret),
      kind: 'owner',
      owner: 'alice',
      name: 'laptop',
      scopes: ['wallets:read'],
    });
    t.match(made, { id, kind: 'owner', owner: 'alice', name: 'laptop', scopes: ['wallets:read'] });
    t.equal(made?.revokedAt, null);
    const again = await insertKey(db.pool, {
      id: randomUUID(),
      hash: hashApiKey(secret),
      kind: 'operator',
      owner: null,
      name: '',
      scopes: SCOPES,
    });
    t.equal(again, undefined, 'a hash stored already is not stored twice');
    const { rows } = await db.pool.query('select * from access.api_keys');
    t.notOk(JSON.stringify(rows).includes(secret.slice(4)), 'the secret is nowhere in the table');
    await t.rejects(
      insertKey(db.pool, {
        id: randomUUID(),
        hash: hashApiKey(newApiKey()),
        kind: 'owner',
        owner: null,
        name: '',
        scopes: SCOPES,
      }),
      /check/,
      'an owner key has an owner',
    );

    t.equal((await findKeyByHash(db.pool, hashApiKey(secret)))?.id, id);
    t.equal(await findKeyByHash(db.pool, hashApiKey(newApiKey())), undefined);

    const earlier = new Date('2030-01-01T00:00:00Z');
    const later = new Date('2030-01-01T00:00:05Z');
    await recordKeyUse(db.pool, new Map([[id, later]]));
    await recordKeyUse(db.pool, new Map([[id, earlier]]));
    t.same(
      (await findKeyByHash(db.pool, hashApiKey(secret)))?.lastUsedAt,
      later,
      'never backwards',
    );

    const revoked = await revokeKey(db.pool, id);
    t.ok(revoked?.revokedAt instanceof Date);
    const twice = await revokeKey(db.pool, id);
    t.same(twice?.revokedAt, revoked?.revokedAt, 'revoked once; the first time stays');
    t.equal(await revokeKey(db.pool, randomUUID()), undefined);
    t.ok((await findKeyByHash(db.pool, hashApiKey(secret)))?.revokedAt, 'found, and shown revoked');
    t.same(
      (await listKeys(db.pool)).map((k) => k.id),
      [id],
    );
  });

  t.test('rate windows: concurrent claims never grant past the limit', async (t) => {
    const window = new Date('2030-01-01T00:00:00Z');
    // 40 claims of 3 at once against a limit of 50: exactly 50 granted, in all.
    const claims = await Promise.all(
      Array.from({ length: 40 }, () => takeTokens(db.pool, 'key:a', window, 3, 50)),
    );
    t.equal(
      claims.reduce((sum, c) => sum + c.granted, 0),
      50,
    );
    t.ok(claims.every((c) => c.used >= c.granted));
    t.same(await takeTokens(db.pool, 'key:a', window, 1, 50), { granted: 0, used: 50 });
    t.same(await takeTokens(db.pool, 'key:b', window, 5, 3), { granted: 3, used: 5 });
    const next = new Date('2030-01-01T00:01:00Z');
    t.equal((await takeTokens(db.pool, 'key:a', next, 2, 50)).granted, 2, 'a new window');
    t.equal(await pruneRateWindows(db.pool, next), 2, 'the old windows of both buckets');
    t.equal((await takeTokens(db.pool, 'key:a', next, 1, 50)).used, 3, 'the new one stays');
  });

  t.test('access log: batch insert, filters, newest-first pages, pruning', async (t) => {
    const keyId = randomUUID();
    const base = Date.parse('2030-02-01T00:00:00Z');
    const refusals: Refusal[] = Array.from({ length: 25 }, (_, i) => ({
      at: new Date(base + Math.floor(i / 2) * 1000), // pairs share a time: paging must not skip
      keyId: i % 5 === 0 ? keyId : null,
      address: `127.0.0.${i}`,
      method: 'GET',
      path: `/api/wallets/${i}/`,
      status: i % 3 === 0 ? 429 : 401,
      reason: i % 3 === 0 ? 'rate_limited' : 'invalid_token',
    }));
    await insertRefusals(db.pool, refusals);
    const seen: string[] = [];
    let before: { at: Date; id: string } | undefined;
    for (;;) {
      const page = await readRefusals(db.pool, { limit: 7, before });
      seen.push(...page.entries.map((e) => e.path));
      const last = page.entries.at(-1);
      if (!page.more || !last) break;
      before = last;
    }
    t.equal(seen.length, 25, 'every entry once');
    t.equal(new Set(seen).size, 25);
    const byTime = await readRefusals(db.pool, { limit: 100 });
    const times = byTime.entries.map((e) => e.at.getTime());
    t.same(
      times,
      [...times].sort((a, b) => b - a),
      'newest first',
    );
    t.equal((await readRefusals(db.pool, { limit: 100, status: 429 })).entries.length, 9);
    t.equal((await readRefusals(db.pool, { limit: 100, keyId })).entries.length, 5);
    const window = await readRefusals(db.pool, {
      limit: 100,
      from: new Date(base + 2000),
      to: new Date(base + 4000),
    });
    t.same(
      window.entries.map((e) => e.at.getTime() - base).sort(),
      [2000, 2000, 3000, 3000],
      'from inclusive, to exclusive',
    );
    t.equal(await pruneRefusals(db.pool, new Date(base + 10_000)), 20);
    t.equal((await readRefusals(db.pool, { limit: 100 })).entries.length, 5);
  });

  t.test('hasOperatorKey counts revoked operator keys too (the bootstrap runs once)', async (t) => {
    const id = randomUUID();
    await insertKey(db.pool, {
      id,
      hash: hashApiKey(newApiKey()),
      kind: 'operator',
      owner: null,
      name: 'ops',
      scopes: SCOPES,
    });
    await revokeKey(db.pool, id);
    t.equal(await hasOperatorKey(db.pool), true);
  });
});

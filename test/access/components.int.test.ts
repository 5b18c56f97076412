// The access layer's stateful parts on a real PostgreSQL, with injected clocks: the key cache and
// revocation delay, the rate limiter shared by two instances, the batched access log, bootstrap.

import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { createAccessLogWriter } from '../../src/access/accessLog.ts';
import { hashApiKey, hashApiKeyText, newApiKey } from '../../src/access/apiKeys.ts';
import { createAuthenticator } from '../../src/access/authenticator.ts';
import { bootstrapOperatorKey, OPERATOR_KEY_FILE } from '../../src/access/bootstrap.ts';
import { makeKey } from '../../src/access/makeKey.ts';
import { findKeyByHash } from '../../src/access/postgres/findKeyByHash.ts';
import { listKeys } from '../../src/access/postgres/listKeys.ts';
import { migrateAccess } from '../../src/access/postgres/migrations.ts';
import { readRefusals } from '../../src/access/postgres/readRefusals.ts';
import { revokeKey } from '../../src/access/postgres/revokeKey.ts';
import { createRateLimiter } from '../../src/access/rateLimiter.ts';
import { createTestDatabase } from '../support/database.ts';

t.test('access components', async (t) => {
  const db = await createTestDatabase(t, 30);
  await migrateAccess(db.pool);

  t.test('authenticator: a lookup is trusted for ttlMs, then asked again', async (t) => {
    let now = 1_000_000;
    const auth = createAuthenticator({ pool: db.pool, ttlMs: 500, now: () => now });
    t.teardown(() => auth.close());
    const { record, key } = await makeKey(db.pool, { owner: 'alice', scopes: ['wallets:read'] });
    t.same(await auth.authenticate(hashApiKeyText(key)), {
      kind: 'owner',
      keyId: record.id,
      owner: 'alice',
      scopes: ['wallets:read'],
    });
    t.equal(await auth.authenticate(hashApiKeyText(newApiKey())), undefined, 'unknown');
    await revokeKey(db.pool, record.id); // elsewhere: another instance, the CLI
    now += 499;
    t.ok(await auth.authenticate(hashApiKeyText(key)), 'still the cached answer just before ttlMs');
    now += 1;
    t.equal(
      await auth.authenticate(hashApiKeyText(key)),
      undefined,
      'refused once ttlMs has passed',
    );

    const other = await makeKey(db.pool, { operator: true, name: 'ops' });
    t.match(await auth.authenticate(hashApiKeyText(other.key)), { kind: 'operator', name: 'ops' });
    await revokeKey(db.pool, other.record.id);
    auth.forget(other.record.id); // revoked through this instance
    await Promise.resolve();
    t.equal(await auth.authenticate(hashApiKeyText(other.key)), undefined, 'forgotten at once');
  });

  t.test('authenticator: concurrent requests share one lookup; last use is batched', async (t) => {
    const auth = createAuthenticator({ pool: db.pool, flushMs: 3_600_000 });
    t.teardown(() => auth.close());
    const { record, key } = await makeKey(db.pool, { owner: 'bob' });
    let lookups = 0;
    const query = db.pool.query.bind(db.pool);
    const counting = (...args: Parameters<typeof query>) => {
      if (JSON.stringify(args[0]).includes('access-find-key-by-hash')) lookups++;
      return query(...args);
    };
    db.pool.query = counting as typeof db.pool.query;
    t.teardown(() => {
      db.pool.query = query;
    });
    const principals = await Promise.all(
      Array.from({ length: 50 }, () => auth.authenticate(hashApiKeyText(key))),
    );
    t.ok(principals.every((p) => p?.keyId === record.id));
    t.equal(lookups, 1, 'one lookup for 50 requests at once');
    const hash = hashApiKey(key);
    t.equal((await findKeyByHash(db.pool, hash))?.lastUsedAt, null, 'not written per request');
    await auth.flush();
    t.ok((await findKeyByHash(db.pool, hash))?.lastUsedAt, 'written by the flush');
  });

  /** Counts the queries of `pool` whose text or name holds `marker`, until the test ends. */
  const countQueries = (t: Test, marker: string) => {
    const counter = { count: 0 };
    const query = db.pool.query.bind(db.pool);
    db.pool.query = ((...args: Parameters<typeof query>) => {
      if (JSON.stringify(args[0]).includes(marker)) counter.count++;
      return query(...args);
    }) as typeof db.pool.query;
    t.teardown(() => {
      db.pool.query = query;
    });
    return counter;
  };

  t.test('authenticator: a key in use is looked up again ahead, in the background', async (t) => {
    let now = 5_000_000;
    const auth = createAuthenticator({ pool: db.pool, ttlMs: 500, now: () => now });
    t.teardown(() => auth.close());
    const { record, key } = await makeKey(db.pool, { owner: 'carol' });
    const lookups = countQueries(t, 'access-find-key-by-hash');
    t.ok(await auth.authenticate(hashApiKeyText(key)));
    t.equal(lookups.count, 1);
    now += 300; // past half the time: answered from the cache, and looked up again meanwhile
    t.ok(await auth.authenticate(hashApiKeyText(key)));
    t.equal(lookups.count, 2, 'one lookup ahead');
    await new Promise((resolve) => setTimeout(resolve, 50));
    await revokeKey(db.pool, record.id);
    now += 400; // 700 after the first lookup, 400 after the one ahead: still trusted
    t.ok(
      await auth.authenticate(hashApiKeyText(key)),
      'the newer lookup is trusted for its own ttlMs',
    );
    t.equal(lookups.count, 3, 'and the next one is made ahead');
    await new Promise((resolve) => setTimeout(resolve, 50));
    t.equal(
      await auth.authenticate(hashApiKeyText(key)),
      undefined,
      'which saw the revocation: refused',
    );
  });

  t.test('rate limiter: the next claim is made before the tokens run out', async (t) => {
    const limiter = createRateLimiter({
      pool: db.pool,
      now: () => Date.parse('2030-03-02T00:00:00Z'),
    });
    const claims = countQueries(t, 'access-take-tokens');
    await limiter.take('key:steady', 1_000_000);
    t.equal(claims.count, 1, 'the first request waits for the first claim (1,000)');
    for (let i = 0; i < 748; i++) await limiter.take('key:steady', 1_000_000);
    t.equal(claims.count, 1, '251 left: no claim yet');
    await limiter.take('key:steady', 1_000_000);
    t.equal(claims.count, 2, '250 (a quarter) left: the next claim goes out');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const decisions = [];
    for (let i = 0; i < 1000; i++) decisions.push(await limiter.take('key:steady', 1_000_000));
    t.ok(decisions.every((d) => d.allowed));
    t.equal(claims.count, 3, 'one more ahead; none waited for');
  });

  t.test('rate limiter: one limit across two instances, a new window, no limit', async (t) => {
    let now = Date.parse('2030-03-01T00:00:10Z');
    const a = createRateLimiter({ pool: db.pool, now: () => now });
    const b = createRateLimiter({ pool: db.pool, now: () => now });
    const limit = 30;
    const decisions = await Promise.all(
      Array.from({ length: 80 }, (_, i) => (i % 2 ? a : b).take('key:shared', limit)),
    );
    t.equal(decisions.filter((d) => d.allowed).length, limit, 'exactly the limit, in all');
    const refused = decisions.find((d) => !d.allowed);
    t.match(refused, { limit, remaining: 0, resetSeconds: 50 });
    now += 50_000; // the next minute
    const fresh = await a.take('key:shared', limit);
    t.equal(fresh.allowed, true, 'a new window');
    t.equal(fresh.resetSeconds, 60);
    t.ok(fresh.remaining < limit && fresh.remaining > 0);
    t.match(await a.take('key:other', 0), { allowed: true }, 'limit 0: none');
    a.sweep();
  });

  t.test('rate limiter: a small limit is exact; remaining counts down', async (t) => {
    const limiter = createRateLimiter({
      pool: db.pool,
      now: () => Date.parse('2030-03-01T01:00:00Z'),
    });
    const seen = [];
    for (let i = 0; i < 5; i++) seen.push(await limiter.take('address:127.0.0.9', 3));
    t.same(
      seen.map((d) => [d.allowed, d.remaining]),
      [
        [true, 2],
        [true, 1],
        [true, 0],
        [false, 0],
        [false, 0],
      ],
    );
  });

  t.test('access log writer: batched, and kept while the database refuses', async (t) => {
    const writer = createAccessLogWriter({ pool: db.pool, flushMs: 3_600_000 });
    t.teardown(() => writer.close());
    const at = new Date('2030-04-01T00:00:00Z');
    for (let i = 0; i < 30; i++) {
      writer.record({
        at,
        keyId: null,
        address: '127.0.0.1',
        method: 'GET',
        path: `/api/x/${i}`,
        status: 401,
        reason: 'no_credentials',
      });
    }
    const count = async () =>
      (await readRefusals(db.pool, { limit: 1000, from: at })).entries.length;
    t.equal(await count(), 0, 'nothing written per request');
    const query = db.pool.query.bind(db.pool);
    db.pool.query = (async () => {
      throw new Error('database down');
    }) as unknown as typeof db.pool.query;
    await writer.flush();
    db.pool.query = query;
    t.equal(await count(), 0);
    await writer.flush();
    t.equal(await count(), 30, 'all of them once the database is back');
  });

  t.test('bootstrap: OPERATOR_API_KEY once; else a key in a mode-600 file, once', async (t) => {
    const own = await createTestDatabase(t, 5);
    await migrateAccess(own.pool);
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'wallet-bootstrap-'));
    t.teardown(() => rm(dataDir, { recursive: true, force: true }));
    const lines: string[] = [];
    const log = { info: (m: string) => lines.push(m), warn: (m: string) => lines.push(m) };

    const made = await Promise.all(
      [1, 2, 3].map(() =>
        bootstrapOperatorKey({ pool: own.pool, operatorApiKey: undefined, dataDir, log }),
      ),
    );
    const generated = made.filter((m) => m.made === 'generated');
    t.equal(generated.length, 1, 'three instances at once make one key');
    const first = generated[0] as { key: string; file: string };
    const file = path.join(dataDir, OPERATOR_KEY_FILE);
    t.equal(first.file, file);
    t.equal(((await stat(file)).mode & 0o777).toString(8), '600');
    t.equal((await readFile(file, 'utf8')).trim(), first.key);
    t.equal(lines.filter((l) => l.includes(first.key)).length, 1, 'logged once');
    t.match((await findKeyByHash(own.pool, hashApiKey(first.key))) ?? {}, { kind: 'operator' });

    lines.length = 0;
    const later = await bootstrapOperatorKey({
      pool: own.pool,
      operatorApiKey: undefined,
      dataDir,
      log,
    });
    t.same(later, { made: 'none' });
    t.notOk(lines.join('\n').includes(first.key), 'a later start does not print it');
    t.match(lines.join('\n'), file, 'it says where the file is');

    const fromEnv = 'x'.repeat(40);
    for (let i = 0; i < 2; i++)
      await bootstrapOperatorKey({ pool: own.pool, operatorApiKey: fromEnv, dataDir, log });
    const keys = await listKeys(own.pool);
    t.equal(keys.length, 2, 'the environment key is stored once, across restarts');
    const envKey = await findKeyByHash(own.pool, hashApiKey(fromEnv));
    t.match(envKey ?? {}, { kind: 'operator', name: 'OPERATOR_API_KEY' });
    await revokeKey(own.pool, envKey?.id as string);
    lines.length = 0;
    await bootstrapOperatorKey({ pool: own.pool, operatorApiKey: fromEnv, dataDir, log });
    t.ok((await findKeyByHash(own.pool, hashApiKey(fromEnv)))?.revokedAt, 'stays revoked');
    t.match(lines.join('\n'), /revoked/);
  });

  t.test('bootstrap: a file that exists is replaced with mode 600', async (t) => {
    const own = await createTestDatabase(t, 5);
    await migrateAccess(own.pool);
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'wallet-bootstrap-'));
    t.teardown(() => rm(dataDir, { recursive: true, force: true }));
    const file = path.join(dataDir, OPERATOR_KEY_FILE);
    await writeFile(file, 'stale\n', { mode: 0o644 });
    const made = await bootstrapOperatorKey({
      pool: own.pool,
      operatorApiKey: undefined,
      dataDir,
      log: { info: () => {}, warn: () => {} },
    });
    t.equal(((await stat(file)).mode & 0o777).toString(8), '600');
    t.equal((await readFile(file, 'utf8')).trim(), (made as { key: string }).key);
  });
});

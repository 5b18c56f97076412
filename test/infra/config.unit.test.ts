import t from 'tap';
import { ConfigError, loadConfig } from '../../src/infra/config.ts';

t.test('PUBLIC_URL: an http(s) address for links, without its trailing slash', async (t) => {
  t.equal(loadConfig({}).publicUrl, undefined);
  t.equal(
    loadConfig({ PUBLIC_URL: 'https://wallets.example.com/' }).publicUrl,
    'https://wallets.example.com',
  );
  t.equal(
    loadConfig({ PUBLIC_URL: 'http://host:8080/ledger/' }).publicUrl,
    'http://host:8080/ledger',
  );
  for (const bad of ['wallets.example.com', 'ftp://x', 'https://x/?a=1', 'https://x/#y'])
    t.throws(() => loadConfig({ PUBLIC_URL: bad }), ConfigError, bad);
});

t.test('access settings: defaults, and errors that name the variable', async (t) => {
  const access = loadConfig({}).access;
  t.match(access, {
    auth: true,
    operatorApiKey: undefined,
    rateLimitPerKey: 1200,
    rateLimitAnonymous: 60,
    operatorAllowedCidrs: [],
    accessLogRetentionDays: 90,
    corsOrigins: [],
  });
  t.equal(loadConfig({ AUTH: 'off' }).access.auth, false);
  t.equal(loadConfig({ AUTH: 'ON' }).access.auth, true);
  const key = 'k'.repeat(32);
  t.equal(loadConfig({ OPERATOR_API_KEY: key }).access.operatorApiKey, key);
  t.same(loadConfig({ OPERATOR_ALLOWED_CIDRS: '10.0.0.0/8, ::1' }).access.operatorAllowedCidrs, [
    { address: '10.0.0.0', prefix: 8, family: 'ipv4' },
    { address: '::1', prefix: 128, family: 'ipv6' },
  ]);
  t.same(
    loadConfig({ CORS_ORIGINS: 'https://a.example,http://localhost:5173' }).access.corsOrigins,
    ['https://a.example', 'http://localhost:5173'],
  );
  const bad: Record<string, string>[] = [
    { AUTH: 'maybe' },
    { OPERATOR_API_KEY: 'short' },
    { OPERATOR_API_KEY: `${'k'.repeat(40)} with spaces` },
    { OPERATOR_ALLOWED_CIDRS: '10.0.0.0/40' },
    { CORS_ORIGINS: 'https://a.example/path' },
    { CORS_ORIGINS: '*' },
    { RATE_LIMIT_PER_KEY: '-1' },
    { RATE_LIMIT_ANONYMOUS: 'many' },
    { ACCESS_LOG_RETENTION_DAYS: '0' },
  ];
  for (const env of bad) {
    const [name] = Object.keys(env) as [string];
    t.throws(() => loadConfig(env), { name: 'ConfigError', message: new RegExp(name) }, name);
  }
});

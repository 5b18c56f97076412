import t from 'tap';
import { ConfigError, loadConfig, parseDuration } from '../../src/infra/config.ts';

t.test('webhook settings: defaults', async (t) => {
  const { webhooks } = loadConfig({});
  t.same(webhooks, {
    allowPrivateTargets: false,
    retryScheduleMs: [5000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000],
    timeoutMs: 10_000,
    disableAfterMs: 5 * 86_400_000,
    concurrencyPerEndpoint: 8,
    leaseMs: 30_000,
    retentionDays: 30,
    secretKey: undefined,
  });
});

t.test('webhook settings: given, and errors that name the variable', async (t) => {
  const webhooks = loadConfig({
    WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
    WEBHOOK_RETRY_SCHEDULE: '50ms, 100ms,1s',
    WEBHOOK_TIMEOUT_MS: '500',
    WEBHOOK_DISABLE_AFTER: '2h',
    WEBHOOK_LEASE_MS: '2000',
    WEBHOOK_SECRET_KEY: 'a'.repeat(64),
  }).webhooks;
  t.match(webhooks, {
    allowPrivateTargets: true,
    retryScheduleMs: [50, 100, 1000],
    timeoutMs: 500,
    disableAfterMs: 7_200_000,
    leaseMs: 2000,
  });
  t.equal(webhooks.secretKey?.length, 32);
  t.same(loadConfig({ WEBHOOK_RETRY_SCHEDULE: 'none' }).webhooks.retryScheduleMs, []);
  t.equal(
    loadConfig({ WEBHOOK_SECRET_KEY: Buffer.alloc(32, 1).toString('base64') }).webhooks.secretKey
      ?.length,
    32,
  );
  for (const [name, value, says] of [
    ['WEBHOOK_RETRY_SCHEDULE', '5s,soon', /WEBHOOK_RETRY_SCHEDULE must list/],
    ['WEBHOOK_RETRY_SCHEDULE', '8d', /WEBHOOK_RETRY_SCHEDULE/],
    ['WEBHOOK_DISABLE_AFTER', '0s', /WEBHOOK_DISABLE_AFTER must be a duration/],
    [
      'WEBHOOK_ALLOW_PRIVATE_TARGETS',
      'maybe',
      /WEBHOOK_ALLOW_PRIVATE_TARGETS must be true or false/,
    ],
    ['WEBHOOK_SECRET_KEY', 'short', /WEBHOOK_SECRET_KEY must be 32 bytes/],
    [
      'WEBHOOK_LEASE_MS',
      '5000',
      /WEBHOOK_LEASE_MS \(5000\) must be longer than WEBHOOK_TIMEOUT_MS/,
    ],
  ] as const) {
    t.throws(
      () => loadConfig({ [name]: value }),
      { name: 'ConfigError', message: says },
      `${name}=${value}`,
    );
  }
  t.throws(() => loadConfig({ WEBHOOK_TIMEOUT_MS: '1' }), ConfigError);
});

t.test('durations', async (t) => {
  t.equal(parseDuration('250ms'), 250);
  t.equal(parseDuration('250'), 250);
  t.equal(parseDuration('5s'), 5000);
  t.equal(parseDuration('30m'), 1_800_000);
  t.equal(parseDuration('2h'), 7_200_000);
  t.equal(parseDuration('5d'), 432_000_000);
  t.equal(parseDuration('1.5s'), undefined);
  t.equal(parseDuration('-1s'), undefined);
  t.equal(parseDuration('5 weeks'), undefined);
});

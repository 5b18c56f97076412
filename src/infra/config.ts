// Every setting comes from the environment, is checked once at start, and fails with a message
// that names the variable. The README's configuration reference lists the same variables.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type Cidr, parseCidr } from '../access/addresses.ts';
import { isCurrency } from '../domain/money.ts';

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  /** DATA_DIR was not set: `dataDir` is the default `./.data` (its cluster may live elsewhere). */
  readonly defaultDataDir: boolean;
  /** External PostgreSQL; absent: the embedded one in `dataDir`. */
  readonly databaseUrl: string | undefined;
  /** `esdb://...`: EventStoreDB; absent: the PostgreSQL event store. */
  readonly eventStoreUrl: string | undefined;
  readonly logLevel: string;
  readonly defaultCurrency: string;
  readonly transactionServiceUrl: string | undefined;
  readonly transactionServicePort: number;
  readonly withdrawalMaxAttempts: number;
  readonly withdrawalRetryBaseMs: number;
  readonly schedulerConcurrency: number;
  readonly thirdPartyTimeoutMs: number;
  readonly leaseMs: number;
  /** Port of /health and /metrics for any role (the api's too); absent: none. */
  readonly opsPort: number | undefined;
  /** API_METRICS: /metrics on the API's own port too (false: only on OPS_PORT, if set). */
  readonly apiMetrics: boolean;
  /** Trust X-Forwarded-* from a proxy in front (wallet URLs then show the client's scheme and host). */
  readonly trustProxy: boolean;
  /** The service's public address for links (wallet `url`, `next`); absent: from the request. */
  readonly publicUrl: string | undefined;
  /** Keys, rate limits, the operator allow-list, the access log, CORS (README, "Access"). */
  readonly access: AccessConfig;
  /** Webhook registrations and the notify role's deliveries (README, "Webhooks"). */
  readonly webhooks: WebhookConfig;
  /** Server-Sent Events (README, "Live updates"). */
  readonly live: LiveConfig;
}

export interface LiveConfig {
  /** LIVE_HEARTBEAT_SECONDS: a comment line on every open stream this often (proxies' idle timers). */
  readonly heartbeatMs: number;
  /** LIVE_RECHECK_SECONDS: how often an open stream's key (or session) is checked again. */
  readonly recheckMs: number;
  /** LIVE_CLIENT_BUFFER_KIB: a client this far behind in reading its stream is dropped. */
  readonly maxBufferedBytes: number;
}

type Env = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}".`);
  }
  return value;
}

/** An http(s) origin, optionally with a path prefix, without the trailing slash. */
function publicUrl(env: Env): string | undefined {
  const raw = env.PUBLIC_URL;
  if (!raw) return undefined;
  const url = URL.canParse(raw) ? new URL(raw) : undefined;
  if (!url || !['http:', 'https:'].includes(url.protocol) || url.search || url.hash) {
    throw new ConfigError(
      `PUBLIC_URL must be an http(s) URL such as https://wallets.example.com, got "${raw}".`,
    );
  }
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
}

function flag(env: Env, name: string): boolean {
  const raw = (env[name] ?? '').toLowerCase();
  if (['', '0', 'false', 'no'].includes(raw)) return false;
  if (['1', 'true', 'yes'].includes(raw)) return true;
  throw new ConfigError(`${name} must be true or false, got "${env[name]}".`);
}

export function loadConfig(env: Env = process.env): Config {
  const defaultCurrency = env.DEFAULT_CURRENCY || 'USD';
  if (!isCurrency(defaultCurrency)) {
    throw new ConfigError(`DEFAULT_CURRENCY must be an ISO 4217 code, got "${defaultCurrency}".`);
  }
  const eventStoreUrl = env.EVENTSTORE_URL || undefined;
  if (eventStoreUrl && !/^esdb(\+discover)?:\/\//.test(eventStoreUrl)) {
    throw new ConfigError(
      `EVENTSTORE_URL must be an esdb:// connection string, got "${eventStoreUrl}".`,
    );
  }
  const logLevel = env.LOG_LEVEL || 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    throw new ConfigError(
      `LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent.`,
    );
  }
  return {
    port: integer(env, 'PORT', 3000, 0, 65535),
    host: env.HOST || '0.0.0.0',
    dataDir: path.resolve(env.DATA_DIR || '.data'),
    defaultDataDir: !env.DATA_DIR,
    databaseUrl: env.DATABASE_URL || undefined,
    eventStoreUrl,
    logLevel,
    defaultCurrency,
    transactionServiceUrl: env.TRANSACTION_SERVICE_URL || undefined,
    transactionServicePort: integer(env, 'TRANSACTION_SERVICE_PORT', 8010, 0, 65535),
    withdrawalMaxAttempts: integer(env, 'WITHDRAWAL_MAX_ATTEMPTS', 3, 1, 100),
    withdrawalRetryBaseMs: integer(env, 'WITHDRAWAL_RETRY_BASE_MS', 1000, 1, 3_600_000),
    schedulerConcurrency: integer(env, 'SCHEDULER_CONCURRENCY', 256, 1, 10_000),
    thirdPartyTimeoutMs: integer(env, 'THIRD_PARTY_TIMEOUT_MS', 5000, 100, 600_000),
    leaseMs: integer(env, 'SCHEDULER_LEASE_MS', 30_000, 1000, 3_600_000),
    opsPort: env.OPS_PORT ? integer(env, 'OPS_PORT', 0, 0, 65535) : undefined,
    apiMetrics: (env.API_METRICS ?? '') === '' || flag(env, 'API_METRICS'),
    trustProxy: flag(env, 'TRUST_PROXY'),
    publicUrl: publicUrl(env),
    access: accessConfig(env),
    webhooks: webhookConfig(env),
    live: {
      heartbeatMs: integer(env, 'LIVE_HEARTBEAT_SECONDS', 15, 1, 3600) * 1000,
      recheckMs: integer(env, 'LIVE_RECHECK_SECONDS', 5, 1, 3600) * 1000,
      maxBufferedBytes: integer(env, 'LIVE_CLIENT_BUFFER_KIB', 1024, 16, 1_048_576) * 1024,
    },
  };
}

// --- Access: API keys, rate limits, allow-list, access log, CORS --------------------------------

export interface AccessConfig {
  /** AUTH=off: no keys, limits or allow-list (the original's open API). */
  readonly auth: boolean;
  /** OPERATOR_API_KEY: this string is an operator key (at least 32 visible ASCII characters). */
  readonly operatorApiKey: string | undefined;
  /** Requests per minute per key (RATE_LIMIT_PER_KEY); 0: no limit. */
  readonly rateLimitPerKey: number;
  /** Requests per minute per client address without a valid key (RATE_LIMIT_ANONYMOUS); 0: no limit. */
  readonly rateLimitAnonymous: number;
  /** OPERATOR_ALLOWED_CIDRS: operator keys are refused from other addresses; empty: from any. */
  readonly operatorAllowedCidrs: readonly Cidr[];
  /** ACCESS_LOG_RETENTION_DAYS: refused requests are kept this long. */
  readonly accessLogRetentionDays: number;
  /** CORS_ORIGINS: origins allowed to call the API from a browser; empty: CORS off. */
  readonly corsOrigins: readonly string[];
  /** SESSION_HOURS: how long a console session lasts after signing in. */
  readonly sessionTtlMs: number;
}

const list = (raw: string | undefined) =>
  (raw ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');

/** The contents of the file a `*_FILE` variable names (a Docker secret), trimmed. */
function secretFile(env: Env, name: string): string | undefined {
  const file = env[name];
  if (!file) return undefined;
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch (error) {
    throw new ConfigError(`${name}: cannot read ${file} (${(error as Error).message}).`);
  }
}

function accessConfig(env: Env): AccessConfig {
  const auth = (env.AUTH || 'on').toLowerCase();
  if (!['on', 'off', 'true', 'false', '1', '0'].includes(auth)) {
    throw new ConfigError(`AUTH must be on or off, got "${env.AUTH}".`);
  }
  const operatorApiKey = env.OPERATOR_API_KEY || secretFile(env, 'OPERATOR_API_KEY_FILE');
  if (operatorApiKey !== undefined && !/^[\x21-\x7e]{32,512}$/.test(operatorApiKey)) {
    throw new ConfigError(
      'OPERATOR_API_KEY must be 32 to 512 visible ASCII characters (no spaces); ' +
        `got ${operatorApiKey.length} characters.`,
    );
  }
  const operatorAllowedCidrs = list(env.OPERATOR_ALLOWED_CIDRS).map((entry) => {
    const cidr = parseCidr(entry);
    if (!cidr) {
      throw new ConfigError(
        `OPERATOR_ALLOWED_CIDRS must be IPv4 or IPv6 ranges such as 10.0.0.0/8 or ::1/128, got "${entry}".`,
      );
    }
    return cidr;
  });
  const corsOrigins = list(env.CORS_ORIGINS).map((origin) => {
    const url = URL.canParse(origin) ? new URL(origin) : undefined;
    if (!url || !['http:', 'https:'].includes(url.protocol) || url.origin !== origin) {
      throw new ConfigError(
        `CORS_ORIGINS must be origins such as https://console.example.com (scheme, host, port; no path), got "${origin}".`,
      );
    }
    return origin;
  });
  return {
    auth: ['on', 'true', '1'].includes(auth),
    operatorApiKey,
    rateLimitPerKey: integer(env, 'RATE_LIMIT_PER_KEY', 1200, 0, 1_000_000_000),
    rateLimitAnonymous: integer(env, 'RATE_LIMIT_ANONYMOUS', 60, 0, 1_000_000_000),
    operatorAllowedCidrs,
    accessLogRetentionDays: integer(env, 'ACCESS_LOG_RETENTION_DAYS', 90, 1, 36_500),
    corsOrigins,
    sessionTtlMs: integer(env, 'SESSION_HOURS', 8, 1, 720) * 3_600_000,
  };
}

// --- Webhooks: registrations (api) and deliveries (the notify role) -----------------------------

export interface WebhookConfig {
  /** WEBHOOK_ALLOW_PRIVATE_TARGETS: loopback, private and link-local targets allowed (tests, dev). */
  readonly allowPrivateTargets: boolean;
  /** WEBHOOK_RETRY_SCHEDULE: the wait before each retry; after the last one a delivery fails. */
  readonly retryScheduleMs: readonly number[];
  /** WEBHOOK_TIMEOUT_MS: an answer's status must arrive within this, else the attempt failed. */
  readonly timeoutMs: number;
  /** WEBHOOK_DISABLE_AFTER: an endpoint failing every attempt this long is disabled. */
  readonly disableAfterMs: number;
  /** WEBHOOK_CONCURRENCY_PER_ENDPOINT: requests in flight to one endpoint per notify instance. */
  readonly concurrencyPerEndpoint: number;
  /** WEBHOOK_LEASE_MS: how long a notify instance holds a claimed wallet lane of an endpoint. */
  readonly leaseMs: number;
  /** WEBHOOK_RETENTION_DAYS: delivered and failed deliveries are kept this long. */
  readonly retentionDays: number;
  /** WEBHOOK_SECRET_KEY: 32 bytes (base64 or hex) that encrypt signing secrets at rest. */
  readonly secretKey: Buffer | undefined;
}

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** `250ms`, `5s`, `30m`, `2h`, `5d` (or a bare number of milliseconds) in milliseconds. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d{1,9})(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * (DURATION_UNITS[match[2] ?? 'ms'] as number);
}

function duration(env: Env, name: string, fallback: string, min: number, max: number): number {
  const raw = env[name] || fallback;
  const value = parseDuration(raw);
  if (value === undefined || value < min || value > max) {
    throw new ConfigError(
      `${name} must be a duration such as 500ms, 5s, 30m, 2h or 5d (${min} ms to ${max / 86_400_000} days), got "${raw}".`,
    );
  }
  return value;
}

const MAX_BACKOFF_MS = 7 * 86_400_000;

function webhookConfig(env: Env): WebhookConfig {
  const schedule = env.WEBHOOK_RETRY_SCHEDULE || '5s,5m,30m,2h,5h,10h,10h';
  const retryScheduleMs =
    schedule.trim() === 'none' ? [] : list(schedule).map((s) => parseDuration(s) ?? Number.NaN);
  if (
    retryScheduleMs.length > 50 ||
    retryScheduleMs.some((ms) => !Number.isFinite(ms) || ms < 1 || ms > MAX_BACKOFF_MS)
  ) {
    throw new ConfigError(
      `WEBHOOK_RETRY_SCHEDULE must list up to 50 waits such as 5s,5m,30m,2h (each 1 ms to 7 days), or none, got "${schedule}".`,
    );
  }
  const timeoutMs = integer(env, 'WEBHOOK_TIMEOUT_MS', 10_000, 100, 600_000);
  const leaseMs = integer(env, 'WEBHOOK_LEASE_MS', 30_000, 1000, 3_600_000);
  if (leaseMs <= timeoutMs) {
    throw new ConfigError(
      `WEBHOOK_LEASE_MS (${leaseMs}) must be longer than WEBHOOK_TIMEOUT_MS (${timeoutMs}): a lane is held while its request is in flight.`,
    );
  }
  return {
    allowPrivateTargets: flag(env, 'WEBHOOK_ALLOW_PRIVATE_TARGETS'),
    retryScheduleMs,
    timeoutMs,
    disableAfterMs: duration(env, 'WEBHOOK_DISABLE_AFTER', '5d', 1000, 365 * 86_400_000),
    concurrencyPerEndpoint: integer(env, 'WEBHOOK_CONCURRENCY_PER_ENDPOINT', 8, 1, 1000),
    leaseMs,
    retentionDays: integer(env, 'WEBHOOK_RETENTION_DAYS', 30, 1, 36_500),
    secretKey: secretKey(env),
  };
}

/** WEBHOOK_SECRET_KEY (or the file WEBHOOK_SECRET_KEY_FILE names): 32 bytes, base64 or hex. */
function secretKey(env: Env): Buffer | undefined {
  const raw = env.WEBHOOK_SECRET_KEY || secretFile(env, 'WEBHOOK_SECRET_KEY_FILE');
  if (raw === undefined) return undefined;
  if (/^[0-9a-f]{64}$/i.test(raw)) return Buffer.from(raw, 'hex');
  if (/^[A-Za-z0-9+/]{43}=?$/.test(raw)) return Buffer.from(raw, 'base64');
  throw new ConfigError(
    'WEBHOOK_SECRET_KEY must be 32 bytes as 64 hex digits or in base64 (`openssl rand -base64 32`).',
  );
}

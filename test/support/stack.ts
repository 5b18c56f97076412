// The service started for a test the way the CLI starts it, on a fresh database of its own and a
// free port: real PostgreSQL, real HTTP. `http` sends JSON and returns status, headers and body.
// The event store is opened the way the service opens it (`openEventStore` with the configured
// EVENTSTORE_URL): the PostgreSQL event store by default, or EventStoreDB through its connection
// string (`startEsdbStack`: the in-process stand-in, a test fixture). Read models are always in
// the test's PostgreSQL database.
// The roles run in this process (fast: what almost every test wants), or with `processes` each as
// a process of the CLI (what the ops tests and the benchmark need): the same configuration, the
// same order as `npm start` (the projector first: it creates the read models the others use), the
// same stopping. The benchmark runs its processes from the compiled build (bench/stack.ts).
// Keys are required (AUTH on) unless a test sets AUTH=off: each stack has an operator key of its
// own (`operatorKey`) that `http` sends, and a per-key limit that never binds; a client without a
// key is `httpClient(baseUrl)`.
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { request } from 'undici';
import { type Running, type Runtime, startApi, startProjector } from '../../src/cli/runtime.ts';
import type { EventStore } from '../../src/eventstore/eventStore.ts';
import { openEventStore } from '../../src/eventstore/index.ts';
import { loadConfig } from '../../src/infra/config.ts';
import { createLogger } from '../../src/infra/logger.ts';
import { findFreePort } from '../../src/infra/ports.ts';
import { type EsdbStandIn, startEsdbStandIn } from '../fixtures/esdbStandIn/index.ts';
import { startRole } from './cli.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import type { Teardown } from './process.ts';

export interface HttpResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: any;
  readonly text: string;
}

export type Http = (
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE',
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
) => Promise<HttpResponse>;

/** `defaultHeaders` go with every request (a request's own headers win). */
export function httpClient(baseUrl: string, defaultHeaders: Record<string, string> = {}): Http {
  return async (method, path, body, headers = {}) => {
    const hasBody = body !== undefined;
    const response = await request(`${baseUrl}${path}`, {
      method,
      headers: {
        ...(hasBody && typeof body !== 'string' ? { 'content-type': 'application/json' } : {}),
        ...defaultHeaders,
        ...headers,
      },
      body: hasBody ? (typeof body === 'string' ? body : JSON.stringify(body)) : undefined,
    });
    const text = await response.body.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {}
    return { status: response.statusCode, headers: response.headers, body: parsed, text };
  };
}

export interface Stack {
  readonly baseUrl: string;
  readonly http: Http;
  readonly db: StackDatabase;
  readonly store: EventStore;
  readonly runtime: Runtime;
  /** The operator key `http` sends (OPERATOR_API_KEY). */
  readonly operatorKey: string;
  /** The EventStoreDB stand-in the store talks to (only on `startEsdbStack`). */
  readonly standIn?: EsdbStandIn;
  /** Stops the projector (reads then answer from the stream after their wait). */
  stopProjector(): Promise<void>;
  /** With `processes`: the role processes, and the URLs of the transaction-service and OPS ports. */
  readonly processes?: {
    readonly api: RoleProcess;
    readonly projector?: RoleProcess;
    readonly scheduler?: RoleProcess;
    readonly transactionService?: RoleProcess;
    readonly transactionServiceUrl?: string;
    readonly opsUrls: { readonly projector?: string; readonly scheduler?: string };
    /** Starts one more role process with the stack's configuration plus `extra`. */
    startRole(role: string, extra?: Record<string, string>): Promise<RoleProcess>;
  };
}

export interface StackDatabase {
  readonly url: string;
  readonly pool: pg.Pool;
}

/** A role running as a process: ready, with what its ready line said (a URL). */
export interface RoleProcess {
  readonly pid: number;
  readonly readyMatch?: RegExpExecArray;
  stop(): Promise<unknown>;
}

export interface ProcessesOptions {
  /**
   * Starts `role` with `env` (the whole configuration) and resolves once it is ready; default:
   * `startRole` from the sources, stopped when the test ends.
   */
  readonly launch?: (role: string, env: Record<string, string>) => Promise<RoleProcess>;
  /** A scheduler too, paying through a transaction-service process with these settings. */
  readonly payouts?: Record<string, string>;
  /** /health and /metrics of the projector and the scheduler on ports of their own (OPS_PORT). */
  readonly opsPorts?: boolean;
}

export interface StackOptions {
  /** Configuration as the service reads it from its environment (EVENTSTORE_URL, ...). */
  readonly env?: Record<string, string>;
  readonly projector?: boolean;
  /** An event store the caller opened (and closes); default: the one the configuration names. */
  readonly store?: EventStore;
  /** A database the caller made (and drops); default: a fresh one, dropped with the test. */
  readonly database?: StackDatabase;
  /** Each role as a process of the CLI instead of in this process. */
  readonly processes?: ProcessesOptions;
  /** Wraps the store the roles get (e.g. to count calls). */
  readonly wrapStore?: (store: EventStore) => EventStore;
}

export type StartStack = (t: Teardown, options?: StackOptions) => Promise<Stack>;

/** An event store adapter the end-to-end suites run on; `name` goes into the test names. */
export interface StackTarget {
  readonly name: string;
  readonly startStack: StartStack;
}

export async function startStack(t: Teardown, options: StackOptions = {}): Promise<Stack> {
  const ownDb = options.database ? undefined : await createTestDatabase(t, 40);
  const db = options.database ?? (ownDb as TestDatabase);
  const operatorKey =
    options.env?.OPERATOR_API_KEY ?? `wlk_${randomBytes(32).toString('base64url')}`;
  // What every role of the stack is configured with, in process or not.
  const env = {
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    OPERATOR_API_KEY: operatorKey,
    RATE_LIMIT_PER_KEY: '1000000000',
    ...options.env,
  };
  const config = loadConfig(env);
  const ownStore = !options.store;
  let store: EventStore;
  try {
    store =
      options.store ??
      (await openEventStore({ eventStoreUrl: config.eventStoreUrl, pool: db.pool }));
  } catch (error) {
    await ownDb?.drop();
    throw error;
  }
  const runtime: Runtime = {
    config,
    db: { url: db.url, pool: db.pool, ownsCluster: false, close: async () => {} },
    store: options.wrapStore ? options.wrapStore(store) : store,
    log: createLogger('test', 'warn'),
    close: async () => {},
  };
  const roles: { stop(): Promise<unknown> }[] = [];
  t.teardown(async () => {
    for (const role of roles.reverse()) await role.stop();
    if (ownStore) await store.close();
    await ownDb?.drop(); // after the roles stopped using it (drop is idempotent)
  });
  const started = options.processes
    ? await startRoleProcesses(t, { ...env, DATABASE_URL: db.url }, options, roles)
    : await startRolesHere(runtime, options, roles);
  const baseUrl = started.apiUrl.replace('localhost', '127.0.0.1');
  return {
    baseUrl,
    http: httpClient(baseUrl, { authorization: `Bearer ${operatorKey}` }),
    operatorKey,
    db,
    store,
    runtime,
    stopProjector: async () => {
      await started.projector?.stop();
    },
    processes: started.processes,
  };
}

interface Started {
  readonly apiUrl: string;
  readonly projector?: { stop(): Promise<unknown> };
  readonly processes?: Stack['processes'];
}

/** The projector and the api in this process, as `npm start` composes them. */
async function startRolesHere(
  runtime: Runtime,
  options: StackOptions,
  roles: { stop(): Promise<unknown> }[],
): Promise<Started> {
  let projector: Running | undefined;
  if (options.projector !== false) {
    projector = startProjector(runtime);
    roles.push(projector);
  }
  const api = await startApi(runtime, 0);
  roles.push(api);
  return { apiUrl: api.url as string, projector };
}

/**
 * Each role as a process, in the order `npm start` starts them: the transaction-service (if there
 * is a scheduler), the projector, the api, the scheduler.
 */
async function startRoleProcesses(
  t: Teardown,
  env: Record<string, string>,
  options: StackOptions,
  roles: { stop(): Promise<unknown> }[],
): Promise<Started> {
  const { payouts, opsPorts } = options.processes ?? {};
  const launch: NonNullable<ProcessesOptions['launch']> =
    options.processes?.launch ?? ((role, roleEnv) => startRole(t, role, roleEnv));
  // Each reports the port it bound (PORT=0); the projector says it is active at LOG_LEVEL info.
  const base: Record<string, string> = {
    PORT: '0',
    TRANSACTION_SERVICE_PORT: '0',
    ...env,
    LOG_LEVEL: options.env?.LOG_LEVEL ?? 'info',
  };
  const start = async (role: string, extra: Record<string, string> = {}) => {
    const running = await launch(role, { ...base, ...extra });
    roles.push(running);
    return running;
  };
  const opsPort = async () => (opsPorts ? String(await findFreePort()) : undefined);
  const ops = { project: await opsPort(), schedule: await opsPort() };
  const opsEnv = (role: 'project' | 'schedule'): Record<string, string> =>
    ops[role] ? { OPS_PORT: ops[role] } : {};
  const opsUrl = (role: 'project' | 'schedule') =>
    ops[role] ? `http://${base.HOST}:${ops[role]}` : undefined;

  const transactionService = payouts ? await start('transaction-service', payouts) : undefined;
  const transactionServiceUrl = transactionService?.readyMatch?.[1];
  const projector =
    options.projector !== false ? await start('project', opsEnv('project')) : undefined;
  const api = await start('serve');
  const scheduler = transactionServiceUrl
    ? await start('schedule', {
        ...opsEnv('schedule'),
        TRANSACTION_SERVICE_URL: transactionServiceUrl,
      })
    : undefined;
  const apiUrl = api.readyMatch?.[1];
  if (!apiUrl) throw new Error('the api said no URL when ready');
  return {
    apiUrl,
    projector,
    processes: {
      api,
      projector,
      scheduler,
      transactionService,
      transactionServiceUrl,
      opsUrls: { projector: opsUrl('project'), scheduler: opsUrl('schedule') },
      startRole: (role, extra) => start(role, extra),
    },
  };
}

/**
 * A stack on the EventStoreDB adapter: an in-process EventStoreDB stand-in of its own (a test
 * fixture speaking the gRPC protocol), reached through `EVENTSTORE_URL` as the service reaches a
 * real server. Each stack has its own stand-in, so no stack projects another one's events.
 */
export async function startEsdbStack(t: Teardown, options: StackOptions = {}): Promise<Stack> {
  const standIn = await startEsdbStandIn();
  // Registered first, so it runs after the stack's own teardown (tap runs them in reverse).
  t.teardown(() => standIn.stop());
  const stack = await startStack(t, {
    ...options,
    env: { ...options.env, EVENTSTORE_URL: standIn.connectionString },
  });
  return { ...stack, standIn };
}

export const POSTGRES_TARGET: StackTarget = {
  name: 'PostgreSQL event store',
  startStack,
};

export const ESDB_STAND_IN_TARGET: StackTarget = {
  name: 'EventStoreDB adapter, stand-in',
  startStack: startEsdbStack,
};

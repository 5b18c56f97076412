// The service started for a test the way the CLI starts it, on a fresh database of its own and a
// free port: real PostgreSQL, real HTTP. `http` sends JSON and returns status, headers and body.
// The event store is opened the way the service opens it (`openEventStore` with the configured
// EVENTSTORE_URL): the PostgreSQL event store by default, or EventStoreDB through its connection
// string (`startEsdbStack`: the in-process stand-in, a test fixture). Read models are always in
// the test's PostgreSQL database.
// Keys are required (AUTH on) unless a test sets AUTH=off: each stack has an operator key of its
// own (`operatorKey`) that `http` sends, and a per-key limit high enough for any suite; a client
// without a key is `httpClient(baseUrl)`.
import { randomBytes } from 'node:crypto';
import type { Test } from 'tap';
import { request } from 'undici';
import { type Running, type Runtime, startApi, startProjector } from '../../src/cli/runtime.ts';
import type { EventStore } from '../../src/eventstore/eventStore.ts';
import { openEventStore } from '../../src/eventstore/index.ts';
import { loadConfig } from '../../src/infra/config.ts';
import { createLogger } from '../../src/infra/logger.ts';
import { type EsdbStandIn, startEsdbStandIn } from '../fixtures/esdbStandIn/index.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';

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
  readonly db: TestDatabase;
  readonly store: EventStore;
  readonly runtime: Runtime;
  /** The operator key `http` sends (OPERATOR_API_KEY). */
  readonly operatorKey: string;
  /** The EventStoreDB stand-in the store talks to (only on `startEsdbStack`). */
  readonly standIn?: EsdbStandIn;
  /** Stops the projector (reads then answer from the stream after their wait). */
  stopProjector(): Promise<void>;
}

export interface StackOptions {
  /** Configuration as the service reads it from its environment (EVENTSTORE_URL, ...). */
  readonly env?: Record<string, string>;
  readonly projector?: boolean;
  /** An event store the caller opened (and closes); default: the one the configuration names. */
  readonly store?: EventStore;
  /** Wraps the store the roles get (e.g. to count calls). */
  readonly wrapStore?: (store: EventStore) => EventStore;
}

export type StartStack = (t: Test, options?: StackOptions) => Promise<Stack>;

/** An event store adapter the end-to-end suites run on; `name` goes into the test names. */
export interface StackTarget {
  readonly name: string;
  readonly startStack: StartStack;
}

export async function startStack(t: Test, options: StackOptions = {}): Promise<Stack> {
  const db = await createTestDatabase(t, 40);
  const operatorKey =
    options.env?.OPERATOR_API_KEY ?? `wlk_${randomBytes(32).toString('base64url')}`;
  const config = loadConfig({
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    OPERATOR_API_KEY: operatorKey,
    RATE_LIMIT_PER_KEY: '1000000',
    ...options.env,
  });
  const ownStore = !options.store;
  let store: EventStore;
  try {
    store =
      options.store ??
      (await openEventStore({ eventStoreUrl: config.eventStoreUrl, pool: db.pool }));
  } catch (error) {
    await db.drop();
    throw error;
  }
  const runtime: Runtime = {
    config,
    db: { url: db.url, pool: db.pool, ownsCluster: false, close: async () => {} },
    store: options.wrapStore ? options.wrapStore(store) : store,
    log: createLogger('test', 'warn'),
    close: async () => {},
  };
  const roles: Running[] = [];
  let projector: Running | undefined;
  if (options.projector !== false) {
    projector = startProjector(runtime);
    roles.push(projector);
  }
  const api = await startApi(runtime, 0);
  roles.push(api);
  t.teardown(async () => {
    for (const role of roles.reverse()) await role.stop();
    if (ownStore) await store.close();
    await db.drop(); // after the roles stopped using it (drop is idempotent)
  });
  const baseUrl = (api.url as string).replace('localhost', '127.0.0.1');
  return {
    baseUrl,
    http: httpClient(baseUrl, { authorization: `Bearer ${operatorKey}` }),
    operatorKey,
    db,
    store,
    runtime,
    stopProjector: async () => projector?.stop(),
  };
}

/**
 * A stack on the EventStoreDB adapter: an in-process EventStoreDB stand-in of its own (a test
 * fixture speaking the gRPC protocol), reached through `EVENTSTORE_URL` as the service reaches a
 * real server. Each stack has its own stand-in, so no stack projects another one's events.
 */
export async function startEsdbStack(t: Test, options: StackOptions = {}): Promise<Stack> {
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

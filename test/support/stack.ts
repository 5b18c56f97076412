// The service started for a test the way the CLI starts it, on a fresh database of its own and a
// free port: real PostgreSQL, real HTTP. `http` sends JSON and returns status, headers and body.
import type { Test } from 'tap';
import { request } from 'undici';
import { type Running, type Runtime, startApi, startProjector } from '../../src/cli/runtime.ts';
import type { EventStore } from '../../src/eventstore/eventStore.ts';
import { openPostgresEventStore } from '../../src/eventstore/postgres/index.ts';
import { loadConfig } from '../../src/infra/config.ts';
import { createLogger } from '../../src/infra/logger.ts';
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

export function httpClient(baseUrl: string): Http {
  return async (method, path, body, headers = {}) => {
    const hasBody = body !== undefined;
    const response = await request(`${baseUrl}${path}`, {
      method,
      headers: {
        ...(hasBody && typeof body !== 'string' ? { 'content-type': 'application/json' } : {}),
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
  /** Stops the projector (reads then answer from the stream after their wait). */
  stopProjector(): Promise<void>;
}

export async function startStack(
  t: Test,
  options: { env?: Record<string, string>; projector?: boolean; store?: EventStore } = {},
): Promise<Stack> {
  const db = await createTestDatabase(t, 40);
  const store = options.store ?? (await openPostgresEventStore(db.pool));
  const config = loadConfig({ LOG_LEVEL: 'warn', HOST: '127.0.0.1', ...options.env });
  const runtime: Runtime = {
    config,
    db: { url: db.url, pool: db.pool, ownsCluster: false, close: async () => {} },
    store,
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
    await db.drop(); // after the roles stopped using it (drop is idempotent)
  });
  const baseUrl = (api.url as string).replace('localhost', '127.0.0.1');
  return {
    baseUrl,
    http: httpClient(baseUrl),
    db,
    store,
    runtime,
    stopProjector: async () => projector?.stop(),
  };
}

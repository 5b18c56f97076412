// HTTP load from autocannon (keep-alive connections, one request in flight per connection: closed
// loop), bounded in time. Latencies are taken from every 2xx response at sub-millisecond
// resolution (autocannon's own histogram rounds to whole milliseconds); throughput counts 2xx only.
import autocannon from 'autocannon';
import { percentile } from './measure.ts';

export interface LoadOptions {
  /** Base URL on loopback, e.g. http://127.0.0.1:1234 */
  readonly url: string;
  readonly connections: number;
  readonly durationMs: number;
  readonly method: 'GET' | 'POST' | 'PATCH';
  /** A fixed path, or one chosen per request. */
  readonly path: string | (() => string);
  readonly body?: string;
  /** Sent with every request (e.g. the API key). */
  readonly headers?: Record<string, string>;
}

export interface LoadResult {
  readonly connections: number;
  readonly seconds: number;
  readonly ok: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly statusCodes: Record<string, number>;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const { url, connections, durationMs, method, path, body } = options;
  const headers: Record<string, string> = {
    ...(body ? { 'content-type': 'application/json' } : {}),
    ...options.headers,
  };
  const request =
    typeof path === 'string'
      ? { method, path, headers, body }
      : {
          method,
          headers,
          body,
          setupRequest: (req: object) => ({ ...req, path: path() }),
        };
  const latencies: number[] = [];
  const started = performance.now();
  const instance = autocannon({
    url,
    connections,
    duration: durationMs / 1000,
    timeout: 30,
    requests: [request],
  });
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    if (status >= 200 && status < 300) latencies.push(ms);
  });
  const result = await instance;
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const statusCodes = Object.fromEntries(
    Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count]),
  );
  return {
    connections,
    seconds,
    ok: latencies.length,
    non2xx: result.non2xx,
    errors: result.errors,
    perSecond: latencies.length / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.at(-1) ?? Number.NaN,
    statusCodes,
  };
}

// HTTP load: keep-alive connections, one request in flight per connection (closed loop), bounded in
// time; throughput counts 2xx only. The generator is wrk when it is installed (a C program: the
// load costs the two cores the least, as in the measurements the issues quote), else autocannon
// (a dependency, so the benchmark always runs). Every result says which one made it.
// Latencies: autocannon's from every 2xx response at sub-millisecond resolution; wrk's from its
// own histogram (p50, p99, max over every response).
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import autocannon from 'autocannon';
import { percentile } from './measure.ts';

/** One kind of request of a mixed load. */
export interface RequestShape {
  readonly method: 'GET' | 'POST' | 'PATCH';
  readonly path: string;
  readonly body?: string;
}

export interface LoadOptions {
  /** Base URL on loopback, e.g. http://127.0.0.1:1234 */
  readonly url: string;
  readonly connections: number;
  readonly durationMs: number;
  readonly method: 'GET' | 'POST' | 'PATCH';
  /** A fixed path, or paths of which each request takes one at random. */
  readonly path: string | readonly string[];
  readonly body?: string;
  /** A mixed load instead: each request is one of these at random (method, path, body). */
  readonly mix?: readonly RequestShape[];
  /** Sent with every request (e.g. the API key). */
  readonly headers?: Record<string, string>;
  /** Use autocannon even where wrk is installed (a section comparing with older figures). */
  readonly generator?: 'autocannon';
}

export interface LoadResult {
  readonly generator: 'wrk' | 'autocannon';
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

const run = promisify(execFile);

/** Whether wrk is on the PATH (asked once). */
const wrkInstalled = run('wrk', ['--version']).then(
  () => true,
  (error: { code?: unknown; stdout?: string }) =>
    // wrk --version prints its version and exits with 1.
    error.code !== 'ENOENT' && /^wrk /.test(String(error.stdout ?? '')),
);

export async function loadGenerator(): Promise<'wrk' | 'autocannon'> {
  return (await wrkInstalled) ? 'wrk' : 'autocannon';
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  if (options.generator !== 'autocannon' && (await wrkInstalled)) return runWrk(options);
  return runAutocannon(options);
}

const headersOf = (options: LoadOptions): Record<string, string> => ({
  ...(options.body ? { 'content-type': 'application/json' } : {}),
  ...options.headers,
});

async function runAutocannon(options: LoadOptions): Promise<LoadResult> {
  const { url, connections, durationMs, method, body } = options;
  const headers = headersOf(options);
  const paths = typeof options.path === 'string' ? undefined : options.path;
  const mix = options.mix;
  const request = mix
    ? {
        headers,
        setupRequest: (req: object) => {
          const shape = mix[Math.floor(Math.random() * mix.length)] as RequestShape;
          return { ...req, ...shape, headers: headersOf({ ...options, body: shape.body }) };
        },
      }
    : paths
      ? {
          method,
          headers,
          body,
          setupRequest: (req: object) => ({
            ...req,
            path: paths[Math.floor(Math.random() * paths.length)],
          }),
        }
      : { method, path: options.path as string, headers, body };
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
    generator: 'autocannon',
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

/** The Lua script that makes wrk send these requests (each one to a random path of the list). */
function wrkScript(options: LoadOptions): string {
  const lua = (text: string) => JSON.stringify(text); // a JSON string is a valid Lua string here
  const shapes: readonly RequestShape[] =
    options.mix ??
    (typeof options.path === 'string' ? [options.path] : options.path).map((p) => ({
      method: options.method,
      path: p,
      ...(options.body === undefined ? {} : { body: options.body }),
    }));
  const headers = Object.entries(headersOf({ ...options, body: 'x' }))
    .map(([name, value]) => `[${lua(name)}] = ${lua(value)}`)
    .join(', ');
  const formats = shapes
    .map(
      (r) =>
        `wrk.format(${lua(r.method)}, ${lua(r.path)}, { ${headers} }, ${r.body === undefined ? 'nil' : lua(r.body)})`,
    )
    .join(',\n    ');
  // The requests are made in init (per thread), once wrk knows the host it sends them to.
  return `local requests
init = function()
  requests = {
    ${formats}
  }
end
request = function() return requests[math.random(#requests)] end
done = function(summary, latency)
  io.write(string.format("RESULT %d %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), latency.max,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
`;
}

async function runWrk(options: LoadOptions): Promise<LoadResult> {
  const { url, connections, durationMs } = options;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-wrk-'));
  try {
    const script = path.join(dir, 'load.lua');
    await writeFile(script, wrkScript(options));
    const threads = Math.min(2, connections);
    const { stdout } = await run(
      'wrk',
      [
        `-t${threads}`,
        `-c${connections}`,
        `-d${Math.max(1, Math.round(durationMs / 1000))}s`,
        '--timeout',
        '30s',
        '-s',
        script,
        url,
      ],
      { maxBuffer: 16 * 1024 * 1024 },
    );
    const figures = /RESULT (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)/.exec(stdout);
    if (!figures) throw new Error(`wrk said:\n${stdout}`);
    const [requests, durationUs, p50Us, p99Us, maxUs, errors, failed] = figures
      .slice(1)
      .map(Number) as number[];
    const seconds = (durationUs ?? 0) / 1e6;
    const ok = (requests ?? 0) - (failed ?? 0);
    return {
      generator: 'wrk',
      connections,
      seconds,
      ok,
      non2xx: failed ?? 0,
      errors: errors ?? 0,
      perSecond: ok / seconds,
      p50Ms: (p50Us ?? Number.NaN) / 1000,
      p99Ms: (p99Us ?? Number.NaN) / 1000,
      maxMs: (maxUs ?? Number.NaN) / 1000,
      // wrk counts failures per thread only: no breakdown by status.
      statusCodes: {},
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// Live updates under load: SSE clients on one API process (a fresh `serve` beside the stack's)
// following wallets' event streams while deposits run at 16 clients on the same process. Figures:
// deposits/s without and with the clients open, the time from an event's append (its recorded
// time, same machine clock) to its delivery to each client (p50, p99, max), and the API process's
// resident memory per open client.
import http from 'node:http';
import { DEPOSIT_BODY } from './ceilings.ts';
import type { Context } from './context.ts';
import { type LoadResult, runLoad } from './load.ts';
import { percentile } from './measure.ts';
import type { Stack } from './stack.ts';

export interface LiveFigure {
  readonly clients: number;
  readonly depositClients: number;
  readonly without: LoadResult;
  readonly with: LoadResult;
  readonly deliveries: number;
  readonly deliveryP50Ms: number;
  readonly deliveryP99Ms: number;
  readonly deliveryMaxMs: number;
  /** Deliveries owed (deposits to followed wallets x their followers) and not received. */
  readonly missing: number;
  readonly rssBeforeKiB: number | undefined;
  readonly rssWithClientsKiB: number | undefined;
  readonly kibPerClient: number | undefined;
}

interface SseClient {
  readonly opened: Promise<void>;
  received: number;
  close(): void;
}

const RECORDED_AT = /"recorded_at":"([^"]+)"/;

/** One event stream; each event's delay from its recorded time goes into `delays`. */
function follow(url: string, headers: Record<string, string>, delays: number[]): SseClient {
  let request: http.ClientRequest | undefined;
  const client: SseClient = {
    received: 0,
    opened: new Promise((resolve, reject) => {
      request = http.get(
        url,
        { headers: { ...headers, accept: 'text/event-stream' }, agent: false },
        (response) => {
          if (response.statusCode !== 200) {
            reject(new Error(`event stream answered ${response.statusCode}`));
            response.resume();
            return;
          }
          resolve();
          let buffer = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => {
            buffer += chunk;
            let end = buffer.indexOf('\n\n');
            while (end >= 0) {
              const frame = buffer.slice(0, end);
              buffer = buffer.slice(end + 2);
              const at = RECORDED_AT.exec(frame)?.[1];
              if (at) {
                delays.push(Date.now() - Date.parse(at));
                client.received++;
              }
              end = buffer.indexOf('\n\n');
            }
          });
          response.on('error', () => {});
        },
      );
      request.on('error', reject);
    }),
    close: () => request?.destroy(),
  };
  return client;
}

export async function benchLive(
  ctx: Context,
  stack: Stack,
  {
    wallets,
    clients,
    depositClients,
  }: { wallets: string[]; clients: number; depositClients: number },
): Promise<LiveFigure> {
  ctx.progress('an api process of its own for the event streams');
  const api = await stack.startApi({});
  const depositPaths = wallets.map((wallet) => `/api/wallets/${wallet}/deposit/`);
  const load = (durationMs = ctx.sizes.loadMs) =>
    runLoad({
      url: api.url,
      headers: stack.apiHeaders,
      connections: depositClients,
      durationMs,
      method: 'PATCH',
      path: depositPaths,
      body: DEPOSIT_BODY,
    });
  if (ctx.sizes.warmupMs > 0) await load(ctx.sizes.warmupMs);
  ctx.progress(`deposits at ${depositClients} clients, no event streams open`);
  const without = await load();
  const rssBefore = (await api.child.memory())?.rssKiB;

  ctx.progress(`opening ${clients} event streams`);
  const delays: number[] = [];
  const followers: SseClient[] = [];
  const followed = new Map<string, number>();
  // Opened a batch at a time: a thousand connects at once would only measure the accept queue.
  for (let i = 0; i < clients; i += 50) {
    const batch = Array.from({ length: Math.min(50, clients - i) }, (_, j) => {
      const wallet = wallets[(i + j) % wallets.length] as string;
      followed.set(wallet, (followed.get(wallet) ?? 0) + 1);
      return follow(`${api.url}/api/wallets/${wallet}/events`, stack.apiHeaders, delays);
    });
    followers.push(...batch);
    await Promise.all(batch.map((c) => c.opened));
  }
  const rssWith = (await api.child.memory())?.rssKiB;

  // Each deposit to a followed wallet from now on is owed to each of its followers.
  const deposits = async () => {
    const { rows } = await ctx.pool.query<{ stream_id: string; n: number }>(
      `select stream_id, count(*)::int as n from events
       where stream_id = any($1) and event_type = 'Deposited' group by stream_id`,
      [[...followed.keys()].map((w) => `wallet-${w}`)],
    );
    return new Map(rows.map((r) => [r.stream_id.slice('wallet-'.length), r.n]));
  };
  const before = await deposits();
  ctx.progress(`deposits at ${depositClients} clients, ${clients} event streams open`);
  const withClients = await load();
  const after = await deposits();
  let expected = 0;
  for (const [wallet, n] of after) {
    expected += (n - (before.get(wallet) ?? 0)) * (followed.get(wallet) ?? 0);
  }
  const deadline = Date.now() + 10_000;
  while (delays.length < expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  for (const c of followers) c.close();
  await api.child.stop();
  const sorted = [...delays].sort((a, b) => a - b);
  return {
    clients,
    depositClients,
    without,
    with: withClients,
    deliveries: delays.length,
    deliveryP50Ms: percentile(sorted, 50),
    deliveryP99Ms: percentile(sorted, 99),
    deliveryMaxMs: sorted.at(-1) ?? Number.NaN,
    missing: Math.max(0, expected - delays.length),
    rssBeforeKiB: rssBefore,
    rssWithClientsKiB: rssWith,
    kibPerClient: rssBefore && rssWith ? (rssWith - rssBefore) / clients : undefined,
  };
}

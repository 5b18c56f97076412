// Webhooks: the notify role (its own process, as `npm run cli -- notify` runs it) delivering every
// event of a set of wallets to one local receiver (an HTTP server in this process answering 204).
//   latency: deposits through the API at a steady pace (a few clients, closed loop); per delivery,
//            from the event's `at` (the moment the API decided it, just before the append) to its
//            arrival at the receiver: the outbox's poll of the log, the outbox write, the claim, the
//            request.
//   rate:    the notify role stopped, a backlog of deposits appended, the role started again; the
//            deliveries per second from the first arrival to the last (outbox catch-up included).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Context } from './context.ts';
import { type Api, createWallets, mapLimit } from './http.ts';
import { percentile } from './measure.ts';
import type { Child } from './processes.ts';

export interface WebhookFigure {
  readonly latency: {
    readonly deliveries: number;
    readonly clients: number;
    /** Deposits (so deliveries) per second the clients made. */
    readonly perSecond: number;
    readonly p50Ms: number;
    readonly p99Ms: number;
    readonly maxMs: number;
  };
  readonly rate: {
    readonly deliveries: number;
    readonly seconds: number;
    readonly perSecond: number;
  };
  /** Deliveries that arrived more than once (a repeat after a lost answer; expected 0 here). */
  readonly repeats: number;
}

interface Arrival {
  readonly id: string;
  readonly walletId: string;
  readonly at: number;
  readonly eventAt: number;
}

/** The receiver: notes each delivery's id, wallet, arrival and event time; answers 204. */
async function startReceiver(): Promise<{ url: string; arrivals: Arrival[]; server: Server }> {
  const arrivals: Arrival[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const at = Date.now();
      const body = JSON.parse(Buffer.concat(chunks).toString()) as {
        data: { walletId: string; at: string };
      };
      arrivals.push({
        id: String(request.headers['webhook-id']),
        walletId: body.data.walletId,
        at,
        eventAt: Date.parse(body.data.at),
      });
      response.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks`, arrivals, server };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`webhooks: ${what} not within ${timeoutMs} ms`);
    await sleep(20);
  }
}

export async function benchWebhooks(
  ctx: Context,
  api: Api,
  startNotify: () => Promise<Child>,
): Promise<WebhookFigure> {
  const { sizes } = ctx;
  const receiver = await startReceiver();
  let notify: Child | undefined;
  let endpoint: string | undefined;
  try {
    const wallets = await createWallets(api, sizes.wallets);
    const ours = new Set(wallets);
    const mine = (from = 0) => receiver.arrivals.slice(from).filter((a) => ours.has(a.walletId));
    endpoint = (
      await api.request('POST', '/api/webhooks', { url: receiver.url, events: ['Deposited'] })
    ).id as string;
    notify = await startNotify();

    // Latency at a steady pace.
    const clients = 8;
    ctx.progress(`webhooks: deposits from ${clients} clients for ${sizes.loadMs} ms, one receiver`);
    let sent = 0;
    const started = performance.now();
    const deadline = started + sizes.loadMs;
    await Promise.all(
      Array.from({ length: clients }, async (_, worker) => {
        for (let n = 0; performance.now() < deadline; n++) {
          const wallet = wallets[(worker * 7919 + n) % wallets.length] as string;
          await api.request('PATCH', `/api/wallets/${wallet}/deposit/`, { amount: '1.00' });
          sent++;
        }
      }),
    );
    await until(`${sent} deliveries`, () => new Set(mine().map((a) => a.id)).size >= sent, 120_000);
    const steady = mine();
    const latencies = steady.map((a) => a.at - a.eventAt).sort((a, b) => a - b);
    const latency = {
      deliveries: steady.length,
      clients,
      perSecond: sent / (sizes.loadMs / 1000),
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      maxMs: latencies.at(-1) ?? Number.NaN,
    };

    // Rate from a backlog.
    await notify.stop();
    notify = undefined;
    const backlog = sizes.webhookBacklog;
    ctx.progress(`webhooks: ${backlog} deposits while the notify role is stopped`);
    await mapLimit(
      Array.from({ length: backlog }, (_, i) => i),
      32,
      (i) =>
        api.request('PATCH', `/api/wallets/${wallets[i % wallets.length]}/deposit/`, {
          amount: '1.00',
        }),
    );
    const before = receiver.arrivals.length;
    ctx.progress('webhooks: notify role started; delivering the backlog');
    notify = await startNotify();
    await until(
      `${backlog} backlog deliveries`,
      () => new Set(mine(before).map((a) => a.id)).size >= backlog,
      600_000,
    );
    const burst = mine(before);
    const first = Math.min(...burst.map((a) => a.at));
    const last = Math.max(...burst.map((a) => a.at));
    const all = mine();
    return {
      latency,
      rate: {
        deliveries: burst.length,
        seconds: (last - first) / 1000,
        perSecond: burst.length / ((last - first) / 1000),
      },
      repeats: all.length - new Set(all.map((a) => a.id)).size,
    };
  } finally {
    await notify?.stop();
    if (endpoint) await api.request('DELETE', `/api/webhooks/${endpoint}`).catch(() => {});
    receiver.server.closeAllConnections();
    await new Promise((resolve) => receiver.server.close(resolve));
  }
}

// A webhook receiver for tests: a real HTTP server on 127.0.0.1 that records every request
// (headers, exact body, when) and answers as the test says: a status after a delay, or never.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Webhook } from 'standardwebhooks';
import type { Test } from 'tap';

export interface Received {
  /** The request's path (endpoints may share a receiver). */
  readonly path: string;
  readonly id: string;
  readonly timestamp: string;
  readonly signature: string;
  readonly body: string;
  readonly json: {
    type: string;
    timestamp: string;
    data: { walletId: string; revision: number; [field: string]: unknown };
  };
  readonly at: number;
  /** Which request this is to the receiver, from 1. */
  readonly n: number;
}

/** What to answer: a status (after `delayMs`), a redirect, or no answer at all (`hang`). */
export type Answer =
  | { status: number; body?: string; delayMs?: number; headers?: Record<string, string> }
  | 'hang';

export interface Receiver {
  readonly url: string;
  readonly port: number;
  readonly received: Received[];
  /** Requests that arrived and have not been answered yet. */
  readonly open: () => number;
  answer(decide: (request: Received) => Answer): void;
  /** Resolves once `count` requests arrived (or the predicate holds). */
  until(what: string, done: (received: Received[]) => boolean, timeoutMs?: number): Promise<void>;
  /** Whether every request verifies with one of these secrets (the standard's own library). */
  verify(request: Received, secret: string): boolean;
  close(): Promise<void>;
  /** Starts listening again on the same port (after `close`): a receiver that was down. */
  reopen(): Promise<void>;
}

export async function startReceiver(
  t: Test,
  { port = 0, listen = true }: { port?: number; listen?: boolean } = {},
): Promise<Receiver> {
  const received: Received[] = [];
  let decide: (request: Received) => Answer = () => ({ status: 204 });
  let open = 0;
  const hanging = new Set<ServerResponse>();
  const handler = async (request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const header = (name: string) => String(request.headers[name] ?? '');
    let json: Received['json'];
    try {
      json = JSON.parse(body);
    } catch {
      json = { type: '', timestamp: '', data: { walletId: '', revision: -1 } };
    }
    const entry: Received = {
      path: request.url ?? '',
      id: header('webhook-id'),
      timestamp: header('webhook-timestamp'),
      signature: header('webhook-signature'),
      body,
      json,
      at: Date.now(),
      n: received.length + 1,
    };
    received.push(entry);
    const answer = decide(entry);
    if (answer === 'hang') {
      hanging.add(response);
      return;
    }
    open++;
    try {
      if (answer.delayMs) await sleep(answer.delayMs);
      response.writeHead(answer.status, answer.headers).end(answer.body ?? '');
    } finally {
      open--;
    }
  };
  let server: Server | undefined;
  let boundPort = port;
  const start = async () => {
    const s = createServer((request, response) => void handler(request, response));
    await new Promise<void>((resolve) => s.listen(boundPort, '127.0.0.1', resolve));
    boundPort = (s.address() as AddressInfo).port;
    server = s;
  };
  const stop = async () => {
    const s = server;
    server = undefined;
    if (!s) return;
    for (const response of hanging) response.destroy();
    hanging.clear();
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  if (listen) await start();
  else {
    // A port nothing listens on (yet): take a free one and let it go.
    await start();
    await stop();
  }
  t.teardown(stop);
  return {
    get url() {
      return `http://127.0.0.1:${boundPort}/hooks`;
    },
    get port() {
      return boundPort;
    },
    received,
    open: () => open + hanging.size,
    answer(next) {
      decide = next;
    },
    async until(what, done, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!done(received)) {
        if (Date.now() > deadline) {
          throw new Error(`receiver: no ${what} within ${timeoutMs} ms (got ${received.length})`);
        }
        await sleep(20);
      }
    },
    verify(request, secret) {
      try {
        new Webhook(secret).verify(request.body, {
          'webhook-id': request.id,
          'webhook-timestamp': request.timestamp,
          'webhook-signature': request.signature,
        });
        return true;
      } catch {
        return false;
      }
    },
    close: stop,
    reopen: start,
  };
}

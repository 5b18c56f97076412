// A Server-Sent Events client for tests: real HTTP (undici), frames parsed as a browser's
// EventSource parses them (id, event, data; comment lines kept apart, for heartbeats).
import { Client } from 'undici';

export interface SseFrame {
  readonly id?: string;
  readonly event?: string;
  readonly data?: string;
}

export interface SseConnection {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  /** The body of an answer that is not a stream (an error). */
  readonly text: string;
  /** Frames received so far (events, not comments). */
  readonly frames: SseFrame[];
  /** Comment lines received so far (without the colon). */
  readonly comments: string[];
  /** Resolves when `accept` holds for the frames received (checked on every frame). */
  until(what: string, accept: (frames: SseFrame[]) => boolean, timeoutMs?: number): Promise<void>;
  /** Resolves when the server ended the answer. */
  readonly closed: Promise<void>;
  close(): void;
}

export async function openSse(
  url: string,
  headers: Record<string, string> = {},
): Promise<SseConnection> {
  const controller = new AbortController();
  // A connection of its own, closed with the stream: a shared pool would keep spare connections
  // open that a stopping server then waits for.
  const { origin, pathname, search } = new URL(url);
  const client = new Client(origin);
  const response = await client.request({
    method: 'GET',
    path: `${pathname}${search}`,
    headers: { accept: 'text/event-stream', ...headers },
    signal: controller.signal,
  });
  const frames: SseFrame[] = [];
  const comments: string[] = [];
  const watchers = new Set<() => void>();
  const isStream = String(response.headers['content-type']).startsWith('text/event-stream');
  let text = '';
  let closed: Promise<void> = Promise.resolve();
  if (!isStream) text = await response.body.text();
  else {
    closed = (async () => {
      let buffer = '';
      try {
        for await (const chunk of response.body) {
          buffer += chunk.toString();
          let end = buffer.indexOf('\n\n');
          while (end >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const frame: Record<string, string> = {};
            for (const line of block.split('\n')) {
              if (line.startsWith(':')) comments.push(line.slice(1).trim());
              else {
                const colon = line.indexOf(':');
                const field = line.slice(0, colon);
                const value = line.slice(colon + 1).replace(/^ /, '');
                frame[field] = field in frame ? `${frame[field]}\n${value}` : value;
              }
            }
            if (Object.keys(frame).length > 0) frames.push(frame);
            for (const watch of watchers) watch();
            end = buffer.indexOf('\n\n');
          }
        }
      } catch {
        // aborted by close()
      }
      for (const watch of watchers) watch();
    })();
  }
  let done = false;
  void closed.then(() => {
    done = true;
    void client.destroy();
  });
  return {
    status: response.statusCode,
    headers: response.headers,
    text,
    frames,
    comments,
    closed,
    until(what, accept, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (accept(frames)) {
            finish();
            resolve();
          } else if (done) {
            finish();
            reject(new Error(`the stream ended before ${what}`));
          }
        };
        const timer = setTimeout(() => {
          finish();
          reject(new Error(`timed out waiting for ${what} (${frames.length} frames)`));
        }, timeoutMs);
        const finish = () => {
          clearTimeout(timer);
          watchers.delete(check);
        };
        watchers.add(check);
        check();
      });
    },
    close: () => {
      controller.abort();
      void client.destroy();
    },
  };
}

/** The parsed `data:` of the frames that are events of the ledger (not the final `end`). */
export const ledgerEvents = (frames: readonly SseFrame[]) =>
  frames.filter((f) => f.event !== 'end').map((f) => ({ id: f.id, ...JSON.parse(f.data ?? '{}') }));

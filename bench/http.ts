// Set-up requests (creating wallets, funding them, scheduling withdrawals): an undici Pool on
// loopback and a bounded-concurrency map. Not used for figures; load comes from load.ts.
import { Pool } from 'undici';

export interface Api {
  request(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<any>;
  close(): Promise<void>;
}

/** `headers` go with every request (the API key). */
export function apiClient(
  url: string,
  headers: Record<string, string> = {},
  connections = 32,
): Api {
  const pool = new Pool(url, { connections });
  return {
    async request(method, path, body) {
      const response = await pool.request({
        method,
        path,
        headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.body.text();
      if (response.statusCode >= 300) {
        throw new Error(`${method} ${path}: ${response.statusCode} ${text.slice(0, 300)}`);
      }
      return text ? JSON.parse(text) : undefined;
    },
    close: () => pool.close(),
  };
}

/** `work` for every item, at most `concurrency` at once; results in order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  concurrency: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index] as T, index);
      }
    }),
  );
  return results;
}

/** Creates `count` wallets through the API and returns their ids. */
export async function createWallets(api: Api, count: number): Promise<string[]> {
  return mapLimit(
    Array.from({ length: count }, (_, i) => i),
    32,
    async () => (await api.request('POST', '/api/wallets/', {})).uuid as string,
  );
}

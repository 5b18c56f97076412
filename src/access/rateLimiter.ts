// Requests per bucket (a key, or a client address) per fixed one-minute window, counted in
// PostgreSQL so that a limit holds across every API instance. An instance does not ask the
// database per request: it claims a few requests of the window at a time (takeTokens, never past
// the limit) and spends them locally. The claim shrinks as the window fills (an eighth of what
// was left at the last claim, at most MAX_CLAIM), so near the limit the instances claim one at a
// time and a client never gets more than `limit` requests in the window in all; requests an
// instance claimed and did not spend before the window ended are lost to that window (at most a
// claim's worth per instance). When a quarter of the last claim is left, the next claim is made
// ahead, so steady traffic never waits for one. Once the window is full everywhere, an instance
// answers from memory.
import type pg from 'pg';
import { takeTokens } from './postgres/takeTokens.ts';

export interface RateDecision {
  readonly allowed: boolean;
  readonly limit: number;
  /** Requests left in this window (as far as this instance knows). */
  readonly remaining: number;
  /** Seconds until the window ends (a new one starts). */
  readonly resetSeconds: number;
}

export interface RateLimiter {
  /** Counts one request of `bucket` (a key id, or `address:...`) against `limit` per window;
   * limit 0: no limit. */
  take(bucket: string, limit: number): Promise<RateDecision>;
  /** `take` when it needs no wait (a request this instance already claimed, or no limit);
   * undefined, counting nothing, when it would wait or refuse. */
  takeNow(bucket: string, limit: number): RateDecision | undefined;
  /** Forgets the local state of windows that have ended. */
  sweep(): void;
}

export const WINDOW_MS = 60_000;

function decide(
  allowed: boolean,
  limit: number,
  state: BucketState,
  resetSeconds: number,
): RateDecision {
  return {
    allowed,
    limit,
    remaining: Math.max(0, limit - state.used) + state.tokens,
    resetSeconds,
  };
}
const MAX_CLAIM = 1000;

interface BucketState {
  window: number;
  /** Claimed and not yet spent. */
  tokens: number;
  /** The window's count in the database after this instance's last claim. */
  used: number;
  /** Granted by the last claim. */
  lastGranted: number;
  claiming?: Promise<void>;
}

export function createRateLimiter(options: {
  readonly pool: pg.Pool;
  readonly now?: () => number;
  readonly windowMs?: number;
}): RateLimiter {
  const { pool, windowMs = WINDOW_MS } = options;
  const now = options.now ?? Date.now;
  const buckets = new Map<string, BucketState>();

  const claim = async (bucket: string, state: BucketState, limit: number) => {
    const count = Math.max(1, Math.min(MAX_CLAIM, Math.ceil((limit - state.used) / 8)));
    const window = state.window;
    const taken = await takeTokens(pool, bucket, new Date(window * windowMs), count, limit);
    if (state.window !== window) return; // the window ended meanwhile: its claim is void
    state.tokens += taken.granted;
    state.lastGranted = taken.granted;
    state.used = Math.max(state.used, taken.used);
  };

  /** One claim at a time per bucket: the requests waiting for it share what it brings. */
  const startClaim = (bucket: string, state: BucketState, limit: number) => {
    const claiming = claim(bucket, state, limit).finally(() => {
      state.claiming = undefined;
    });
    claiming.catch(() => {}); // a claim made ahead fails quietly; a request waiting sees it
    state.claiming = claiming;
    return claiming;
  };

  /** The bucket's state in the current window, and the seconds until it ends. */
  const current = (bucket: string) => {
    const at = now();
    const window = Math.floor(at / windowMs);
    const resetSeconds = Math.max(1, Math.ceil(((window + 1) * windowMs - at) / 1000));
    let state = buckets.get(bucket);
    if (!state || state.window !== window) {
      state = { window, tokens: 0, used: 0, lastGranted: 0 };
      buckets.set(bucket, state);
    }
    return { state, resetSeconds };
  };

  // No closures here: this runs for every request.
  const takeNow = (bucket: string, limit: number): RateDecision | undefined => {
    if (limit === 0) return { allowed: true, limit, remaining: 0, resetSeconds: 0 };
    const { state, resetSeconds } = current(bucket);
    if (state.tokens === 0) return undefined;
    state.tokens--;
    if (state.tokens <= state.lastGranted / 4 && !state.claiming && state.used < limit) {
      startClaim(bucket, state, limit);
    }
    return decide(true, limit, state, resetSeconds);
  };

  const take = async (bucket: string, limit: number): Promise<RateDecision> => {
    for (;;) {
      const taken = takeNow(bucket, limit);
      if (taken) return taken;
      const { state, resetSeconds } = current(bucket);
      if (state.used >= limit) return decide(false, limit, state, resetSeconds);
      await (state.claiming ?? startClaim(bucket, state, limit));
    }
  };

  return {
    take,
    takeNow,
    sweep() {
      const window = Math.floor(now() / windowMs);
      for (const [bucket, state] of buckets) if (state.window < window) buckets.delete(bucket);
    },
  };
}

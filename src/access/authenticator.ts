// Key to principal, by the hash of the key (or session id): the authenticator never sees a raw
// secret. Every API instance caches what a key's hash resolved to for `ttlMs` (counted
// from when the lookup started), so a key revoked anywhere (another instance, the CLI) is refused
// here within that time, and a hot key costs one indexed lookup per `ttlMs / 2`, not one per
// request: a key in use is looked up again in the background once half of `ttlMs` has passed, so
// its requests do not wait for the lookup.
// Unknown keys are not cached: a key made a moment ago works at once. The last use of each key is
// kept in memory and written for all keys in one statement every `flushMs`.
import type pg from 'pg';
import type { KeyHash } from './apiKeys.ts';
import { findKeyByHash } from './postgres/findKeyByHash.ts';
import type { KeyRecord } from './postgres/keyRecord.ts';
import { recordKeyUse } from './postgres/recordKeyUse.ts';
import type { KeyPrincipal } from './principal.ts';

export interface AuthenticatorOptions {
  readonly pool: pg.Pool;
  /** The key a token's hash stands for: by the key's own hash (default), or a session's. */
  readonly lookup?: (pool: pg.Pool, hash: Buffer) => Promise<KeyRecord | undefined>;
  /** How long a lookup is trusted; the revocation delay's upper bound. */
  readonly ttlMs?: number;
  readonly flushMs?: number;
  /** Cached lookups kept at most (the oldest go first). */
  readonly maxEntries?: number;
  readonly now?: () => number;
  readonly onError?: (error: unknown) => void;
}

export interface Authenticator {
  /** The principal of a valid key, by its hash (`hashApiKeyText`); undefined for an unknown or
   * revoked one. */
  authenticate(hash: KeyHash): Promise<KeyPrincipal | undefined>;
  /**
   * The principal of a valid key if this instance already knows it (a fresh lookup), at once and
   * counted as a use like `authenticate`; undefined when that would have to wait (then a lookup is
   * under way and `authenticate` answers).
   */
  peek(hash: KeyHash): KeyPrincipal | undefined;
  /** Drops a key from this instance's cache at once (its revocation was made here). */
  forget(keyId: string): void;
  /** Drops one hash from this instance's cache at once (a session ended here). */
  forgetHash(hash: KeyHash): void;
  /** Writes the pending last uses. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

interface Entry {
  readonly startedAt: number;
  readonly lookup: Promise<KeyPrincipal | undefined>;
  /** What `lookup` resolved to, once it has (a cached entry always holds a principal). */
  principal?: KeyPrincipal;
  /** A newer lookup is under way. */
  refreshing?: boolean;
}

export function principalOf(key: KeyRecord): KeyPrincipal | undefined {
  if (key.revokedAt !== null) return undefined;
  return key.kind === 'owner'
    ? { kind: 'owner', keyId: key.id, owner: key.owner as string, scopes: key.scopes }
    : { kind: 'operator', keyId: key.id, name: key.name, scopes: key.scopes };
}

export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const { pool, ttlMs = 500, flushMs = 5000, maxEntries = 10_000 } = options;
  const find = options.lookup ?? findKeyByHash;
  const now = options.now ?? Date.now;
  const cache = new Map<string, Entry>();
  let uses = new Map<string, number>();

  const lookup = async (hash: Buffer): Promise<KeyPrincipal | undefined> => {
    const key = await find(pool, hash);
    return key && principalOf(key);
  };

  const flush = async () => {
    if (uses.size === 0) return;
    const batch = new Map([...uses].map(([keyId, at]) => [keyId, new Date(at)]));
    uses = new Map();
    await recordKeyUse(pool, batch);
  };
  const timer = setInterval(() => {
    flush().catch((error) => options.onError?.(error));
  }, flushMs);
  timer.unref();

  /** Starts a lookup; its entry takes `previous`'s place once it has an answer (or at once). */
  const start = (cacheKey: string, at: number, previous?: Entry): Entry => {
    const entry: Entry = { startedAt: at, lookup: lookup(Buffer.from(cacheKey, 'base64')) };
    const current = () => cache.get(cacheKey) === (previous ?? entry);
    if (!previous) {
      cache.delete(cacheKey);
      cache.set(cacheKey, entry);
      if (cache.size > maxEntries) cache.delete(cache.keys().next().value as string);
    }
    entry.lookup.then(
      (principal) => {
        entry.principal = principal;
        if (!current()) return;
        if (principal) cache.set(cacheKey, entry);
        else cache.delete(cacheKey);
      },
      () => {
        if (previous)
          previous.refreshing = false; // the next request tries again
        else if (current()) cache.delete(cacheKey);
      },
    );
    return entry;
  };

  /** The hash's entry, looked up (again) when it has none or its lookup is too old. */
  const entryOf = (cacheKey: KeyHash, at: number): Entry => {
    const entry = cache.get(cacheKey);
    // One lookup at a time per key: concurrent requests share it.
    if (!entry || at - entry.startedAt >= ttlMs) return start(cacheKey, at);
    if (at - entry.startedAt >= ttlMs / 2 && !entry.refreshing) {
      entry.refreshing = true;
      start(cacheKey, at, entry);
    }
    return entry;
  };

  return {
    async authenticate(hash) {
      const at = now();
      const principal = await entryOf(hash, at).lookup;
      if (principal) uses.set(principal.keyId, at);
      return principal;
    },
    peek(hash) {
      const at = now();
      const { principal } = entryOf(hash, at);
      if (principal) uses.set(principal.keyId, at);
      return principal;
    },
    forget(keyId) {
      for (const [cacheKey, entry] of cache) {
        void entry.lookup.then(
          (principal) => {
            if (principal?.keyId === keyId && cache.get(cacheKey) === entry) cache.delete(cacheKey);
          },
          () => {},
        );
      }
    },
    forgetHash(hash) {
      cache.delete(hash);
    },
    flush,
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}

// One active instance per database, the others standing by: a session advisory lock decides.
// The projector and the notify role's outbox writer run this way. A standby asks for the lock every
// `standbyPollMs` and takes over within that time when the active instance's session ends (it
// stopped or died); an error restarts the attempt after a pause that grows while failures go on
// (a database that is down): 0.2 s, doubling up to 5 s.
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';

export interface LeaderOptions {
  readonly pool: pg.Pool;
  /** The advisory lock's key, an SQL expression such as `hashtext('wallet-projector')`. */
  readonly lockKey: string;
  /** In log lines: `<name> active`, `<name> restarting`. */
  readonly name: string;
  readonly signal: AbortSignal;
  readonly standbyPollMs?: number;
  readonly log: (message: string, details?: Record<string, unknown>) => void;
  /** Told when this instance becomes the active one, and when it stops being it. */
  readonly onActive?: (active: boolean) => void;
  /** Before each try for the lock; false: stand by and try again later (a reason of its own). */
  readonly ready?: () => Promise<boolean>;
}

/**
 * Runs until `signal` aborts: takes the lock when it can and runs `lead` while holding it. `lead`
 * gets a signal that also aborts when the lock's session is lost (another instance may take over
 * then); it should return soon after.
 */
export async function runAsLeader(
  options: LeaderOptions,
  lead: (stop: AbortSignal) => Promise<void>,
): Promise<void> {
  const { pool, lockKey, name, signal, log, standbyPollMs = 1000, onActive = () => {} } = options;
  const standBy = () => sleep(standbyPollMs, undefined, { signal }).catch(() => {});
  let failures = 0;
  let lastFailure = 0;
  while (!signal.aborted) {
    let lockClient: pg.PoolClient | undefined;
    try {
      if (options.ready && !(await options.ready())) {
        await standBy();
        continue;
      }
      lockClient = await pool.connect();
      const { rows } = await lockClient.query<{ locked: boolean }>(
        `select pg_try_advisory_lock(${lockKey}) as locked`,
      );
      if (!rows[0]?.locked) {
        lockClient.release();
        lockClient = undefined;
        await standBy();
        continue;
      }
      log(`${name} active`);
      onActive(true);
      // Losing the lock's session means another instance may take over: stop at once. The
      // listeners stay: the client is destroyed afterwards, and a dead connection may report more
      // than once.
      const lost = new AbortController();
      const onLockLost = () => lost.abort();
      lockClient.on('error', onLockLost);
      lockClient.on('end', onLockLost);
      await lead(AbortSignal.any([signal, lost.signal]));
      if (lost.signal.aborted && !signal.aborted) throw new Error(`lost the ${name} lock session`);
    } catch (error) {
      if (signal.aborted) break;
      failures = Date.now() - lastFailure > 30_000 ? 1 : failures + 1;
      lastFailure = Date.now();
      const retryInMs = Math.min(200 * 2 ** (failures - 1), 5000);
      log(`${name} restarting`, { error: (error as Error).message, retryInMs });
      await sleep(retryInMs, undefined, { signal }).catch(() => {});
    } finally {
      onActive(false);
      if (lockClient) {
        await lockClient.query(`select pg_advisory_unlock(${lockKey})`).catch(() => {});
        // A client whose connection failed must not go back to the pool.
        lockClient.release(true);
      }
    }
  }
}

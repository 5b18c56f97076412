// The access log's writer: refused requests are queued in memory and inserted in batches (one
// statement per batch, at most every `flushMs`), so refusing never waits for the database. If the
// database cannot take them, the queue holds up to `maxQueued` entries and drops the oldest beyond
// that (counted and logged): a flood of refusals must not exhaust memory.
import type pg from 'pg';
import { insertRefusals } from './postgres/insertRefusals.ts';
import type { Refusal } from './postgres/refusal.ts';

export interface AccessLogWriter {
  record(refusal: Refusal): void;
  /** Writes everything queued so far. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export function createAccessLogWriter(options: {
  readonly pool: pg.Pool;
  readonly flushMs?: number;
  readonly maxBatch?: number;
  readonly maxQueued?: number;
  readonly onError?: (error: unknown, dropped: number) => void;
}): AccessLogWriter {
  const { pool, flushMs = 1000, maxBatch = 1000, maxQueued = 50_000 } = options;
  let queue: Refusal[] = [];
  let dropped = 0;
  let writing: Promise<void> | undefined;
  const drop = () => {
    const excess = queue.length - maxQueued;
    if (excess <= 0) return;
    queue.splice(0, excess);
    dropped += excess;
  };

  const writeAll = async () => {
    while (queue.length > 0) {
      const batch = queue.splice(0, maxBatch);
      try {
        await insertRefusals(pool, batch);
      } catch (error) {
        // Kept for the next flush, ahead of what came meanwhile.
        queue = batch.concat(queue);
        drop();
        options.onError?.(error, dropped);
        return;
      }
    }
  };
  const flush = () => {
    writing ??= writeAll().finally(() => {
      writing = undefined;
    });
    return writing;
  };
  const timer = setInterval(() => void flush(), flushMs);
  timer.unref();

  return {
    record(refusal) {
      queue.push(refusal);
      drop();
    },
    flush,
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}

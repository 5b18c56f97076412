// `npm run bench [-- --quick]`: figures, not assertions. Runs on a throwaway embedded PostgreSQL with
// production settings (fsync on) unless DATABASE_URL names a server; prints a table and writes
// bench/results/<time>.json.
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from '../src/infra/embeddedPostgres.ts';
import { createPool } from '../src/infra/postgres.ts';
import { benchAppends } from './eventstore.ts';

const quick = process.argv.includes('--quick');
const durationMs = quick ? 500 : 5000;

const tmp = await mkdtemp(path.join(os.tmpdir(), 'wallet-bench-'));
await chmod(tmp, 0o755);
const cluster = process.env.DATABASE_URL
  ? undefined
  : await startEmbeddedPostgres({ dataDir: path.join(tmp, 'pg'), ephemeral: true });
const url = process.env.DATABASE_URL ?? (cluster?.url as string);
const pool = createPool(url, 40);

const results: Record<string, unknown> = {
  machine: {
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
  },
  quick,
};
try {
  console.log(`event store appends vs raw INSERT commits (${durationMs} ms each)`);
  const appends = await benchAppends(pool, { durationMs, concurrencies: [1, 16] });
  console.table(
    appends.map((f) => ({
      writers: f.concurrency,
      'INSERT commits/s': Math.round(f.insert.perSecond),
      'appends/s': Math.round(f.append.perSecond),
      'append/INSERT': (f.append.perSecond / f.insert.perSecond).toFixed(2),
      'append p50 ms': f.append.p50Ms.toFixed(2),
      'append p99 ms': f.append.p99Ms.toFixed(2),
    })),
  );
  results.appends = appends;
} finally {
  await pool.end();
  await cluster?.stop();
  await rm(tmp, { recursive: true, force: true });
}

const dir = new URL('./results/', import.meta.url);
await mkdir(dir, { recursive: true });
const file = new URL(`${new Date().toISOString().replaceAll(':', '-')}.json`, dir);
await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
console.log(`results written to bench/results/${path.basename(file.pathname)}`);

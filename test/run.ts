// `npm test`: one throwaway embedded PostgreSQL cluster for the whole run (unless DATABASE_URL names
// a server), then tap over every test file; each file creates its own database in that cluster.
// Ends with one line `tests: N passed, N failed` counted from the raw TAP output.
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmbeddedPostgres } from '../src/infra/embeddedPostgres.ts';
import { countTapResults } from './support/tapSummary.ts';

const tmp = await mkdtemp(path.join(os.tmpdir(), 'wallet-test-'));
// Traversable, so the server (run as its own user when we are root) can reach its data dir.
await chmod(tmp, 0o755);
let cluster: Awaited<ReturnType<typeof startEmbeddedPostgres>> | undefined;
let adminUrl = process.env.DATABASE_URL;
if (!adminUrl) {
  cluster = await startEmbeddedPostgres({
    dataDir: path.join(tmp, 'pg'),
    ephemeral: true,
    // A throwaway cluster: durability settings off to save the 2-core machine's time.
    settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' },
  });
  adminUrl = cluster.url;
}

const tapBin = fileURLToPath(new URL('../node_modules/tap/dist/esm/run.mjs', import.meta.url));
// Raw TAP on stdout, passed through and kept for counting (tap's --output-file doubles the output).
let rawTap = '';
const code = await new Promise<number>((resolve) => {
  const child = spawn(process.execPath, [tapBin, '--reporter=tap', ...process.argv.slice(2)], {
    stdio: ['inherit', 'pipe', 'inherit'],
    env: { ...process.env, TEST_DATABASE_URL: adminUrl },
  });
  child.stdout.on('data', (chunk: Buffer) => {
    process.stdout.write(chunk);
    rawTap += chunk.toString();
  });
  child.on('close', (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0)));
});

const { passed, failed } = countTapResults(rawTap);
await cluster?.stop();
await rm(tmp, { recursive: true, force: true });
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exit(code !== 0 || failed > 0 || passed === 0 ? code || 1 : 0);

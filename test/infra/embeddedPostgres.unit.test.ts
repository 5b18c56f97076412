import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readlink,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import {
  assertReachable,
  placeCluster,
  readClusterRecord,
} from '../../src/infra/embeddedPostgres.ts';

async function tempFolder(t: Test, mode: number): Promise<string> {
  const folder = await mkdtemp(path.join(tmpdir(), 'reach-'));
  await chmod(folder, mode);
  t.teardown(() => rm(folder, { recursive: true, force: true }));
  return folder;
}

// As root the embedded server runs as another user: a folder others cannot enter must be named
// in a plain error, not surface as initdb's "Permission denied" (or a spawn EACCES stack trace).
t.test('names the first folder others cannot enter, and how to fix it', async (t) => {
  const closed = await tempFolder(t, 0o755);
  const inner = path.join(closed, 'project', 'node_modules');
  await mkdir(inner, { recursive: true, mode: 0o755 });
  await chmod(closed, 0o700);
  await t.rejects(assertReachable(inner, 'the PostgreSQL binaries in', ''), {
    message: new RegExp(
      `cannot reach the PostgreSQL binaries in ${inner}: run "chmod o\\+x ${closed}"`,
    ),
  });
  await chmod(closed, 0o755);
  await t.resolves(assertReachable(inner, 'the PostgreSQL binaries in', ''));
});

// The decisions of placeCluster, on real folders; the process is told whether it is root, so the
// root-only branches run for any user (the end-to-end test in test/cli runs them as root for real).
t.test(
  'a DATA_DIR the postgres user can enter, or a process not root: DATA_DIR/postgres',
  async (t) => {
    const open = await tempFolder(t, 0o755);
    const clusters = path.join(open, 'clusters');
    t.same(
      await placeCluster(path.join(open, 'data'), {
        mayRelocate: true,
        asRoot: true,
        clustersRoot: clusters,
      }),
      {
        dir: path.join(open, 'data', 'postgres'),
      },
    );
    const closed = await tempFolder(t, 0o700);
    t.same(
      await placeCluster(path.join(closed, 'data'), {
        mayRelocate: true,
        asRoot: false,
        clustersRoot: clusters,
      }),
      {
        dir: path.join(closed, 'data', 'postgres'),
      },
    );
  },
);

t.test(
  'root, default DATA_DIR in a closed folder: the cluster moves out, linked from DATA_DIR',
  async (t) => {
    const closed = await tempFolder(t, 0o700);
    const clusters = path.join(await tempFolder(t, 0o755), 'clusters');
    const dataDir = path.join(closed, 'project', '.data');
    const options = { mayRelocate: true, asRoot: true, clustersRoot: clusters };
    const place = await placeCluster(dataDir, options);
    t.match(place.dir, new RegExp(`^${clusters}/project-[0-9a-f]{12}/postgres$`));
    t.equal(place.closedFolder, closed);
    t.equal(
      await readlink(path.join(dataDir, 'postgres')),
      place.dir,
      'DATA_DIR/postgres links to it',
    );
    for (const folder of [clusters, path.dirname(place.dir)])
      t.equal(
        (await stat(folder)).mode & 0o777,
        0o755,
        `${folder} can be entered by the postgres user`,
      );
    const recordFile = path.join(path.dirname(place.dir), 'postgres.json');
    t.equal(
      (await stat(recordFile)).mode & 0o777,
      0o600,
      'the record (with the password) is private',
    );
    const record = JSON.parse(await readFile(recordFile, 'utf8'));
    t.equal(record.dataDir, dataDir);
    t.ok(record.port >= 1024 && record.port < 65536);
    t.match(record.password, /^[A-Za-z0-9_-]{24}$/, 'a random password of its own');

    // Found again through the link, by any process with the same DATA_DIR (also an explicit one).
    t.same(await placeCluster(dataDir, { ...options, mayRelocate: false }), {
      dir: place.dir,
      closedFolder: closed,
    });

    // The link removed (rm -rf .data): a new cluster, and the old folder is kept aside, not reused.
    await rm(dataDir, { recursive: true });
    const again = await placeCluster(dataDir, options);
    t.equal(again.dir, place.dir, 'the same place for the same DATA_DIR');
    t.match(again.setAside, new RegExp(`^${path.dirname(place.dir)}\\.set-aside-`));
    t.same(
      JSON.parse(await readFile(path.join(again.setAside as string, 'postgres.json'), 'utf8')),
      record,
    );
    t.not(JSON.parse(await readFile(recordFile, 'utf8')).password, record.password);

    // Its folder gone (wiped by hand): said plainly, never a new empty database in its place.
    await rm(path.dirname(place.dir), { recursive: true });
    await t.rejects(placeCluster(dataDir, options), {
      message: `${path.join(dataDir, 'postgres')} points to ${place.dir}, which holds no database any more: remove the link to start a new, empty one.`,
    });
  },
);

t.test('root, an explicit DATA_DIR in a closed folder: one line naming the fix', async (t) => {
  const closed = await tempFolder(t, 0o700);
  const dataDir = path.join(closed, 'data');
  const clusters = path.join(await tempFolder(t, 0o755), 'clusters');
  await t.rejects(
    placeCluster(dataDir, { mayRelocate: false, asRoot: true, clustersRoot: clusters }),
    {
      message:
        `DATA_DIR ${dataDir} is inside ${closed}, which the "postgres" user cannot enter ` +
        '(PostgreSQL runs as that user when started by root): choose a DATA_DIR others may enter, ' +
        `or leave DATA_DIR unset to keep the database under ${clusters}.`,
    },
  );
  t.notOk(await lstat(path.join(dataDir, 'postgres')).catch(() => undefined), 'nothing made');
});

t.test(
  'a cluster record: made once, then read back; a cluster made before records keeps its password',
  async (t) => {
    const folder = await tempFolder(t, 0o755);
    const dir = path.join(folder, 'postgres');
    const record = await readClusterRecord(dir, folder);
    t.same(await readClusterRecord(dir, folder), record, 'the same port and password next time');

    const legacy = path.join(folder, 'old', 'postgres');
    await mkdir(legacy, { recursive: true });
    await writeFile(path.join(legacy, 'PG_VERSION'), '18\n');
    t.equal((await readClusterRecord(legacy, folder)).password, 'postgres');

    await writeFile(path.join(folder, 'bad.json'), '{"port": "x"}');
    await t.rejects(readClusterRecord(path.join(folder, 'bad'), folder), {
      message: `${path.join(folder, 'bad.json')} is not a cluster record (port and password).`,
    });
  },
);

t.test(
  'root, default DATA_DIR in a closed folder, nowhere to move it: one line naming the fix',
  async (t) => {
    const closed = await tempFolder(t, 0o700);
    const dataDir = path.join(closed, 'data');
    const blocked = path.join(await tempFolder(t, 0o755), 'a-file');
    await writeFile(blocked, '');
    await t.rejects(
      placeCluster(dataDir, {
        mayRelocate: true,
        asRoot: true,
        clustersRoot: path.join(blocked, 'clusters'),
      }),
      {
        message: new RegExp(
          `^DATA_DIR ${dataDir} is inside ${closed}, which the "postgres" user cannot enter, and its database cannot go to ${blocked}/clusters/reach-[^/]+-[0-9a-f]{12} either \\(ENOTDIR: .*\\): set DATA_DIR to a folder others may enter\\.$`,
        ),
      },
    );
  },
);

import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { assertReachable } from '../../src/infra/embeddedPostgres.ts';

// As root the embedded server runs as another user: a folder others cannot enter must be named
// in a plain error, not surface as initdb's "Permission denied" (or a spawn EACCES stack trace).
t.test('names the first folder others cannot enter, and how to fix it', async (t) => {
  const closed = await mkdtemp(path.join(tmpdir(), 'reach-'));
  t.teardown(() => rm(closed, { recursive: true, force: true }));
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

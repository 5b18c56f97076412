// The first operator key. OPERATOR_API_KEY names one (the same on every start and instance);
// without it, the first API to start on a database that never had an operator key makes one,
// logs it once and writes it to a file only the user can read. Later starts say where that file
// is. A lost key is replaced with the CLI (`keys create --operator`), which needs no key.
import { randomUUID } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';
import { withTransaction } from '../infra/postgres.ts';
import { hashApiKey, newApiKey } from './apiKeys.ts';
import { findKeyByHash } from './postgres/findKeyByHash.ts';
import { hasOperatorKey } from './postgres/hasOperatorKey.ts';
import { insertKey } from './postgres/insertKey.ts';
import { SCOPES } from './principal.ts';

export const OPERATOR_KEY_FILE = 'operator-api-key';

export interface BootstrapLog {
  info(message: string): void;
  warn(message: string): void;
}

export type Bootstrapped =
  | { readonly made: 'from-environment' | 'none' }
  | { readonly made: 'generated'; readonly key: string; readonly file: string };

export async function bootstrapOperatorKey(options: {
  readonly pool: pg.Pool;
  readonly operatorApiKey: string | undefined;
  readonly dataDir: string;
  readonly log: BootstrapLog;
}): Promise<Bootstrapped> {
  const { pool, operatorApiKey, dataDir, log } = options;
  const file = path.join(dataDir, OPERATOR_KEY_FILE);
  if (operatorApiKey !== undefined) {
    const hash = hashApiKey(operatorApiKey);
    const made = await insertKey(pool, operatorKey(hash, 'OPERATOR_API_KEY'));
    if (!made && (await findKeyByHash(pool, hash))?.revokedAt) {
      log.warn('OPERATOR_API_KEY names a revoked key: it stays revoked; set another one.');
    }
    return { made: 'from-environment' };
  }
  const key = newApiKey();
  const made = await withTransaction(pool, async (client) => {
    // One bootstrap at a time across instances; the loser finds the winner's key.
    await client.query(`select pg_advisory_xact_lock(hashtext('access_bootstrap'))`);
    if (await hasOperatorKey(client)) return false;
    await insertKey(client, operatorKey(hashApiKey(key), 'bootstrap'));
    // Written before the commit: a key is never made that nobody can read.
    await writeSecret(file, key);
    return true;
  });
  if (!made) {
    log.info(
      `operator API key: made at the first start (in ${file} if that start used this DATA_DIR; ` +
        'npm run cli -- keys create --operator makes another)',
    );
    return { made: 'none' };
  }
  log.warn(
    `operator API key (shown once): ${key} ; also written to ${file} (readable by this user only)`,
  );
  return { made: 'generated', key, file };
}

function operatorKey(hash: Buffer, name: string) {
  return {
    id: randomUUID(),
    hash,
    kind: 'operator' as const,
    owner: null,
    name,
    scopes: SCOPES,
  };
}

/** Replaces `file` with `secret`, mode 600 from the start (never readable by others, not even briefly). */
async function writeSecret(file: string, secret: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  await rm(temporary, { force: true });
  await writeFile(temporary, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  await rename(temporary, file);
}

// `npm run cli -- keys create|list|revoke` and `audit access`: what the operator routes do, on the
// database directly (no key needed: whoever can reach the database is an operator already). A
// key revoked here is refused by every running API instance within a second.
import { makeKey } from '../access/makeKey.ts';
import { listKeys } from '../access/postgres/listKeys.ts';
import { migrateAccess } from '../access/postgres/migrations.ts';
import { readRefusals } from '../access/postgres/readRefusals.ts';
import { revokeKey } from '../access/postgres/revokeKey.ts';
import { keyJson } from '../access/routes.ts';
import { fieldError, RequestError } from '../api/requestError.ts';
import { parseDateTime } from '../api/requestParsing.ts';
import { isUuid } from '../infra/ids.ts';
import type { Runtime } from './runtime.ts';

export interface CliOutput {
  log(line: string): void;
  error(line: string): void;
}

type Db = Pick<Runtime, 'db'>;

/** A 400-style error's field messages as one line. */
function describe(error: unknown): string {
  if (error instanceof RequestError) {
    return Object.entries(error.body)
      .map(([field, messages]) => `${field}: ${[messages].flat().join(' ')}`)
      .join('; ');
  }
  return error instanceof Error ? error.message : String(error);
}

/** Makes a key; prints it as JSON (the `key` is shown this once). */
export async function keysCreate(
  runtime: Db,
  options: { owner?: string; scopes?: string[]; name?: string; operator?: boolean },
  out: CliOutput = console,
): Promise<number> {
  await migrateAccess(runtime.db.pool);
  try {
    const { record, key } = await makeKey(runtime.db.pool, options);
    out.log(JSON.stringify({ ...keyJson(record), key }));
    return 0;
  } catch (error) {
    if (!(error instanceof RequestError)) throw error;
    out.error(`keys create: ${describe(error)}`);
    return 2;
  }
}

/** Every key, one line each, without secrets. */
export async function keysList(runtime: Db, out: CliOutput = console): Promise<number> {
  await migrateAccess(runtime.db.pool);
  const keys = await listKeys(runtime.db.pool);
  for (const key of keys) {
    const who = key.kind === 'operator' ? 'operator' : `owner ${JSON.stringify(key.owner)}`;
    const state = key.revokedAt ? `revoked ${key.revokedAt.toISOString()}` : 'active';
    const used = key.lastUsedAt ? `last used ${key.lastUsedAt.toISOString()}` : 'never used';
    out.log(
      `${key.id}  ${who}  scopes ${key.scopes.join(',')}  name ${JSON.stringify(key.name)}  ` +
        `created ${key.createdAt.toISOString()}  ${state}  ${used}`,
    );
  }
  out.log(`${keys.length} keys`);
  return 0;
}

export async function keysRevoke(
  runtime: Db,
  id: string | undefined,
  out: CliOutput = console,
): Promise<number> {
  if (!id || !isUuid(id)) {
    out.error('keys revoke needs a key id: npm run cli -- keys revoke <key id>');
    return 2;
  }
  await migrateAccess(runtime.db.pool);
  const key = await revokeKey(runtime.db.pool, id.toLowerCase());
  if (!key) {
    out.error(`No key ${id}.`);
    return 1;
  }
  out.log(`key ${key.id} revoked at ${key.revokedAt?.toISOString()}`);
  return 0;
}

/** Refused requests, newest first, one line each. */
export async function accessLog(
  runtime: Db,
  options: { from?: string; to?: string; status?: string; key?: string; limit?: string },
  out: CliOutput = console,
): Promise<number> {
  let query: Parameters<typeof readRefusals>[1];
  try {
    const limit = Number(options.limit ?? '100');
    if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) {
      throw fieldError('limit', 'A whole number from 1 to 100000.');
    }
    if (options.status !== undefined && !['401', '403', '429'].includes(options.status)) {
      throw fieldError('status', 'One of 401, 403, 429.');
    }
    if (options.key !== undefined && !isUuid(options.key)) {
      throw fieldError('key', 'A key id (uuid).');
    }
    query = {
      from: options.from === undefined ? undefined : parseDateTime(options.from, 'from'),
      to: options.to === undefined ? undefined : parseDateTime(options.to, 'to'),
      status: options.status === undefined ? undefined : Number(options.status),
      keyId: options.key?.toLowerCase(),
      limit,
    };
  } catch (error) {
    if (!(error instanceof RequestError)) throw error;
    out.error(`audit access: ${describe(error)}`);
    return 2;
  }
  await migrateAccess(runtime.db.pool);
  const { entries, more } = await readRefusals(runtime.db.pool, query);
  for (const entry of entries) {
    out.log(
      `${entry.at.toISOString()}  ${entry.status}  ${entry.reason.padEnd(19)}  ` +
        `${entry.method} ${entry.path}  from ${entry.address}  key ${entry.keyId ?? '-'}`,
    );
  }
  out.log(
    `${entries.length} refused requests${more ? ` (more: narrow --from/--to or raise --limit)` : ''}`,
  );
  return 0;
}

/** `keys <create|list|revoke> ...` as typed on the command line. */

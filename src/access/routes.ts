// Operator routes of the access layer: make, list and revoke keys; read the access log.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type pg from 'pg';
import { fieldError, RequestError } from '../api/requestError.ts';
import { parseDateTime, parseLimit } from '../api/requestParsing.ts';
import { ErrorResponse } from '../api/schemas.ts';
import { isUuid } from '../infra/ids.ts';
import type { AccessLogWriter } from './accessLog.ts';
import type { Authenticator } from './authenticator.ts';
import { makeKey } from './makeKey.ts';
import type { KeyRecord } from './postgres/keyRecord.ts';
import { listKeys } from './postgres/listKeys.ts';
import { readRefusals } from './postgres/readRefusals.ts';
import { revokeKey } from './postgres/revokeKey.ts';
import {
  AccessLogPage,
  AccessLogQuery,
  CreatedKey,
  CreateKeyBody,
  KeyList,
  KeyParams,
} from './schemas.ts';

export interface AccessRoutesOptions {
  readonly pool: pg.Pool;
  readonly authenticator: Authenticator;
  /** This instance's refusals not yet written: written before the log is read. */
  readonly accessLog: Pick<AccessLogWriter, 'flush'>;
  /** Where links point (PUBLIC_URL); absent: the request's own scheme and host. */
  readonly publicUrl?: string | undefined;
}

export function keyJson(key: KeyRecord) {
  return {
    id: key.id,
    kind: key.kind,
    owner: key.owner,
    scopes: [...key.scopes],
    name: key.name,
    created: key.createdAt.toISOString(),
  };
}

const notFound = () => new RequestError(404, { detail: 'Not found.' });
const invalidCursor = () => fieldError('cursor', 'Invalid cursor.');

/** Access-log cursor: the last entry's time and id (newest first, so older ones follow). */
export function encodeLogCursor(entry: { at: Date; id: string }): string {
  return Buffer.from(`${entry.at.toISOString()}|${entry.id}`).toString('base64url');
}

export function decodeLogCursor(cursor: string): { at: Date; id: string } {
  const [at = '', id = ''] = Buffer.from(cursor, 'base64url').toString().split('|');
  const time = Date.parse(at);
  if (Number.isNaN(time) || !/^\d{1,18}$/.test(id)) throw invalidCursor();
  return { at: new Date(time), id };
}

export const accessRoutes: FastifyPluginAsyncTypebox<AccessRoutesOptions> = async (
  app,
  { pool, authenticator, accessLog, publicUrl },
) => {
  const errors = { 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse };

  app.post(
    '/api/keys',
    {
      config: { operatorOnly: true },
      schema: {
        summary: 'Make an API key (operator)',
        description: 'The key is in this answer only; the service keeps its hash.',
        body: CreateKeyBody,
        response: { 201: CreatedKey, ...errors },
      },
    },
    async (request, reply) => {
      const { record, key } = await makeKey(pool, request.body);
      return reply.code(201).send({ ...keyJson(record), key });
    },
  );

  app.get(
    '/api/keys',
    {
      config: { operatorOnly: true },
      schema: {
        summary: 'Every key, without secrets (operator)',
        response: { 200: KeyList, ...errors },
      },
    },
    async () => ({
      results: (await listKeys(pool)).map((key) => ({
        ...keyJson(key),
        revoked: key.revokedAt?.toISOString() ?? null,
        last_used: key.lastUsedAt?.toISOString() ?? null,
      })),
    }),
  );

  app.delete(
    '/api/keys/:id',
    {
      config: { operatorOnly: true },
      schema: {
        summary: 'Revoke a key (operator); every API instance refuses it within a second',
        params: KeyParams,
        response: { 204: Type.Null({ description: 'Revoked' }), 404: ErrorResponse, ...errors },
      },
    },
    async (request, reply) => {
      const id = request.params.id.toLowerCase();
      const revoked = isUuid(id) ? await revokeKey(pool, id) : undefined;
      if (!revoked) throw notFound();
      authenticator.forget(id);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/audit/access',
    {
      config: { operatorOnly: true },
      schema: {
        summary: 'Refused requests (401, 403, 429), newest first (operator)',
        querystring: AccessLogQuery,
        response: { 200: AccessLogPage, ...errors },
      },
    },
    async (request) => {
      const { from, to, status, key, cursor } = request.query;
      const limit = parseLimit(request.query.limit, 1000, 100);
      await accessLog.flush();
      const page = await readRefusals(pool, {
        from: from === undefined ? undefined : parseDateTime(from, 'from'),
        to: to === undefined ? undefined : parseDateTime(to, 'to'),
        status: status === undefined ? undefined : Number(status),
        keyId: key?.toLowerCase(),
        before: cursor === undefined ? undefined : decodeLogCursor(cursor),
        limit,
      });
      const last = page.entries.at(-1);
      let next: string | null = null;
      if (page.more && last) {
        const base = publicUrl ?? `${request.protocol}://${request.host}`;
        const url = new URL(`${base}${request.url}`);
        url.searchParams.set('cursor', encodeLogCursor(last));
        next = url.toString();
      }
      return {
        next,
        results: page.entries.map((entry) => ({
          id: entry.id,
          at: entry.at.toISOString(),
          key_id: entry.keyId,
          address: entry.address,
          method: entry.method,
          path: entry.path,
          status: entry.status,
          reason: entry.reason,
        })),
      };
    },
  );
};

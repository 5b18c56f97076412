// Request and response shapes of the keys and access-log routes (validation and OpenAPI).
import { Type } from '@sinclair/typebox';
import { Nullable } from '../api/nullable.ts';
import { SCOPES } from './principal.ts';

const ScopeSchema = Type.Union(
  SCOPES.map((scope) => Type.Literal(scope)),
  { description: SCOPES.join(', ') },
);

export const CreateKeyBody = Type.Object(
  {
    owner: Type.Optional(
      Type.String({
        maxLength: 200,
        description: 'The owner id (an owner key); not for operators',
      }),
    ),
    scopes: Type.Optional(
      Type.Array(ScopeSchema, {
        minItems: 1,
        uniqueItems: true,
        description: 'Default: all four (operator keys always have all)',
      }),
    ),
    name: Type.Optional(Type.String({ maxLength: 200, description: 'A label for people' })),
    operator: Type.Optional(
      Type.Boolean({ description: 'An operator key (every wallet, keys, audit)' }),
    ),
  },
  { additionalProperties: false },
);

const KeyFields = {
  id: Type.String(),
  kind: Type.Union([Type.Literal('owner'), Type.Literal('operator')]),
  owner: Nullable(Type.String()),
  scopes: Type.Array(Type.String()),
  name: Type.String(),
  created: Type.String(),
};

export const CreatedKey = Type.Object({
  ...KeyFields,
  key: Type.String({ description: 'The secret: shown this once, stored only as a hash' }),
});

export const KeyList = Type.Object({
  results: Type.Array(
    Type.Object({
      ...KeyFields,
      revoked: Nullable(Type.String()),
      last_used: Nullable(Type.String(), {
        description: 'Written every few seconds, not per request',
      }),
    }),
  ),
});

export const KeyParams = Type.Object({ id: Type.String({ description: 'Key id' }) });

export const AccessLogQuery = Type.Object(
  {
    from: Type.Optional(Type.String({ maxLength: 64, description: 'ISO 8601, inclusive' })),
    to: Type.Optional(Type.String({ maxLength: 64, description: 'ISO 8601, exclusive' })),
    status: Type.Optional(
      Type.Union([Type.Literal('401'), Type.Literal('403'), Type.Literal('429')]),
    ),
    key: Type.Optional(Type.String({ format: 'uuid', description: 'Key id' })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
    limit: Type.Optional(
      Type.String({ pattern: '^\\d+$', maxLength: 30, description: '1 to 1000, default 100' }),
    ),
  },
  { additionalProperties: true },
);

export const AccessLogPage = Type.Object({
  next: Nullable(Type.String()),
  results: Type.Array(
    Type.Object({
      id: Type.String(),
      at: Type.String(),
      key_id: Nullable(Type.String()),
      address: Type.String(),
      method: Type.String(),
      path: Type.String(),
      status: Type.Integer(),
      reason: Type.String(),
    }),
  ),
});

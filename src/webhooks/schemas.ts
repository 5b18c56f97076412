// Request and response shapes of the webhook routes (validation and OpenAPI). Event types and
// target URLs are checked by the routes, whose messages name what is wrong.
import { Type } from '@sinclair/typebox';
import { Nullable } from '../api/nullable.ts';
import { WALLET_EVENT_TYPES } from '../domain/events.ts';

const Url = Type.String({
  maxLength: 2048,
  description:
    'http(s) URL the events are POSTed to; loopback, private, link-local and metadata addresses are refused',
});
const Events = Type.Array(Type.String({ maxLength: 64 }), {
  maxItems: 50,
  description: `Event types to receive (${WALLET_EVENT_TYPES.join(', ')}); absent or null: all, also ones added later`,
});
const Description = Type.String({ maxLength: 500, description: 'A label for people' });

export const CreateWebhookBody = Type.Object(
  {
    url: Url,
    events: Type.Optional(Nullable(Events)),
    description: Type.Optional(Description),
  },
  { additionalProperties: false },
);

export const UpdateWebhookBody = Type.Object(
  {
    url: Type.Optional(Url),
    events: Type.Optional(Nullable(Events)),
    description: Type.Optional(Description),
    enabled: Type.Optional(
      Type.Boolean({
        description:
          'false pauses deliveries (they wait, in order); true resumes, also after the service disabled it for failing',
      }),
    ),
  },
  { additionalProperties: false },
);

export const WebhookParams = Type.Object({ id: Type.String({ description: 'Endpoint id' }) });
export const DeliveryParams = Type.Object({
  id: Type.String({ description: 'Endpoint id' }),
  deliveryId: Type.String({ description: 'Delivery id (its webhook-id)' }),
});

export const DeliveriesQuery = Type.Object(
  {
    status: Type.Optional(
      Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed')]),
    ),
    cursor: Type.Optional(Type.String({ maxLength: 64 })),
    limit: Type.Optional(
      Type.String({ pattern: '^\\d+$', maxLength: 30, description: '1 to 100, default 20' }),
    ),
  },
  { additionalProperties: true },
);

const EndpointFields = {
  id: Type.String(),
  url: Type.String(),
  events: Nullable(Type.Array(Type.String()), { description: 'null: all' }),
  description: Type.String(),
  owner: Nullable(Type.String(), {
    description: "Whose wallets' events it receives; null: every wallet (an operator's)",
  }),
  enabled: Type.Boolean(),
  disabled_reason: Nullable(Type.String(), {
    description: 'Why the service disabled it (every attempt failed too long); null otherwise',
  }),
  failing_since: Nullable(Type.String(), {
    description: 'Every attempt since then failed; null: the last one succeeded',
  }),
  created: Type.String(),
  updated: Type.String(),
};

export const Webhook = Type.Object(EndpointFields);
export const WebhookList = Type.Object({ results: Type.Array(Webhook) });
export const WebhookWithSecret = Type.Object({
  ...EndpointFields,
  secret: Type.String({
    description:
      'whsec_ + base64: verifies the webhook-signature header; shown in this answer only',
  }),
  previous_secret_expires: Type.Optional(
    Type.String({ description: 'Until then the replaced secret signs too (a second signature)' }),
  ),
});

const Attempt = Type.Object({
  attempt: Type.Integer(),
  at: Type.String(),
  status: Nullable(Type.Integer(), { description: 'HTTP status; null: no answer' }),
  latency_ms: Type.Integer(),
  response: Nullable(Type.String(), { description: 'The first 1 KiB of the answer' }),
  error: Nullable(Type.String()),
});

export const Delivery = Type.Object({
  id: Type.String({ description: 'The webhook-id: the same on every attempt' }),
  event_id: Type.String(),
  type: Type.String(),
  wallet: Type.String(),
  revision: Type.Integer(),
  status: Type.String({ description: 'pending, delivered or failed' }),
  created: Type.String(),
  next_attempt: Nullable(Type.String()),
  finished: Nullable(Type.String()),
  attempts: Type.Array(Attempt),
  retry_requested: Type.Optional(Type.String()),
});

export const DeliveryPage = Type.Object({
  next: Nullable(Type.String()),
  results: Type.Array(Delivery),
});

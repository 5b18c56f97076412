// Request and response shapes of the webhook routes (validation and OpenAPI). Event types and
// target URLs are checked by the routes, whose messages name what is wrong.
import { Type } from '@sinclair/typebox';
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
    events: Type.Optional(Type.Union([Events, Type.Null()])),
    description: Type.Optional(Description),
  },
  { additionalProperties: false },
);

export const UpdateWebhookBody = Type.Object(
  {
    url: Type.Optional(Url),
    events: Type.Optional(Type.Union([Events, Type.Null()])),
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
  events: Type.Union([Type.Array(Type.String()), Type.Null()], { description: 'null: all' }),
  description: Type.String(),
  owner: Type.Union([Type.String(), Type.Null()], {
    description: "Whose wallets' events it receives; null: every wallet (an operator's)",
  }),
  enabled: Type.Boolean(),
  disabled_reason: Type.Union([Type.String(), Type.Null()], {
    description: 'Why the service disabled it (every attempt failed too long); null otherwise',
  }),
  failing_since: Type.Union([Type.String(), Type.Null()], {
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
  status: Type.Union([Type.Integer(), Type.Null()], {
    description: 'HTTP status; null: no answer',
  }),
  latency_ms: Type.Integer(),
  response: Type.Union([Type.String(), Type.Null()], {
    description: 'The first 1 KiB of the answer',
  }),
  error: Type.Union([Type.String(), Type.Null()]),
});

export const Delivery = Type.Object({
  id: Type.String({ description: 'The webhook-id: the same on every attempt' }),
  event_id: Type.String(),
  type: Type.String(),
  wallet: Type.String(),
  revision: Type.Integer(),
  status: Type.String({ description: 'pending, delivered or failed' }),
  created: Type.String(),
  next_attempt: Type.Union([Type.String(), Type.Null()]),
  finished: Type.Union([Type.String(), Type.Null()]),
  attempts: Type.Array(Attempt),
  retry_requested: Type.Optional(Type.String()),
});

export const DeliveryPage = Type.Object({
  next: Type.Union([Type.String(), Type.Null()]),
  results: Type.Array(Delivery),
});

// The webhook routes (scope webhooks:write): register, list, change, pause, delete endpoints,
// rotate their secrets, look at deliveries and ask for a retry. An owner's key sees and manages
// its own endpoints only (another owner's is a 404, as an unknown one) and they receive that
// owner's wallets' events; an operator's (or, with AUTH=off, anybody's) receive every wallet's.
// The API writes the registrations (schema `webhooks`); the notify role delivers and keeps the
// deliveries, which these routes only read.
import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type pg from 'pg';
import {
  type DeliveryView,
  endpointHealth,
  findDelivery,
  listDeliveries,
} from '../../notify/queries.ts';
import type { Principal } from '../access/principal.ts';
import { fieldError, RequestError } from '../api/requestError.ts';
import { parseLimit, refuseFields } from '../api/requestParsing.ts';
import { ErrorResponse } from '../api/schemas.ts';
import { isWalletEventType, WALLET_EVENT_TYPES } from '../domain/events.ts';
import { isUuid } from '../infra/ids.ts';
import { deleteEndpoint } from './postgres/deleteEndpoint.ts';
import type { EndpointRecord, OwnerScope } from './postgres/endpointRecord.ts';
import { findEndpoint } from './postgres/findEndpoint.ts';
import { insertEndpoint } from './postgres/insertEndpoint.ts';
import { listEndpoints } from './postgres/listEndpoints.ts';
import { migrateWebhooks } from './postgres/migrations.ts';
import { requestRetry } from './postgres/requestRetry.ts';
import { rotateSecret } from './postgres/rotateSecret.ts';
import { updateEndpoint } from './postgres/updateEndpoint.ts';
import {
  CreateWebhookBody,
  DeliveriesQuery,
  DeliveryPage,
  DeliveryParams,
  Delivery as DeliverySchema,
  UpdateWebhookBody,
  Webhook,
  WebhookList,
  WebhookParams,
  WebhookWithSecret,
} from './schemas.ts';
import { sealSecret } from './secretBox.ts';
import { newSecret } from './signature.ts';
import { checkTargetUrl, type Resolve } from './targets.ts';

export interface WebhookRoutesOptions {
  readonly pool: pg.Pool;
  /** WEBHOOK_ALLOW_PRIVATE_TARGETS. */
  readonly allowPrivateTargets: boolean;
  /** WEBHOOK_SECRET_KEY: secrets are stored encrypted with it. */
  readonly secretKey: Buffer | undefined;
  /** Where links point (PUBLIC_URL); absent: the request's own scheme and host. */
  readonly publicUrl?: string | undefined;
  /** Name resolution for the target check (tests: a stand-in resolver). */
  readonly resolve?: Resolve;
}

/** Live endpoints per owner (operators count as one owner). */
export const MAX_ENDPOINTS_PER_OWNER = 50;
/** How long a replaced secret keeps signing beside the new one. */
export const ROTATION_OVERLAP_MS = 24 * 3_600_000;

const notFound = () => new RequestError(404, { detail: 'Not found.' });

/** Which endpoints the principal sees: an owner's own; operators (and AUTH=off) every one. */
const scopeOf = (principal: Principal): OwnerScope =>
  principal.kind === 'owner' ? { owner: principal.owner } : null;

/** `events` as stored: null for all, else known types without repeats. */
function eventTypes(events: readonly string[] | null | undefined): string[] | null | undefined {
  if (events === undefined || events === null) return events;
  if (events.length === 0) {
    throw fieldError(
      'events',
      'Give at least one event type, or leave "events" out for all of them.',
    );
  }
  const unknown = events.filter((type) => !isWalletEventType(type));
  if (unknown.length > 0) {
    throw fieldError(
      'events',
      ...unknown.map(
        (type) => `"${type}" is not an event type (${WALLET_EVENT_TYPES.join(', ')}).`,
      ),
    );
  }
  return [...new Set(events)];
}

export const webhookRoutes: FastifyPluginAsyncTypebox<WebhookRoutesOptions> = async (
  app,
  options,
) => {
  const { pool, secretKey } = options;
  await migrateWebhooks(pool);
  const errors = { 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse };
  const config = { scope: 'webhooks:write' as const };
  const baseUrl = (request: FastifyRequest) =>
    options.publicUrl ?? `${request.protocol}://${request.host}`;

  async function checkedUrl(url: string): Promise<string> {
    const checked = await checkTargetUrl(url, {
      allowPrivate: options.allowPrivateTargets,
      resolve: options.resolve,
    });
    if ('problem' in checked) throw fieldError('url', checked.problem);
    return checked.url.toString();
  }

  async function render(endpoints: readonly EndpointRecord[]) {
    const health = await endpointHealth(
      pool,
      endpoints.map((e) => e.id),
    );
    return endpoints.map((endpoint) => {
      const h = health.get(endpoint.id);
      const disabled = h?.disabledAt != null && h.disabledAt >= endpoint.enabledAt;
      return {
        id: endpoint.id,
        url: endpoint.url,
        events: endpoint.eventTypes === null ? null : [...endpoint.eventTypes],
        description: endpoint.description,
        owner: endpoint.owner,
        enabled: endpoint.enabled && !disabled,
        disabled_reason: disabled ? (h?.disabledReason ?? null) : null,
        failing_since: h?.failingSince?.toISOString() ?? null,
        created: endpoint.createdAt.toISOString(),
        updated: endpoint.updatedAt.toISOString(),
      };
    });
  }
  type Rendered = Awaited<ReturnType<typeof render>>[number];
  const renderOne = async (endpoint: EndpointRecord) => (await render([endpoint]))[0] as Rendered;

  /** The endpoint named in the path, if the principal may see it; else a 404. */
  async function endpointOf(request: { principal: Principal; params: { id: string } }) {
    const id = request.params.id.toLowerCase();
    const endpoint = isUuid(id)
      ? await findEndpoint(pool, id, scopeOf(request.principal))
      : undefined;
    if (!endpoint) throw notFound();
    return endpoint;
  }

  app.post(
    '/api/webhooks',
    {
      config,
      schema: {
        summary: 'Register a webhook endpoint',
        description:
          'Events are POSTed signed as Standard Webhooks sign them. The secret is in this answer only.',
        body: CreateWebhookBody,
        response: { 201: WebhookWithSecret, 409: ErrorResponse, ...errors },
      },
    },
    async (request, reply) => {
      const { principal } = request;
      const events = eventTypes(request.body.events) ?? null;
      const url = await checkedUrl(request.body.url);
      const id = randomUUID();
      const secret = newSecret();
      const endpoint = await insertEndpoint(
        pool,
        {
          id,
          owner: principal.kind === 'owner' ? principal.owner : null,
          keyId: principal.kind === 'anonymous' ? null : principal.keyId,
          url,
          eventTypes: events,
          description: request.body.description ?? '',
          secret: sealSecret(secret, id, secretKey),
        },
        MAX_ENDPOINTS_PER_OWNER,
      );
      if (!endpoint) {
        throw new RequestError(409, {
          detail: `At most ${MAX_ENDPOINTS_PER_OWNER} webhook endpoints per owner: delete one first.`,
        });
      }
      return reply
        .code(201)
        .header('location', `${baseUrl(request)}/api/webhooks/${id}`)
        .send({ ...(await renderOne(endpoint)), secret });
    },
  );

  app.get(
    '/api/webhooks',
    {
      config,
      schema: {
        summary: 'The webhook endpoints you may see',
        response: { 200: WebhookList, ...errors },
      },
    },
    async (request) => ({
      results: await render(await listEndpoints(pool, scopeOf(request.principal))),
    }),
  );

  app.get(
    '/api/webhooks/:id',
    {
      config,
      schema: {
        summary: 'A webhook endpoint',
        params: WebhookParams,
        response: { 200: Webhook, ...errors },
      },
    },
    async (request) => renderOne(await endpointOf(request)),
  );

  app.patch(
    '/api/webhooks/:id',
    {
      config,
      schema: {
        summary: 'Change a webhook endpoint; "enabled": false pauses it, true resumes it',
        params: WebhookParams,
        body: UpdateWebhookBody,
        response: { 200: Webhook, ...errors },
      },
    },
    async (request) => {
      const { id } = await endpointOf(request);
      const { url, events, description, enabled } = request.body;
      const updated = await updateEndpoint(pool, id, scopeOf(request.principal), {
        url: url === undefined ? undefined : await checkedUrl(url),
        eventTypes: eventTypes(events),
        description,
        enabled,
      });
      if (!updated) throw notFound();
      return renderOne(updated);
    },
  );

  app.delete(
    '/api/webhooks/:id',
    {
      config,
      schema: {
        summary: 'Delete a webhook endpoint and its undelivered deliveries',
        params: WebhookParams,
        response: { 204: Type.Null({ description: 'Deleted' }), ...errors },
      },
    },
    async (request, reply) => {
      const id = request.params.id.toLowerCase();
      if (!isUuid(id) || !(await deleteEndpoint(pool, id, scopeOf(request.principal))))
        throw notFound();
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/webhooks/:id/rotate-secret',
    {
      config,
      schema: {
        summary: 'A new signing secret; the old one keeps signing beside it for 24 hours',
        params: WebhookParams,
        response: { 200: WebhookWithSecret, ...errors },
      },
    },
    async (request) => {
      refuseFields(request.body);
      const { id } = await endpointOf(request);
      const secret = newSecret();
      const rotated = await rotateSecret(pool, id, scopeOf(request.principal), {
        secret: sealSecret(secret, id, secretKey),
        overlapMs: ROTATION_OVERLAP_MS,
      });
      if (!rotated) throw notFound();
      return {
        ...(await renderOne(rotated)),
        secret,
        previous_secret_expires: rotated.previousSecretUntil?.toISOString(),
      };
    },
  );

  const deliveryJson = (delivery: DeliveryView) => ({
    id: delivery.id,
    event_id: delivery.eventId,
    type: delivery.eventType,
    wallet: delivery.walletId,
    revision: delivery.revision,
    status: delivery.status,
    created: delivery.createdAt.toISOString(),
    next_attempt: delivery.nextAttemptAt?.toISOString() ?? null,
    finished: delivery.finishedAt?.toISOString() ?? null,
    attempts: delivery.attempts.map((a) => ({
      attempt: a.attempt,
      at: a.at.toISOString(),
      status: a.httpStatus,
      latency_ms: a.latencyMs,
      response: a.response,
      error: a.error,
    })),
  });

  app.get(
    '/api/webhooks/:id/deliveries',
    {
      config,
      schema: {
        summary: "An endpoint's deliveries, newest first, each with its last 10 attempts",
        params: WebhookParams,
        querystring: DeliveriesQuery,
        response: { 200: DeliveryPage, ...errors },
      },
    },
    async (request) => {
      const { id } = await endpointOf(request);
      const { status, cursor } = request.query;
      const limit = parseLimit(request.query.limit, 100, 20);
      const before = cursor === undefined ? undefined : Buffer.from(cursor, 'base64url').toString();
      if (before !== undefined && !/^\d{1,18}$/.test(before))
        throw fieldError('cursor', 'Invalid cursor.');
      const page = await listDeliveries(pool, { endpointId: id, status, before, limit });
      const last = page.deliveries.at(-1);
      let next: string | null = null;
      if (page.more && last) {
        const url = new URL(`${baseUrl(request)}${request.url}`);
        url.searchParams.set('cursor', Buffer.from(last.seq).toString('base64url'));
        next = url.toString();
      }
      return { next, results: page.deliveries.map(deliveryJson) };
    },
  );

  app.post(
    '/api/webhooks/:id/deliveries/:deliveryId/retry',
    {
      config,
      schema: {
        summary: 'Attempt a failed delivery again now: it gets one more attempt',
        params: DeliveryParams,
        response: { 202: DeliverySchema, 409: ErrorResponse, ...errors },
      },
    },
    async (request, reply) => {
      refuseFields(request.body);
      const { id } = await endpointOf(request);
      const deliveryId = request.params.deliveryId.toLowerCase();
      const delivery = isUuid(deliveryId) ? await findDelivery(pool, id, deliveryId) : undefined;
      if (!delivery) throw notFound();
      // Only a failed one: each retry adds an attempt, so a delivered or a pending one (still
      // being attempted on its own) is not retried, and attempts cannot be piled up on it.
      if (delivery.status !== 'failed') {
        throw new RequestError(409, {
          detail:
            delivery.status === 'delivered'
              ? 'This delivery was delivered: there is nothing to retry.'
              : 'This delivery is pending: it is attempted again by itself (see next_attempt).',
        });
      }
      const requestedAt = await requestRetry(pool, { deliveryId, endpointId: id });
      return reply
        .code(202)
        .send({ ...deliveryJson(delivery), retry_requested: requestedAt.toISOString() });
    },
  );
};

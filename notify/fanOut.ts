// Which endpoints an event goes to, and what they receive: pure functions of the event, the
// registrations and the wallet's owner. The body is made once, stored with the delivery, and sent
// byte for byte on every attempt (its signature covers exactly these bytes).
import { WALLET_STREAM_PREFIX } from '../src/domain/events.ts';
import type { RecordedEvent } from '../src/eventstore/eventStore.ts';
import { uuidFromName } from '../src/infra/ids.ts';

/** Namespace of delivery ids (the webhook-id): one per endpoint and event, whatever happens. */
const DELIVERY_NAMESPACE = '6f1d3c1e-8a4b-4c5e-9d7f-2b1a0e9c8d7f';

export const deliveryIdOf = (endpointId: string, eventId: string): string =>
  uuidFromName(DELIVERY_NAMESPACE, `${endpointId}/${eventId}`);

export const walletIdOf = (event: RecordedEvent): string =>
  event.streamId.slice(WALLET_STREAM_PREFIX.length);

/**
 * `{"type", "timestamp", "data": {"walletId", "revision", "globalPosition", ...the event's data}}`.
 * The API's idempotency bookkeeping (`idempotencyKey`, `requestHash`) is left out: it is the
 * API's, namespaced per principal, and says nothing a receiver can use.
 */
export function webhookBody(event: RecordedEvent): string {
  const { idempotencyKey, requestHash, ...data } = (event.data ?? {}) as Record<string, unknown>;
  return JSON.stringify({
    type: event.type,
    timestamp: typeof data.at === 'string' ? data.at : event.recordedAt.toISOString(),
    data: {
      walletId: walletIdOf(event),
      revision: Number(event.revision),
      globalPosition: {
        commit: event.position.commit.toString(),
        prepare: event.position.prepare.toString(),
      },
      ...data,
    },
  });
}

/** A registration as the fan-out needs it. */
export interface Subscriber {
  readonly id: string;
  /** An owner's endpoint: that owner's wallets only; null: every wallet. */
  readonly owner: string | null;
  /** null: every event type. */
  readonly eventTypes: readonly string[] | null;
  readonly createdAt: Date;
}

/**
 * An endpoint gets the events recorded from its registration on. The event store's clock and the
 * database's are compared, and an event appended right after the registration answered may carry
 * an earlier time by a little (another server's clock, or a registration still committing): a
 * second of tolerance, so such an event is delivered (an older one or two may be too).
 */
export const REGISTRATION_TOLERANCE_MS = 1000;

export function isSubscribed(
  endpoint: Subscriber,
  event: RecordedEvent,
  walletOwner: string | null,
): boolean {
  return (
    (endpoint.eventTypes === null || endpoint.eventTypes.includes(event.type)) &&
    (endpoint.owner === null || endpoint.owner === walletOwner) &&
    event.recordedAt.getTime() >= endpoint.createdAt.getTime() - REGISTRATION_TOLERANCE_MS
  );
}

// One batch of the global log into the outbox, in the caller's transaction: the owners of wallets
// created in it, a delivery per event and subscribed endpoint, the lanes those deliveries join,
// and the checkpoint. Committed together, so a crash either keeps all of it or none (the batch is
// then read again and written the same way: delivery ids are fixed per endpoint and event).
import type pg from 'pg';
import { storeCheckpoint } from '../../projections/checkpoint.ts';
import type { Position, RecordedEvent } from '../../src/eventstore/eventStore.ts';
import { deliveryIdOf, isSubscribed, walletIdOf, webhookBody } from '../fanOut.ts';
import { NOTIFY_SCHEMA } from '../schema.ts';
import { dormantSince, loadEndpoints } from './loadEndpoints.ts';

type Client = Pick<pg.PoolClient, 'query'>;

export interface OutboxBatch {
  readonly from: Position;
  readonly events: readonly RecordedEvent[];
  /** When a new delivery is first due (the follower's clock). */
  readonly now: Date;
  /** Attempts a delivery gets before it fails (WEBHOOK_RETRY_SCHEDULE's length + 1). */
  readonly maxAttempts: number;
  /**
   * WEBHOOK_RETENTION_DAYS: an endpoint paused or disabled for longer gets no new deliveries
   * (what it has waiting is given up once that old: expireDormant.ts).
   */
  readonly retentionDays: number;
}

/** Owners of the batch's wallets: created in it, or found in the table. */
async function walletOwners(
  client: Client,
  events: readonly RecordedEvent[],
): Promise<Map<string, string | null>> {
  const owners = new Map<string, string | null>();
  for (const event of events) {
    if (event.type === 'WalletCreated') {
      owners.set(walletIdOf(event), (event.data as { owner?: string | null }).owner ?? null);
    }
  }
  const unknown = [...new Set(events.map(walletIdOf))].filter((id) => !owners.has(id));
  if (unknown.length > 0) {
    const { rows } = await client.query<{ wallet_id: string; owner: string }>({
      name: 'notify-wallet-owners',
      text: `select wallet_id, owner from ${NOTIFY_SCHEMA}.wallet_owners
             where wallet_id = any($1::uuid[])`,
      values: [unknown],
    });
    for (const id of unknown) owners.set(id, null);
    for (const row of rows) owners.set(row.wallet_id, row.owner);
  }
  return owners;
}

async function recordOwners(client: Client, events: readonly RecordedEvent[]): Promise<void> {
  const created = events.flatMap((event) => {
    const owner = (event.data as { owner?: string | null }).owner;
    return event.type === 'WalletCreated' && owner ? [[walletIdOf(event), owner] as const] : [];
  });
  if (created.length === 0) return;
  await client.query({
    name: 'notify-record-owners',
    text: `insert into ${NOTIFY_SCHEMA}.wallet_owners (wallet_id, owner)
           select * from unnest($1::uuid[], $2::text[]) on conflict do nothing`,
    values: [created.map(([id]) => id), created.map(([, owner]) => owner)],
  });
}

/** Writes the batch's deliveries and moves the checkpoint; the number of deliveries written. */
export async function writeOutbox(client: Client, batch: OutboxBatch): Promise<number> {
  const { events, now } = batch;
  const last = events.at(-1);
  if (!last) return 0;
  await recordOwners(client, events);
  const cutoff = now.getTime() - batch.retentionDays * 86_400_000;
  const endpoints = (await loadEndpoints(client)).filter(
    (endpoint) => (dormantSince(endpoint)?.getTime() ?? cutoff) >= cutoff,
  );
  const columns = {
    id: [] as string[],
    endpoint: [] as string[],
    wallet: [] as string[],
    revision: [] as string[],
    event: [] as string[],
    type: [] as string[],
    body: [] as string[],
    recorded: [] as Date[],
  };
  if (endpoints.length > 0) {
    const owners = endpoints.some((e) => e.owner !== null)
      ? await walletOwners(client, events)
      : new Map<string, string | null>();
    for (const event of events) {
      const walletId = walletIdOf(event);
      const owner = owners.get(walletId) ?? null;
      let body: string | undefined;
      for (const endpoint of endpoints) {
        if (!isSubscribed(endpoint, event, owner)) continue;
        body ??= webhookBody(event);
        columns.id.push(deliveryIdOf(endpoint.id, event.id));
        columns.endpoint.push(endpoint.id);
        columns.wallet.push(walletId);
        columns.revision.push(event.revision.toString());
        columns.event.push(event.id);
        columns.type.push(event.type);
        columns.body.push(body);
        columns.recorded.push(event.recordedAt);
      }
    }
  }
  if (columns.id.length > 0) {
    await client.query({
      name: 'notify-insert-deliveries',
      text: `insert into ${NOTIFY_SCHEMA}.deliveries
               (delivery_id, endpoint_id, wallet_id, revision, event_id, event_type, body,
                recorded_at, max_attempts, next_attempt_at)
             select d.*, $9::integer, $10::timestamptz
             from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::bigint[], $5::uuid[], $6::text[],
                         $7::text[], $8::timestamptz[]) d
             on conflict (delivery_id) do nothing`,
      values: [...Object.values(columns), batch.maxAttempts, now],
    });
    // The lanes the deliveries joined, in one order (row locks taken in it: no deadlocks between
    // batches). A lane with a pending head keeps its due time; an idle one is due now.
    const lanes = [
      ...new Set(columns.id.map((_, i) => `${columns.endpoint[i]}|${columns.wallet[i]}`)),
    ]
      .sort()
      .map((lane) => lane.split('|') as [string, string]);
    await client.query({
      name: 'notify-join-lanes',
      text: `insert into ${NOTIFY_SCHEMA}.lanes (endpoint_id, wallet_id, head_due_at)
             select e, w, $3::timestamptz from unnest($1::uuid[], $2::uuid[]) as l(e, w)
             on conflict (endpoint_id, wallet_id) do update
               set head_due_at = coalesce(lanes.head_due_at, excluded.head_due_at)
               where lanes.head_due_at is null`,
      values: [lanes.map(([e]) => e), lanes.map(([, w]) => w), now],
    });
  }
  await storeCheckpoint(client, NOTIFY_SCHEMA, batch.from, last.position, last.recordedAt);
  return columns.id.length;
}

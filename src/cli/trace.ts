// `trace <id>`: the whole life of a withdrawal (or deposit), or everything one request caused,
// from the event streams: scheduled, started, each payout request and attempt, the outcome, the
// transfer received on the target wallet, with who caused each event and its correlation ids.
// The read model says which wallets hold a transaction; a request id is looked for in the log.
import { walletsOfTransaction } from '../../projections/queries.ts';
import { WALLET_STREAM_PREFIX, walletStreamId } from '../domain/events.ts';
import { type EventStore, type RecordedEvent, START } from '../eventstore/eventStore.ts';
import type { Runtime } from './runtime.ts';

/** Whether `event` belongs to the life of transaction `id`, or was caused by request `id`. */
export function concerns(event: RecordedEvent, id: string): boolean {
  const data = event.data as { withdrawalId?: unknown; depositId?: unknown } | null;
  const metadata = event.metadata ?? {};
  return (
    data?.withdrawalId === id ||
    data?.depositId === id ||
    metadata.$correlationId === id ||
    metadata.$causationId === id
  );
}

/** Transaction ids (withdrawals, deposits) the events speak of. */
const transactionsIn = (events: readonly RecordedEvent[]) =>
  new Set(
    events.flatMap((e) => {
      const data = e.data as { withdrawalId?: unknown; depositId?: unknown } | null;
      const id = data?.withdrawalId ?? data?.depositId;
      return typeof id === 'string' ? [id] : [];
    }),
  );

/** Every event of the log that concerns `id`, read page by page (for ids no read model knows). */
async function scanLog(store: EventStore, id: string, onPage: (seen: number) => void) {
  const found: RecordedEvent[] = [];
  let position = START;
  let seen = 0;
  for (;;) {
    const page = await store.readAll(position, 5000);
    for (const event of page) {
      if (event.streamId.startsWith(WALLET_STREAM_PREFIX) && concerns(event, id)) found.push(event);
    }
    seen += page.length;
    onPage(seen);
    const last = page.at(-1);
    if (!last || page.length < 5000) return found;
    position = last.position;
  }
}

/** The events of `id`'s life, in the order they were recorded. */
export async function traceEvents(
  runtime: Pick<Runtime, 'store' | 'db'>,
  id: string,
  onScan: (seen: number) => void = () => {},
): Promise<RecordedEvent[]> {
  const { store } = runtime;
  let ids = new Set([id]);
  let wallets = await walletsOfTransaction(runtime.db.pool, id);
  if (wallets.length === 0) {
    // Not a transaction the read model knows: a request or correlation id, found in the log.
    const direct = await scanLog(store, id, onScan);
    ids = new Set([id, ...transactionsIn(direct)]);
    wallets = [
      ...new Set([
        ...direct.map((e) => e.streamId.slice(WALLET_STREAM_PREFIX.length)),
        ...(
          await Promise.all([...ids].map((t) => walletsOfTransaction(runtime.db.pool, t)))
        ).flat(),
      ]),
    ];
  }
  const streams = await Promise.all(wallets.map((w) => store.readStream(walletStreamId(w))));
  return streams
    .flat()
    .filter((event) => [...ids].some((each) => concerns(event, each)))
    .sort((a, b) => a.recordedAt.getTime() - b.recordedAt.getTime());
}

/** One line per event: when, where, what, who, and why. */
export function formatTraced(event: RecordedEvent): string {
  const { at: _at, ...data } = event.data as Record<string, unknown>;
  const metadata = event.metadata ?? {};
  const actor = metadata.actor as
    | { type?: string; owner?: string; name?: string; instance?: string }
    | undefined;
  const who = actor
    ? [actor.type, actor.owner ?? actor.name ?? actor.instance].filter(Boolean).join(':')
    : '-';
  const why = [
    metadata.$correlationId ? `correlation ${metadata.$correlationId}` : '',
    metadata.$causationId ? `causation ${metadata.$causationId}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  return `${event.recordedAt.toISOString()}  ${event.streamId}#${event.revision}  ${event.type.padEnd(28)}  ${who}  ${why}  ${JSON.stringify(data)}`;
}

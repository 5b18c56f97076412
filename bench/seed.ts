// Bulk events for the catch-up and rebuild figures, made the way the product makes them: the
// domain's own decider produces each wallet's events (WalletCreated, then deposits), and the event
// store appends them, one append per wallet (as a batch of queued commands would be).
import { randomUUID } from 'node:crypto';
import { WALLET_STREAM_PREFIX, type WalletEvent, walletStreamId } from '../src/domain/events.ts';
import { decide, evolve, type WalletCommand, type WalletState } from '../src/domain/wallet.ts';
import type { EventStore } from '../src/eventstore/eventStore.ts';
import { countEvents } from '../src/eventstore/postgres/countEvents.ts';
import type { Context } from './context.ts';
import { mapLimit } from './http.ts';

/** One wallet's history: created, then `events - 1` deposits. */
function walletHistory(events: number): { walletId: string; events: WalletEvent[] } {
  const walletId = randomUUID();
  const commands: WalletCommand[] = [
    { type: 'CreateWallet', walletId, currency: 'USD', owner: null },
    ...Array.from(
      { length: events - 1 },
      (): WalletCommand => ({ type: 'Deposit', depositId: randomUUID(), amount: '1.00' }),
    ),
  ];
  let state: WalletState = null;
  const out: WalletEvent[] = [];
  for (const command of commands) {
    for (const event of decide(command, state, new Date())) {
      state = evolve(state, event);
      out.push(event);
    }
  }
  return { walletId, events: out };
}

async function appendWallet(store: EventStore, events: number) {
  const history = walletHistory(events);
  return store.appendToStream(
    walletStreamId(history.walletId),
    history.events.map((e) => ({ id: randomUUID(), type: e.type, data: e.data })),
    { expectedRevision: 'no_stream' },
  );
}

/**
 * Appends `total` wallet events, 10 per wallet, 4 appends at a time; the very last event is a
 * single-event append of its own, so that a projector having passed its transaction has passed
 * every event seeded. Returns that last transaction id (the commit position to wait for).
 */
export async function seedEvents(ctx: Context, total: number): Promise<bigint> {
  const perWallet = 10;
  const wallets = Math.floor((total - 1) / perWallet);
  const rest = total - 1 - wallets * perWallet;
  let done = 0;
  let reported = 0;
  const started = performance.now();
  await mapLimit(Array.from({ length: wallets }), 4, async () => {
    await appendWallet(ctx.store, perWallet);
    done += perWallet;
    if (done - reported >= 100_000) {
      reported = done;
      const rate = done / ((performance.now() - started) / 1000);
      ctx.progress(`  seeded ${done.toLocaleString('en-US')} events (${Math.round(rate)} ev/s)`);
    }
  });
  if (rest > 0) await appendWallet(ctx.store, rest);
  const last = await appendWallet(ctx.store, 1);
  return last.position.commit;
}

/** Wallet events in the store (the count the CLI's rebuild reports as its total). */
export const countWalletEvents = (ctx: Context) => countEvents(ctx.pool, WALLET_STREAM_PREFIX);

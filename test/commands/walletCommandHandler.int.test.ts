// Command handling against a real PostgreSQL event store, with several handlers standing in for
// several api instances: their caches go stale and only the expected revision keeps them right.
import { randomUUID } from 'node:crypto';
import t from 'tap';
import {
  type CommandResult,
  createWalletCommandHandler,
  toWalletEvent,
} from '../../src/commands/walletCommandHandler.ts';
import { DomainError, IdempotencyKeyReused, WalletAlreadyExists } from '../../src/domain/errors.ts';
import { walletStreamId } from '../../src/domain/events.ts';
import {
  evolve,
  type Wallet,
  type WalletCommand,
  type WalletState,
} from '../../src/domain/wallet.ts';
import type { EventStore } from '../../src/eventstore/eventStore.ts';
import { openPostgresEventStore } from '../../src/eventstore/postgres/index.ts';
import { createTestDatabase } from '../support/database.ts';

t.test('wallet command handler on PostgreSQL', async (t) => {
  const db = await createTestDatabase(t, 40);
  const store = await openPostgresEventStore(db.pool);

  const newWallet = async (handler = createWalletCommandHandler(store)) => {
    const walletId = randomUUID();
    await handler.handle(walletId, {
      type: 'CreateWallet',
      walletId,
      currency: 'USD',
      owner: null,
    });
    return walletId;
  };

  /** Folds the stream event by event: the balance after every single event. */
  const balances = async (s: EventStore, walletId: string) => {
    let state: WalletState = null;
    const seen: bigint[] = [];
    for (const event of await s.readStream(walletStreamId(walletId))) {
      state = evolve(state, toWalletEvent(event));
      seen.push((state as Wallet).balance);
    }
    return { state: state as Wallet, seen };
  };

  t.test('50 concurrent deposits through 4 handlers: the balance is their exact sum', async (t) => {
    let conflicts = 0;
    const handlers = Array.from({ length: 4 }, () =>
      createWalletCommandHandler(store, { onConflict: () => conflicts++ }),
    );
    const walletId = await newWallet(handlers[0]);
    const amounts = Array.from(
      { length: 50 },
      (_, i) => `${i + 1}.${String(i % 100).padStart(2, '0')}`,
    );
    await Promise.all(
      amounts.map((amount, i) =>
        handlers[i % 4]!.handle(walletId, { type: 'Deposit', depositId: randomUUID(), amount }),
      ),
    );
    const expected = amounts.reduce((sum, a) => sum + BigInt(a.replace('.', '')), 0n);
    const { state } = await balances(store, walletId);
    t.equal(state.balance, expected, 'sum of all deposits');
    t.equal(state.revision, 50n, 'one event per deposit');
    t.equal((await handlers[3]!.load(walletId))?.balance, expected, 'a stale handler reloads');
    t.comment(`${conflicts} conflicts between the handlers, each retried`);
  });

  t.test('a stale cached state costs exactly one conflict, then the command applies', async (t) => {
    let conflicts = 0;
    const stale = createWalletCommandHandler(store, { onConflict: () => conflicts++ });
    const other = createWalletCommandHandler(store);
    const walletId = await newWallet(stale); // cached at revision 0
    await other.handle(walletId, { type: 'Deposit', depositId: randomUUID(), amount: '1.00' });
    const result = await stale.handle(walletId, {
      type: 'Deposit',
      depositId: randomUUID(),
      amount: '2.00',
    });
    t.equal(conflicts, 1);
    t.equal(result.wallet.revision, 2n);
    t.equal(result.wallet.balance, 300n, 'decided again on the reloaded state');
  });

  t.test(
    'a read that finishes after a command appended does not put back older state',
    async (t) => {
      let conflicts = 0;
      let release = () => {};
      let hold = false;
      // A held read answers what the stream held when it was sent (nothing after revision 0),
      // late, as a slow answer from the store would.
      const slowReads: EventStore = {
        ...store,
        readStream: async (stream, options) => {
          if (!hold) return store.readStream(stream, options);
          await new Promise<void>((resolve) => (release = resolve));
          return [];
        },
      };
      const handler = createWalletCommandHandler(slowReads, { onConflict: () => conflicts++ });
      const walletId = await newWallet(handler); // cached at revision 0
      hold = true;
      const reading = handler.load(walletId); // reads revision 0, then waits
      hold = false;
      const deposit = (amount: string) =>
        handler.handle(walletId, { type: 'Deposit', depositId: randomUUID(), amount });
      t.equal((await deposit('1.00')).wallet.revision, 1n, 'appended on the cached state');
      release();
      t.equal((await reading)?.revision, 0n, 'the read answers what it read');
      t.equal((await deposit('2.00')).wallet.revision, 2n);
      t.equal(conflicts, 0, 'the next command was decided on the newer state, not the read one');
    },
  );

  t.test(
    '20 concurrent starts that together exceed the balance: exactly the affordable ones start',
    async (t) => {
      const past = new Date(Date.now() - 60_000);
      const scheduleClock = () => past; // scheduled "a minute ago" so they are due now
      const setup = createWalletCommandHandler(store, {
        clock: () => new Date(past.getTime() - 1000),
      });
      const walletId = await newWallet(setup);
      await setup.handle(walletId, { type: 'Deposit', depositId: randomUUID(), amount: '100.00' });
      const ids = Array.from({ length: 20 }, () => randomUUID());
      for (const withdrawalId of ids) {
        await setup.handle(walletId, {
          type: 'ScheduleWithdrawal',
          withdrawalId,
          amount: '15.00',
          scheduledTime: scheduleClock(),
          target: null,
        });
      }
      const handlers = Array.from({ length: 4 }, () => createWalletCommandHandler(store));
      await Promise.all(
        ids.map((withdrawalId, i) =>
          handlers[i % 4]!.handle(walletId, { type: 'StartWithdrawal', withdrawalId }),
        ),
      );
      const { state, seen } = await balances(store, walletId);
      const statuses = [...state.withdrawals.values()].map((w) => w.status);
      t.equal(statuses.filter((s) => s === 'PROCESSING').length, 6, '6 x 15.00 fit in 100.00');
      t.equal(statuses.filter((s) => s === 'FAILED').length, 14);
      t.equal(state.balance, 1000n, '10.00 left');
      t.ok(
        seen.every((b) => b >= 0n),
        'never negative at any revision',
      );
      const failure = [...state.withdrawals.values()].find((w) => w.status === 'FAILED');
      t.equal(
        failure?.errorMessage,
        'Insufficient funds. Available balance: 10.00. Required amount: 15.00.',
      );
    },
  );

  t.test('a keyed command retried returns the first result and appends nothing', async (t) => {
    const handler = createWalletCommandHandler(store);
    const walletId = await newWallet(handler);
    const idempotency = { key: randomUUID(), requestHash: 'h' };
    const first = await handler.handle(walletId, {
      type: 'Deposit',
      depositId: randomUUID(),
      amount: '5.00',
      idempotency,
    });
    await handler.handle(walletId, { type: 'Deposit', depositId: randomUUID(), amount: '1.00' });
    const other = createWalletCommandHandler(store); // another instance, cold cache
    const again = await other.handle(walletId, {
      type: 'Deposit',
      depositId: randomUUID(),
      amount: '5.00',
      idempotency,
    });
    t.same(again.appended, []);
    t.equal(again.wallet.balance, first.wallet.balance, 'the result as of the first run');
    t.equal(again.wallet.revision, 1n);
    const mismatch = await other
      .handle(walletId, {
        type: 'Deposit',
        depositId: randomUUID(),
        amount: '6.00',
        idempotency: { ...idempotency, requestHash: 'x' },
      })
      .catch((e: unknown) => e);
    t.type(mismatch, IdempotencyKeyReused);
    t.equal((await balances(store, walletId)).state.balance, 600n, 'the retry moved no money');
  });

  t.test(
    'the same keyed command sent concurrently to several instances has its effect once',
    async (t) => {
      const walletId = await newWallet();
      const idempotency = { key: randomUUID(), requestHash: 'h' };
      const handlers = Array.from({ length: 5 }, () => createWalletCommandHandler(store));
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          handlers[i % 5]!.handle(walletId, {
            type: 'Deposit',
            depositId: randomUUID(),
            amount: '3.00',
            idempotency,
          }),
        ),
      );
      t.equal((await balances(store, walletId)).state.balance, 300n);
      t.ok(
        results.every((r) => r.wallet.balance === 300n && r.wallet.revision === 1n),
        'every caller gets the same result',
      );
    },
  );

  t.test('the cache is bounded by what its states hold, not only by wallets', async (t) => {
    const reads: { streamId: string; from: bigint }[] = [];
    const counting: EventStore = {
      ...store,
      readStream: (streamId, options) => {
        reads.push({ streamId, from: options?.fromRevision ?? 0n });
        return store.readStream(streamId, options);
      },
    };
    const handler = createWalletCommandHandler(counting, { cacheItems: 10 });
    const light = await newWallet(handler);
    const heavy = await newWallet(handler);
    // Each keyed deposit leaves its key in the state: 12 of them weigh more than the limit.
    for (let i = 0; i < 12; i++) {
      await handler.handle(heavy, {
        type: 'Deposit',
        depositId: randomUUID(),
        amount: '1.00',
        idempotency: { key: `k${i}`, requestHash: 'h' },
      });
    }
    const fromOf = async (walletId: string) => {
      reads.length = 0;
      await handler.load(walletId);
      return reads.find((r) => r.streamId === walletStreamId(walletId))?.from;
    };
    t.equal(await fromOf(light), 0n, 'the light wallet made room: folded again from the start');
    t.equal(await fromOf(heavy), 0n, 'and, loaded again, pushed the heavy one out in turn');
    const roomy = createWalletCommandHandler(counting);
    const wallet = await newWallet(roomy);
    reads.length = 0;
    await roomy.load(wallet);
    t.equal(
      reads.find((r) => r.streamId === walletStreamId(wallet))?.from,
      1n,
      'within the limits, a load reads only the tail',
    );
  });

  t.test(
    'commands queued on one wallet are decided in order and appended in batches',
    async (t) => {
      let appends = 0;
      const counting = {
        ...store,
        appendToStream: (...args: Parameters<EventStore['appendToStream']>) => {
          appends++;
          return store.appendToStream(...args);
        },
      };
      const handler = createWalletCommandHandler(counting);
      const walletId = await newWallet(handler);
      appends = 0;
      const key = { key: randomUUID(), requestHash: 'h' };
      const commands = Array.from({ length: 60 }, (_, i) =>
        i === 30
          ? handler.handle(walletId, { type: 'Deposit', depositId: randomUUID(), amount: '-1' })
          : handler.handle(walletId, {
              type: 'Deposit',
              depositId: randomUUID(),
              amount: '1.00',
              ...(i % 20 === 5 ? { idempotency: key } : {}),
            }),
      );
      const settled = await Promise.allSettled(commands);
      const refused = settled.filter((r) => r.status === 'rejected');
      t.equal(refused.length, 1, 'only the invalid command is refused');
      t.type((refused[0] as PromiseRejectedResult).reason, DomainError);
      const results = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const applied = results.filter((r) => r.appended.length > 0);
      t.equal(applied.length, 57, '59 valid deposits, 2 of them replays of one keyed deposit');
      const revisions = applied.map((r) => r.wallet.revision);
      t.same(
        revisions,
        [...revisions].sort((a, b) => (a < b ? -1 : 1)),
        'each sees its own place in order',
      );
      t.equal(new Set(revisions).size, 57);
      const replays = results.filter((r) => r.appended.length === 0);
      t.equal(replays.length, 2);
      const [first, ...again] = [5, 25, 45].map(
        (i) => (settled[i] as PromiseFulfilledResult<CommandResult>).value,
      );
      t.equal(first?.appended.length, 1, 'the first keyed deposit applies');
      t.ok(
        again.every((r) => r.appended.length === 0 && r.wallet.revision === first?.wallet.revision),
        'its replays answer with the first run',
      );
      t.ok(appends < 60, `${appends} appends for 60 commands`);
      t.equal((await balances(store, walletId)).state.balance, 5700n);
    },
  );

  t.test(
    'a refusal is never decided on a stale cache: another instance may have changed things',
    async (t) => {
      const a = createWalletCommandHandler(store);
      const b = createWalletCommandHandler(store);
      const walletId = randomUUID();
      t.equal(await b.load(walletId), null, 'b caches "no such wallet"');
      await a.handle(walletId, { type: 'CreateWallet', walletId, currency: 'USD', owner: null });
      const deposit = await b.handle(walletId, {
        type: 'Deposit',
        depositId: randomUUID(),
        amount: '1.00',
      });
      t.equal(deposit.wallet.balance, 100n, 'b finds the wallet a created');

      const withdrawalId = randomUUID();
      await a.handle(walletId, {
        type: 'ScheduleWithdrawal',
        withdrawalId,
        amount: '1.00',
        scheduledTime: new Date(Date.now() + 60_000),
        target: null,
      });
      const cancelled = await b.handle(walletId, { type: 'CancelWithdrawal', withdrawalId });
      t.equal(
        cancelled.wallet.withdrawals.get(withdrawalId)?.status,
        'CANCELLED',
        'b cancels what a scheduled',
      );

      // A keyed withdrawal retried through b after its time passed: the replay, not "in the past".
      let now = new Date();
      const late = createWalletCommandHandler(store, { clock: () => now });
      await late.load(walletId); // cached before the keyed command exists
      const idempotency = { key: randomUUID(), requestHash: 'h' };
      // The same request twice; each arrival gets a withdrawal id of its own, as in the API.
      const keyedRequest = (): WalletCommand => ({
        type: 'ScheduleWithdrawal',
        withdrawalId: randomUUID(),
        amount: '1.00',
        scheduledTime: new Date(Date.now() + 1000),
        target: null,
        idempotency,
      });
      const first = await a.handle(walletId, keyedRequest());
      now = new Date(Date.now() + 5000);
      const retried = await late.handle(walletId, keyedRequest());
      t.same(retried.appended, []);
      t.equal(retried.wallet.revision, first.wallet.revision, 'answered with the first result');
    },
  );

  t.test('loadAsOf folds to a revision or a moment; unknown wallets are null', async (t) => {
    let now = new Date('2030-01-01T00:00:00.000Z');
    const handler = createWalletCommandHandler(store, { clock: () => now });
    const walletId = await newWallet(handler);
    now = new Date('2030-01-02T00:00:00.000Z');
    await handler.handle(walletId, { type: 'Deposit', depositId: randomUUID(), amount: '1.00' });
    now = new Date('2030-01-03T00:00:00.000Z');
    await handler.handle(walletId, { type: 'Deposit', depositId: randomUUID(), amount: '2.00' });
    t.equal((await handler.loadAsOf(walletId, { revision: 1n }))?.balance, 100n);
    t.equal(
      (await handler.loadAsOf(walletId, { time: new Date('2030-01-02T12:00:00Z') }))?.balance,
      100n,
    );
    t.equal(await handler.loadAsOf(walletId, { time: new Date('2029-12-31T00:00:00Z') }), null);
    t.equal(
      (await handler.loadAsOf(walletId, { time: new Date('2031-01-01T00:00:00Z') }))?.balance,
      300n,
    );
    t.equal(await handler.load(randomUUID()), null);
  });

  t.test('creating a wallet twice from two instances: one wins, the other is told', async (t) => {
    const walletId = randomUUID();
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, () =>
        createWalletCommandHandler(store).handle(walletId, {
          type: 'CreateWallet',
          walletId,
          currency: 'EUR',
          owner: null,
        }),
      ),
    );
    t.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    t.ok(results.every((r) => r.status === 'fulfilled' || r.reason instanceof WalletAlreadyExists));
  });
});

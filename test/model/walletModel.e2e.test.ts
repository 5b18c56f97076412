// Model-based test: concurrent clients send random command sequences over HTTP while a driver plays
// the scheduler's part on the streams (start, attempt failures, outcomes, credits). Afterwards the
// read models must equal the fold of the streams (`verify` as a real subprocess), a `rebuild` must
// give identical rows, money must be conserved, and a corrupted row must make `verify` fail.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { LIVE_SCHEMA } from '../../projections/readModelSchema.ts';
import { readAllRows } from '../../projections/verify.ts';
import {
  createWalletCommandHandler,
  toWalletEvent,
} from '../../src/commands/walletCommandHandler.ts';
import { DomainError } from '../../src/domain/errors.ts';
import { WALLET_STREAM_PREFIX } from '../../src/domain/events.ts';
import { toMinorUnits } from '../../src/domain/money.ts';
import type { PayoutAnswer } from '../../src/domain/withdrawal.ts';
import { START } from '../../src/eventstore/eventStore.ts';
import { runCli } from '../support/cli.ts';
import { waitUntilProjected } from '../support/projection.ts';
import { startStack } from '../support/stack.ts';

/** A small deterministic generator, so a failure can be replayed with its seed. */
function random(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T,
  };
}

t.test(
  'random concurrent command sequences keep read models, replays and money consistent',
  async (t) => {
    const seed = Number(process.env.MODEL_SEED ?? Date.now() % 100_000);
    t.comment(`seed ${seed} (MODEL_SEED=${seed} repeats this run)`);
    const { http, db, store } = await startStack(t);
    const scheduler = createWalletCommandHandler(store); // the driver's own "scheduler instance"
    const wallets: string[] = [];
    const withdrawals: { walletId: string; id: string; target: string | null }[] = [];
    let statusCounts: Record<number, number> = {};

    for (let i = 0; i < 6; i++) wallets.push((await http('POST', '/api/wallets/', {})).body.uuid);

    const client = async (n: number) => {
      const rng = random(seed * 31 + n);
      for (let step = 0; step < 60; step++) {
        const walletId = rng.pick(wallets);
        const roll = rng.next();
        let response: { status: number; body: any } | undefined;
        if (roll < 0.05) {
          response = await http(
            'POST',
            '/api/wallets/',
            {},
            rng.next() < 0.5 ? { 'idempotency-key': `c-${seed}-${n}-${step % 3}` } : {},
          );
          if (response.status === 201 && !wallets.includes(response.body.uuid))
            wallets.push(response.body.uuid);
        } else if (roll < 0.45) {
          const key: Record<string, string> =
            rng.next() < 0.3 ? { 'idempotency-key': `d-${seed}-${n}-${rng.int(5)}` } : {};
          response = await http(
            'PATCH',
            `/api/wallets/${walletId}/deposit/`,
            { amount: `${1 + rng.int(50)}.${rng.int(100)}` },
            key,
          );
        } else if (roll < 0.8) {
          const target = rng.next() < 0.4 ? rng.pick(wallets) : null;
          response = await http('POST', `/api/wallets/${walletId}/withdraw/`, {
            amount: `${1 + rng.int(40)}.00`,
            delay: 0.05,
            ...(target ? { target } : {}),
          });
          if (response.status === 201) {
            const made = response.body.outgoing_transactions.at(-1);
            withdrawals.push({ walletId, id: made.uuid, target: made.target ?? null });
          }
        } else if (roll < 0.85 && withdrawals.length > 0) {
          const w = rng.pick(withdrawals);
          response = await http('POST', `/api/wallets/${w.walletId}/withdrawals/${w.id}/cancel/`);
        } else if (withdrawals.length > 0) {
          // The scheduler's part, straight on the streams.
          const w = rng.pick(withdrawals);
          await sleep(60);
          try {
            await scheduler.handle(w.walletId, { type: 'StartWithdrawal', withdrawalId: w.id });
            const policy = { maxAttempts: 3, retryBaseMs: 10, recheckMs: 1000 };
            const answerFor = async (answer: PayoutAnswer) => {
              const before = (await scheduler.load(w.walletId))?.withdrawals.get(w.id);
              const { wallet } = await scheduler.handle(w.walletId, {
                type: 'RequestPayout',
                withdrawalId: w.id,
                attempt: (before?.attempts ?? 0) + 1,
              });
              const attempt = wallet.withdrawals.get(w.id)?.requestedAttempt ?? 1;
              return scheduler.handle(w.walletId, {
                type: 'RecordPayoutAnswer',
                withdrawalId: w.id,
                attempt,
                answer,
                policy,
                jitter: 1,
              });
            };
            const outcome = rng.next();
            if (outcome < 0.2) await answerFor({ kind: 'failed', reason: 'HTTP 503' });
            if (outcome < 0.5) {
              const { wallet } = await answerFor({ kind: 'paid' });
              const done = wallet.withdrawals.get(w.id);
              if (done?.status === 'SUCCESS' && w.target) {
                await scheduler.handle(w.target, {
                  type: 'ReceiveTransfer',
                  withdrawalId: w.id,
                  fromWalletId: w.walletId,
                  amount: done.amount,
                  scheduledTime: done.scheduledTime,
                });
              }
            } else if (outcome < 0.7) {
              await answerFor({ kind: 'refused', reason: 'refused' });
            }
          } catch (error) {
            if (!(error instanceof DomainError)) throw error; // e.g. a cancelled one
          }
        }
        if (response) statusCounts[response.status] = (statusCounts[response.status] ?? 0) + 1;
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, n) => client(n)));
    t.comment(`HTTP statuses: ${JSON.stringify(statusCounts)}`);
    t.notOk(
      Object.keys(statusCounts).some((s) => Number(s) >= 500),
      'no 5xx',
    );
    statusCounts = {};

    await waitUntilProjected(db.pool, store);
    const env = { DATABASE_URL: db.url };

    const verified = await runCli(['verify'], env);
    t.equal(verified.code, 0, `verify passes:\n${verified.stdout}${verified.stderr}`);
    t.match(verified.stdout, /no drift/);

    // Money is conserved: balances + paid out to owners = deposits.
    let deposits = 0n;
    let paidOut = 0n;
    const external = new Map<string, bigint>();
    for (const recorded of await store.readAll(START, 1_000_000)) {
      if (!recorded.streamId.startsWith(WALLET_STREAM_PREFIX)) continue;
      const event = toWalletEvent(recorded);
      if (event.type === 'Deposited') deposits += toMinorUnits(event.data.amount, 'USD');
      if (event.type === 'WithdrawalScheduled' && !event.data.target) {
        external.set(event.data.withdrawalId, toMinorUnits(event.data.amount, 'USD'));
      }
      if (event.type === 'WithdrawalSucceeded')
        paidOut += external.get(event.data.withdrawalId) ?? 0n;
    }
    const { rows } = await db.pool.query(
      `select coalesce(sum(balance), 0)::text as total, min(balance)::text as lowest from ${LIVE_SCHEMA}.wallets`,
    );
    const inTransit = await db.pool.query(
      `select coalesce(sum(amount), 0)::text as total from ${LIVE_SCHEMA}.transactions
     where kind = 'withdrawal' and (status = 'PROCESSING' or (status = 'SUCCESS' and counterparty is not null
       and not exists (select 1 from ${LIVE_SCHEMA}.transactions r where r.kind = 'transfer_in' and r.transaction_id = transactions.transaction_id)))`,
    );
    t.equal(
      BigInt(rows[0].total) + paidOut + BigInt(inTransit.rows[0].total),
      deposits,
      'balances + paid out + in flight = deposits',
    );
    t.ok(BigInt(rows[0].lowest) >= 0n, 'no negative balance');

    const before = await readAllRows(db.pool, LIVE_SCHEMA);
    const rebuilt = await runCli(['rebuild'], env);
    t.equal(rebuilt.code, 0, rebuilt.stderr);
    t.match(rebuilt.stderr, /rebuild: .*events/, 'progress lines when not a terminal');
    t.match(rebuilt.stderr, /rebuilt the read models from \d+ events/);
    const after = await readAllRows(db.pool, LIVE_SCHEMA);
    t.same(after.rows, before.rows, 'rebuild gives identical read models');
    t.ok(
      before.rows.transactions.size > 100,
      `${before.rows.transactions.size} transactions compared`,
    );

    const victim = wallets[0] as string;
    await db.pool.query(
      `update ${LIVE_SCHEMA}.wallets set balance = balance + 1 where wallet_id = $1`,
      [victim],
    );
    const drift = await runCli(['verify'], env);
    t.equal(drift.code, 1, 'verify exits non-zero on drift');
    t.match(drift.stdout, new RegExp(`wallet ${victim}: read model`));
    t.match(drift.stdout, /1 differences/);

    const history = await runCli(['history', victim], env);
    t.equal(history.code, 0);
    t.match(history.stdout, /#0 .* WalletCreated/);
    const unknown = await runCli(['history', randomUUID()], env);
    t.equal(unknown.code, 1);
    const malformed = await runCli(['history', 'nope'], env);
    t.equal(malformed.code, 2);
    t.match(malformed.stderr, /needs a wallet uuid/);
  },
);

// Read your writes, as the original service did: every read of a wallet sent after a command was
// acknowledged (by this API instance or another one) or after the scheduler appended an outcome
// reflects it, with no special header and no waiting by the client. Writes go to one API
// instance, reads to another (each with its own cache), many at once. Run per event store adapter.
import type { Test } from 'tap';
import { startApi } from '../../src/cli/runtime.ts';
import { createWalletCommandHandler } from '../../src/commands/walletCommandHandler.ts';
import { httpClient, type StackTarget } from '../support/stack.ts';

export function readYourWritesSuite(t: Test, target: StackTarget): void {
  t.test(`read your writes across API instances (${target.name})`, async (t) => {
    const stack = await target.startStack(t);
    const other = await startApi(stack.runtime, 0);
    t.teardown(() => other.stop());
    const writer = stack.http;
    const reader = httpClient((other.url as string).replace('localhost', '127.0.0.1'), {
      authorization: `Bearer ${stack.operatorKey}`,
    });
    const revisionOf = (response: { headers: Record<string, unknown> }) =>
      BigInt(String(response.headers.etag).replaceAll('"', ''));

    t.test('20 clients, 15 rounds each: every read shows the write before it', async (t) => {
      const stale: string[] = [];
      const client = async (n: number) => {
        const id = (await writer('POST', '/api/wallets/', {})).body.uuid as string;
        const created = await reader('GET', `/api/wallets/${id}/`);
        if (created.status !== 200)
          stale.push(`client ${n}: created wallet answered ${created.status}`);
        for (let round = 1; round <= 15; round++) {
          const deposit = await writer('PATCH', `/api/wallets/${id}/deposit/`, { amount: '1.00' });
          const acknowledged = revisionOf(deposit);
          const [wallet, list, history, asOf] = await Promise.all([
            reader('GET', `/api/wallets/${id}/`),
            reader('GET', `/api/wallets/${id}/transactions/?kind=deposit&limit=100`),
            reader('GET', `/api/wallets/${id}/history/`),
            reader(
              'GET',
              `/api/wallets/${id}/?at=${encodeURIComponent(new Date(Date.now() + 1000).toISOString())}`,
            ),
          ]);
          const where = `client ${n}, round ${round}`;
          if (wallet.body.balance !== `${round}.00` || revisionOf(wallet) < acknowledged)
            stale.push(`${where}: wallet ${wallet.body.balance} at ${wallet.headers.etag}`);
          if (list.body.results?.length !== round)
            stale.push(`${where}: ${list.status} with ${list.body.results?.length} deposits`);
          if (history.body.events?.length !== round + 1)
            stale.push(`${where}: history of ${history.body.events?.length} events`);
          if (asOf.body.balance !== `${round}.00`)
            stale.push(`${where}: ?at= ${asOf.body.balance}`);
        }
      };
      await Promise.all(Array.from({ length: 20 }, (_, n) => client(n)));
      t.same(stale, [], '0 stale reads out of 20 x 15 x 4');
    });

    t.test('a withdrawal is cancellable right after its 201, by the id read back', async (t) => {
      for (let i = 0; i < 10; i++) {
        const id = (await writer('POST', '/api/wallets/', {})).body.uuid as string;
        await writer('PATCH', `/api/wallets/${id}/deposit/`, { amount: '10.00' });
        const scheduled = await writer('POST', `/api/wallets/${id}/withdraw/`, {
          amount: '5.00',
          delay: 3600,
        });
        t.equal(scheduled.status, 201);
        const read = await reader('GET', `/api/wallets/${id}/`);
        const withdrawal = read.body.outgoing_transactions.at(-1);
        t.equal(withdrawal?.status, 'PENDING', 'the new withdrawal is in the next GET');
        const cancelled = await reader(
          'POST',
          `/api/wallets/${id}/withdrawals/${withdrawal.uuid}/cancel/`,
        );
        t.equal(cancelled.status, 200);
        t.equal(cancelled.body.outgoing_transactions.at(-1).status, 'CANCELLED');
        const listed = await writer('GET', `/api/wallets/${id}/transactions/?kind=withdrawal`);
        t.equal(listed.body.results[0]?.status, 'CANCELLED', 'the list shows it at once');
      }
    });

    t.test('an outcome the scheduler appended is in the next read', async (t) => {
      // The scheduler's own instance, an hour ahead: the withdrawal is due for it.
      const scheduler = createWalletCommandHandler(stack.store, {
        clock: () => new Date(Date.now() + 3_600_000),
      });
      const id = (await writer('POST', '/api/wallets/', {})).body.uuid as string;
      await writer('PATCH', `/api/wallets/${id}/deposit/`, { amount: '10.00' });
      const scheduled = await writer('POST', `/api/wallets/${id}/withdraw/`, {
        amount: '4.00',
        delay: 60,
      });
      const withdrawalId = scheduled.body.outgoing_transactions.at(-1).uuid as string;
      await scheduler.handle(id, { type: 'StartWithdrawal', withdrawalId });
      const read = await reader('GET', `/api/wallets/${id}/`);
      t.equal(read.body.balance, '6.00');
      t.equal(read.body.outgoing_transactions.at(-1).status, 'PROCESSING');
      const listed = await reader('GET', `/api/wallets/${id}/transactions/?status=PROCESSING`);
      t.equal(listed.body.results.length, 1);
    });
  });
}

// The scheduler against a server that behaves exactly like the original Flask stub: POST / always
// answers HTTP 200, with {"data": "success", "status": 200} or {"data": "failed", "status": 503};
// there is no idempotency and no status lookup (GET /transfers/<id> is an HTML 404, as Flask's).
// The verdict must be read from the body, and failures must end in a refund.
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { readVerdict } from '../../scheduler/payoutClient.ts';
import { createWalletCommandHandler } from '../../src/commands/walletCommandHandler.ts';
import { runCli } from '../support/cli.ts';
import { pollUntil } from '../support/poll.ts';
import { schedulerFor } from '../support/scheduler.ts';
import { startStack } from '../support/stack.ts';

t.test('reading verdicts', async (t) => {
  t.same(readVerdict(200, { data: 'success', status: 200 }), { kind: 'paid' });
  t.equal(
    readVerdict(200, { data: 'failed', status: 503 }).kind,
    'failed',
    'HTTP 200 is not enough',
  );
  t.equal(readVerdict(422, { data: 'refused', status: 422 }).kind, 'refused');
  t.equal(readVerdict(200, { data: 'refused', status: 422 }).kind, 'refused');
  t.equal(
    readVerdict(500, { data: 'error', status: 500 }).kind,
    'failed',
    "the bank's own verdict",
  );
  t.equal(readVerdict(502, undefined).kind, 'unknown', 'a bare gateway error says nothing');
  t.equal(readVerdict(503, { data: 'unavailable' }).kind, 'unknown');
  t.equal(readVerdict(429, undefined).kind, 'failed', 'asked to retry: not a refusal');
  t.equal(readVerdict(502, { data: 'success', status: 200 }).kind, 'unknown', 'contradictory');
  t.equal(readVerdict(200, undefined).kind, 'unknown', 'an unreadable 200 is not taken as paid');
  t.equal(readVerdict(200, { data: 'success' }).kind, 'paid');
});

/**
 * A server that behaves like the original Flask stub, with scripted verdicts per request in
 * arrival order (the stub itself cannot tell requests apart). `gateway`: the stub pays, then a
 * proxy in front answers 502 with an HTML page.
 */
async function startOriginalStub(t: Test) {
  const verdicts: (boolean | 'gateway')[] = [];
  const counts = { requests: 0 };
  const stub = http.createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      if (request.method === 'POST' && request.url === '/') {
        counts.requests++;
        const ok = verdicts.shift() ?? true;
        if (ok === 'gateway') {
          response.writeHead(502, { 'content-type': 'text/html' });
          response.end('<html><body><h1>502 Bad Gateway</h1></body></html>');
          return;
        }
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(
          JSON.stringify(ok ? { data: 'success', status: 200 } : { data: 'failed', status: 503 }),
        );
        return;
      }
      response.writeHead(404, { 'content-type': 'text/html' });
      response.end('<!doctype html><title>404 Not Found</title><h1>Not Found</h1>');
    });
  });
  await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => stub.close(() => resolve())));
  const url = `http://127.0.0.1:${(stub.address() as { port: number }).port}`;
  return { url, verdicts, counts };
}

t.test('withdrawals against the original stub', async (t) => {
  const { url, verdicts, counts } = await startOriginalStub(t);
  const stack = await startStack(t);
  // One at a time, so the scripted verdicts meet the withdrawals in order.
  await schedulerFor(t, stack, url, { timeoutMs: 2000, concurrency: 1 });
  const commands = createWalletCommandHandler(stack.store);
  const { http: api } = stack;
  const walletId = (await api('POST', '/api/wallets/', {})).body.uuid;
  await api('PATCH', `/api/wallets/${walletId}/deposit/`, { amount: '100.00' });

  const run = async (amount: string, script: (boolean | 'gateway')[], settles = true) => {
    verdicts.push(...script);
    const response = await api('POST', `/api/wallets/${walletId}/withdraw/`, {
      amount,
      delay: 0.2,
    });
    const id = response.body.outgoing_transactions.at(-1).uuid as string;
    return pollUntil(
      `withdrawal ${id} to ${settles ? 'end' : 'have an unknown outcome'}`,
      async () => (await commands.load(walletId))?.withdrawals.get(id),
      {
        until: (w) => ['SUCCESS', 'FAILED'].includes(w.status) || (!settles && w.outcomeUnknown),
        timeoutMs: 10_000,
        intervalMs: 50,
      },
    );
  };

  const before = counts.requests;
  const paid = await run('10.00', [true]);
  t.equal(paid.status, 'SUCCESS');
  t.equal(counts.requests - before, 1);

  const retried = await run('10.00', [false, true]);
  t.equal(retried.status, 'SUCCESS', 'a body 503 is retried, then paid');
  t.equal(retried.attempts, 2);

  const failed = await run('10.00', [false, false, false]);
  t.equal(failed.status, 'FAILED', 'three body 503s: failed');
  t.match(failed.errorMessage, /HTTP 200, failed \(503\)\. Gave up after 3 attempts\./);
  const wallet = await commands.load(walletId);
  t.equal(wallet?.balance, 8000n, 'the failed one was refunded: 100 - 10 - 10');

  // Paid, but the answer is a gateway's 502 and there is no lookup: the outcome stays unknown.
  const sent = counts.requests;
  const unknown = await run('10.00', ['gateway'], false);
  t.equal(unknown.status, 'PROCESSING', 'neither success nor a refund');
  t.equal(unknown.outcomeUnknown, true);
  await sleep(1500); // several scheduler ticks later
  t.equal(counts.requests - sent, 1, 'the request is never sent again');
  const after = await commands.load(walletId);
  t.equal(after?.withdrawals.get(unknown.id)?.status, 'PROCESSING');
  t.equal(after?.balance, 7000n, 'the money stays out of the wallet: it may have been paid');
});

t.test(
  'a crash after a request went on record: a stub without keys is never asked again',
  async (t) => {
    const { url, counts } = await startOriginalStub(t);
    const stack = await startStack(t);
    const commands = createWalletCommandHandler(stack.store);
    const { http: api } = stack;
    const walletId = (await api('POST', '/api/wallets/', {})).body.uuid;
    await api('PATCH', `/api/wallets/${walletId}/deposit/`, { amount: '100.00' });
    const response = await api('POST', `/api/wallets/${walletId}/withdraw/`, {
      amount: '40.00',
      delay: 0.05,
    });
    const id = response.body.outgoing_transactions.at(-1).uuid as string;
    await sleep(100);
    // What a scheduler leaves behind when it dies right after putting the request on record (it
    // may or may not have reached the third party): started, requested, no outcome.
    await commands.handle(walletId, { type: 'StartWithdrawal', withdrawalId: id });
    await commands.handle(walletId, { type: 'RequestPayout', withdrawalId: id, attempt: 1 });

    await schedulerFor(t, stack, url, { timeoutMs: 2000 });
    await sleep(1500); // the restarted scheduler has looked at it
    t.equal(counts.requests, 0, 'not sent again: the stub has no key to tell a repeat');
    const wallet = await commands.load(walletId);
    t.equal(wallet?.withdrawals.get(id)?.status, 'PROCESSING', 'neither success nor a refund');
    t.equal(wallet?.withdrawals.get(id)?.outcomeUnknown, true);
    t.equal(wallet?.balance, 6000n, 'the money stays out of the wallet: it may have been paid');

    // The operator settles it from the bank's records, with the CLI.
    const env = { DATABASE_URL: stack.db.url };
    const settled = await runCli(['settle', walletId, id, 'not-paid'], env);
    t.equal(settled.code, 0, settled.stderr);
    t.match(settled.stdout, /FAILED; balance 100\.00 USD/);
    const again = await runCli(['settle', walletId, id, 'paid'], env);
    t.equal(again.code, 1);
    t.match(again.stderr, /is FAILED: only a PROCESSING one can be settled/);
    t.equal((await runCli(['settle', walletId, id], env)).code, 2, 'a verdict is required');
  },
);

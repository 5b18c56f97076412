// The transaction service over real HTTP on 127.0.0.1: the original stub's protocol, idempotency,
// the status lookup and every fault mode, driven through the admin endpoint at run time; with its
// books in PostgreSQL (as `npm start` runs it) and in memory (run without a database).
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import t, { type Test } from 'tap';
import { request } from 'undici';
import {
  buildTransactionService,
  type TransactionServiceOptions,
} from '../../transaction-service/app.ts';
import { type Bank, createMemoryBank } from '../../transaction-service/bank.ts';
import { openPostgresBank } from '../../transaction-service/postgresBank/index.ts';
import { createTestDatabase } from '../support/database.ts';

const SUCCESS = '{"data":"success","status":200}';
const FAILED = '{"data":"failed","status":503}';
const REFUSED = '{"data":"refused","status":422}';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
  ms: number;
}

interface CallOptions {
  key?: string;
  body?: string;
  headers?: Record<string, string>;
  headersTimeout?: number;
  signal?: AbortSignal;
}

async function startService(t: Test, options: TransactionServiceOptions = {}) {
  const app = buildTransactionService({ latencyMs: 20, failureRate: 0, ...options });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());

  const call = async (method: string, path: string, options: CallOptions = {}): Promise<Answer> => {
    const started = performance.now();
    const res = await request(`${base}${path}`, {
      method: method as 'POST',
      headers: { ...(options.key ? { 'idempotency-key': options.key } : {}), ...options.headers },
      body: options.body,
      headersTimeout: options.headersTimeout,
      signal: options.signal,
    });
    const text = await res.body.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {}
    return {
      status: res.statusCode,
      headers: res.headers,
      text,
      json,
      ms: performance.now() - started,
    };
  };
  const pay = (options: CallOptions = {}) => call('POST', '/', options);
  const setFaults = (settings: unknown) =>
    call('PUT', '/faults', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(settings),
    });
  const lookup = (key: string) => call('GET', `/transfers/${encodeURIComponent(key)}`);
  const payouts = async (key?: string | null) => {
    const { json } = await call('GET', '/transfers');
    return (json.transfers as any[]).filter(
      (transfer) => key === undefined || transfer.key === key,
    );
  };
  return { app, base, call, pay, setFaults, lookup, payouts };
}

type Service = Awaited<ReturnType<typeof startService>>;

/** The error a request ends with, or a failure if it got an answer. */
async function catchError(
  t: Test,
  promise: Promise<unknown>,
): Promise<{ code?: string; name?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { code?: string };
  }
  t.fail('expected the request to fail');
  return {};
}

const BOOKS: [string, (t: Test) => Promise<Bank>][] = [
  ['PostgreSQL', async (t) => openPostgresBank((await createTestDatabase(t, 1)).url)],
  ['memory', async () => createMemoryBank()],
];

for (const [keptIn, openBank] of BOOKS) {
  t.test(`transaction service, books in ${keptIn}`, async (t) => {
    const service: Service = await startService(t, { bank: await openBank(t) });
    const { pay, call, setFaults, lookup, payouts } = service;
    t.afterEach(async () => {
      await call('DELETE', '/faults');
    });

    t.test(
      'the original protocol: POST / without a key answers the original success body',
      async (t) => {
        const before = (await payouts(null)).length;
        const answer = await pay();
        t.equal(answer.status, 200);
        t.equal(answer.text, SUCCESS, 'byte for byte');
        t.match(answer.headers['content-type'], /^application\/json/);
        t.ok(answer.ms >= 15, `latency applied (${answer.ms.toFixed(0)} ms)`);
        await pay({ body: 'not json at all' });
        t.equal(
          (await payouts(null)).length,
          before + 2,
          'every keyless request is its own payout',
        );
      },
    );

    t.test('GET /health', async (t) => {
      const answer = await call('GET', '/health');
      t.equal(answer.status, 200);
      t.same(answer.json, { status: 'ok' });
    });

    t.test('any body under any content type is accepted and recorded as text', async (t) => {
      const cases: [string, CallOptions, Record<string, string>][] = [
        [
          'JSON, string amount',
          {
            headers: { 'content-type': 'application/json' },
            body: '{"amount": "50.00", "currency": "USD", "target": "w-1"}',
          },
          { amount: '50.00', currency: 'USD', target: 'w-1' },
        ],
        [
          'JSON, numeric amount kept as its literal',
          {
            headers: { 'content-type': 'application/json' },
            body: '{"amount": 50.10, "wallet": "w-2"}',
          },
          { amount: '50.10', wallet: 'w-2' },
        ],
        [
          'form-encoded, as the original client sent it',
          {
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: 'amount=0.10&currency=KWD',
          },
          { amount: '0.10', currency: 'KWD' },
        ],
        ['JSON content type, empty body', { headers: { 'content-type': 'application/json' } }, {}],
        [
          'JSON content type, broken JSON',
          { headers: { 'content-type': 'application/json' }, body: '{"amount": ' },
          {},
        ],
        ['malformed content type', { headers: { 'content-type': ';;;' }, body: 'x' }, {}],
        ['no content type, a body', { body: 'amount=1.00' }, { amount: '1.00' }],
        ['binary', { headers: { 'content-type': 'image/png' }, body: '\u0000\u0001' }, {}],
      ];
      for (const [name, options, recorded] of cases) {
        const key = randomUUID();
        const answer = await pay({ key, ...options });
        t.equal(answer.text, SUCCESS, name);
        const { json } = await lookup(key);
        t.same(
          {
            amount: json.amount,
            currency: json.currency,
            target: json.target,
            wallet: json.wallet,
          },
          recorded,
          `${name}: recorded`,
        );
      }
    });

    t.test('latency: global at run time, per rule and per request', async (t) => {
      await setFaults({ latencyMs: 500 });
      t.ok((await pay()).ms >= 490, 'global latency from PUT /faults');
      t.ok((await pay({ headers: { 'x-latency-ms': '0' } })).ms < 400, 'X-Latency-Ms overrides it');
      await setFaults({ rules: [{ mode: 'normal', keyPrefix: 'slow-', latencyMs: 500 }] });
      t.ok(
        (await pay({ key: `slow-${randomUUID()}` })).ms >= 490,
        'a rule makes matching requests slow',
      );
      t.ok((await pay({ key: randomUUID() })).ms < 400, 'others keep the start-up latency');
    });

    t.test('failure rate 1.0: the original transient failure body, nothing paid', async (t) => {
      await setFaults({ failureRate: 1 });
      const key = randomUUID();
      const answer = await pay({ key });
      t.equal(answer.status, 200);
      t.equal(answer.text, FAILED);
      t.same((await lookup(key)).json, { key, found: false });
      t.equal((await pay()).text, FAILED, 'without a key too');

      await call('DELETE', '/faults');
      t.equal(
        (await pay({ key })).text,
        SUCCESS,
        'the same key after a failure is a fresh attempt',
      );
      const [transfer] = await payouts(key);
      t.equal(transfer.attempts, 2);
      t.equal((await payouts(key)).length, 1);
    });

    t.test('idempotency: the same key twice pays once', async (t) => {
      const key = randomUUID();
      const first = await pay({ key, body: '{"amount":"10.00"}' });
      const second = await pay({ key, body: '{"amount":"10.00"}' });
      t.equal(first.text, SUCCESS);
      t.notOk(first.headers['idempotent-replayed']);
      t.equal(second.text, SUCCESS);
      t.equal(second.headers['idempotent-replayed'], 'true');
      const listed = await payouts(key);
      t.equal(listed.length, 1, 'GET /transfers shows it once');
      t.match(listed[0], { key, status: 'paid', amount: '10.00', attempts: 2 });
    });

    t.test('20 concurrent requests with one key: exactly one payout', async (t) => {
      const key = randomUUID();
      const answers = await Promise.all(Array.from({ length: 20 }, () => pay({ key })));
      t.ok(
        answers.every((answer) => answer.text === SUCCESS),
        'all answered success',
      );
      t.equal(answers.filter((answer) => answer.headers['idempotent-replayed']).length, 19);
      t.equal((await payouts(key)).length, 1);
      t.equal((await lookup(key)).json.attempts, 20);
    });

    t.test(
      '20 concurrent requests with one key, the first 5 failing: still one payout',
      async (t) => {
        const key = randomUUID();
        await setFaults({ rules: [{ mode: 'failed', key, times: 5 }] });
        const answers = await Promise.all(Array.from({ length: 20 }, () => pay({ key })));
        t.equal(answers.filter((answer) => answer.text === FAILED).length, 5);
        t.equal(answers.filter((answer) => answer.text === SUCCESS).length, 15);
        t.equal((await payouts(key)).length, 1);
      },
    );

    t.test(
      'lookup: 404 before, 200 after payment, and it waits for an attempt in flight',
      async (t) => {
        const key = randomUUID();
        const missing = await lookup(key);
        t.equal(missing.status, 404);
        t.same(missing.json, { key, found: false });

        const inFlight = pay({
          key,
          headers: { 'x-latency-ms': '600', 'content-type': 'application/json' },
          body: '{"amount":"7.50","currency":"EUR","target":"t-1"}',
        });
        let answered = false;
        void inFlight.then(() => {
          answered = true;
        });
        await new Promise((resolve) => setTimeout(resolve, 100));
        t.notOk(answered, 'the lookup is sent while the payout is still in progress');
        const found = await lookup(key);
        t.equal(found.status, 200, 'it waited for the attempt instead of saying "not found"');
        t.match(found.json, {
          found: true,
          key,
          status: 'paid',
          amount: '7.50',
          currency: 'EUR',
          target: 't-1',
          paidAt: /^\d{4}-\d\d-\d\dT/,
          attempts: 1,
        });
        t.equal((await inFlight).text, SUCCESS);
      },
    );

    t.test('fault http500 for the next 2 requests of matching keys, then normal', async (t) => {
      const prefix = `p-${randomUUID()}-`;
      await setFaults({ rules: [{ mode: 'http500', keyPrefix: prefix, times: 2 }] });
      t.equal((await pay({ key: randomUUID() })).text, SUCCESS, 'another key is not affected');
      const first = await pay({ key: `${prefix}1` });
      t.equal(first.status, 500);
      t.same(first.json, { data: 'error', status: 500 });
      t.match((await call('GET', '/faults')).json.rules, [{ mode: 'http500', times: 1 }]);
      t.equal((await pay({ key: `${prefix}1` })).status, 500);
      t.same((await call('GET', '/faults')).json.rules, [], 'the rule is used up');
      t.equal((await lookup(`${prefix}1`)).status, 404, 'a 500 pays nothing');
      t.equal((await pay({ key: `${prefix}1` })).text, SUCCESS);
      t.equal((await lookup(`${prefix}1`)).json.attempts, 3);
    });

    t.test('fault http503 on every request until reset', async (t) => {
      await setFaults({ rules: [{ mode: 'http503' }] });
      const key = randomUUID();
      for (let i = 0; i < 3; i++) {
        const answer = await pay({ key });
        t.equal(answer.status, 503);
        t.same(answer.json, { data: 'unavailable', status: 503 });
      }
      t.equal((await pay()).status, 503, 'keyless requests too');
      t.equal((await payouts(key)).length, 0);
      await call('DELETE', '/faults');
      t.equal((await pay({ key })).text, SUCCESS);
    });

    t.test('fault "failed" for one key: the body 503, not paid, others unaffected', async (t) => {
      const key = randomUUID();
      await setFaults({ rules: [{ mode: 'failed', key }] });
      const answer = await pay({ key });
      t.equal(answer.status, 200);
      t.equal(answer.text, FAILED);
      t.equal((await pay({ key: randomUUID() })).text, SUCCESS);
      t.equal((await lookup(key)).status, 404);
    });

    t.test('refusal: HTTP 422, never paid, sticky per key', async (t) => {
      const key = randomUUID();
      await setFaults({ rules: [{ mode: 'refuse', key, times: 1 }] });
      const refused = await pay({ key, body: '{"amount":"5.00"}' });
      t.equal(refused.status, 422);
      t.equal(refused.text, REFUSED);
      await call('DELETE', '/faults');
      const again = await pay({ key });
      t.equal(again.status, 422, 'the same key is refused again without any rule');
      t.equal(again.text, REFUSED);
      t.equal(again.headers['idempotent-replayed'], 'true');
      const found = await lookup(key);
      t.equal(found.status, 200);
      t.match(found.json, { found: true, key, status: 'refused', amount: '5.00', attempts: 2 });
      t.ok(found.json.refusedAt && found.json.reason);
      t.notOk(found.json.paidAt);
      t.equal((await payouts(key)).length, 0, 'not in the payouts');

      const paidKey = randomUUID();
      await pay({ key: paidKey });
      await setFaults({ rules: [{ mode: 'refuse', key: paidKey }] });
      t.equal((await pay({ key: paidKey })).text, SUCCESS, 'a paid key stays paid');
    });

    t.test('hang: the client times out, nothing is paid, a retry is a fresh attempt', async (t) => {
      const key = randomUUID();
      await setFaults({ rules: [{ mode: 'hang', key, times: 1 }] });
      const error = await catchError(t, pay({ key, headersTimeout: 200 }));
      t.equal(error.code, 'UND_ERR_HEADERS_TIMEOUT');
      const found = await lookup(key);
      t.equal(found.status, 404, 'nothing paid, and the lookup does not wait for the hung request');
      t.ok(found.ms < 2000, 'promptly');
      t.equal((await pay({ key })).text, SUCCESS);
      t.equal((await payouts(key)).length, 1);
    });

    t.test('hang with hangMs: answers "failed" late, nothing paid', async (t) => {
      const key = randomUUID();
      await setFaults({ rules: [{ mode: 'hang', key, hangMs: 250 }] });
      const late = await pay({ key });
      t.ok(late.ms >= 240, `answered after ${late.ms.toFixed(0)} ms`);
      t.equal(late.text, FAILED);
      const error = await catchError(t, pay({ key, signal: AbortSignal.timeout(100) }));
      t.equal(error.name, 'TimeoutError', 'a client with a shorter timeout gives up');
      t.equal((await lookup(key)).status, 404);
    });

    t.test(
      'lostAnswer: paid, the socket is destroyed; lookup and retry see the payout',
      async (t) => {
        const key = randomUUID();
        await setFaults({ rules: [{ mode: 'lostAnswer', key, times: 1 }] });
        const error = await catchError(t, pay({ key, body: '{"amount":"12.34"}' }));
        t.equal(error.code, 'UND_ERR_SOCKET', 'the client sees a socket error');
        const found = await lookup(key);
        t.equal(found.status, 200);
        t.match(found.json, { key, status: 'paid', amount: '12.34' });
        const retry = await pay({ key });
        t.equal(retry.text, SUCCESS);
        t.equal(retry.headers['idempotent-replayed'], 'true');
        t.equal((await payouts(key)).length, 1, 'paid once');
      },
    );

    t.test('lostAnswerHang: paid, then no answer until the client gives up', async (t) => {
      const key = randomUUID();
      await setFaults({ rules: [{ mode: 'lostAnswerHang', key }] });
      const error = await catchError(t, pay({ key, headersTimeout: 200 }));
      t.equal(error.code, 'UND_ERR_HEADERS_TIMEOUT');
      t.match((await lookup(key)).json, { key, status: 'paid' });
      await catchError(t, pay({ key, headersTimeout: 200 }));
      t.equal((await payouts(key)).length, 1, 'a second lost answer pays nothing new');
    });

    t.test('transport faults hit a paid key too, without touching the books', async (t) => {
      const key = randomUUID();
      await pay({ key });
      await setFaults({ rules: [{ mode: 'http503', key }] });
      t.equal((await pay({ key })).status, 503);
      await call('DELETE', '/faults');
      t.equal((await pay({ key })).text, SUCCESS);
      t.equal((await payouts(key)).length, 1);
    });

    t.test('bad request headers on POST / are a 400', async (t) => {
      const long = await pay({ key: 'k'.repeat(256) });
      t.equal(long.status, 400);
      t.match(long.json, { data: 'bad request', status: 400, message: /Idempotency-Key/ });
      for (const value of ['soon', '', '-5', '1.5', '3600001']) {
        const latency = await pay({ headers: { 'x-latency-ms': value } });
        t.equal(latency.status, 400, `X-Latency-Ms "${value}"`);
        t.match(latency.json.message, /X-Latency-Ms/);
      }
    });

    t.test('admin input is validated: 400 with a useful message, never a 500', async (t) => {
      const json = { 'content-type': 'application/json' };
      const cases: [string, CallOptions, RegExp][] = [
        [
          'unknown mode',
          { headers: json, body: '{"rules":[{"mode":"explode"}]}' },
          /body\/rules\/0\/mode must be one of: normal, success, failed, http500, http503, refuse, hang, lostAnswer, lostAnswerHang/,
        ],
        [
          'times 0',
          { headers: json, body: '{"rules":[{"mode":"hang","times":0}]}' },
          /times must be >= 1/,
        ],
        [
          'times as text',
          { headers: json, body: '{"rules":[{"mode":"hang","times":"2"}]}' },
          /times must be integer/,
        ],
        [
          'failure rate above 1',
          { headers: json, body: '{"failureRate":1.5}' },
          /failureRate must be <= 1/,
        ],
        ['negative latency', { headers: json, body: '{"latencyMs":-1}' }, /latencyMs must be >= 0/],
        ['unknown field', { headers: json, body: '{"latency":5}' }, /unknown property "latency"/],
        [
          'unknown rule field',
          { headers: json, body: '{"rules":[{"mode":"hang","count":1}]}' },
          /unknown property "count"/,
        ],
        [
          'rules not a list',
          { headers: json, body: '{"rules":{"mode":"hang"}}' },
          /rules must be array/,
        ],
        [
          'key and keyPrefix',
          { headers: json, body: '{"rules":[{"mode":"hang","key":"a","keyPrefix":"b"}]}' },
          /key or keyPrefix, not both/,
        ],
        [
          'hangMs on another mode',
          { headers: json, body: '{"rules":[{"mode":"failed","hangMs":5}]}' },
          /hangMs only applies/,
        ],
        ['broken JSON', { headers: json, body: '{"rules": [' }, /not valid JSON/],
        ['no body', {}, /body must be object/],
        ['a JSON array', { headers: json, body: '[]' }, /body must be object/],
      ];
      for (const [name, options, message] of cases) {
        const answer = await call('PUT', '/faults', options);
        t.equal(answer.status, 400, `${name}: 400`);
        t.match(answer.json, { error: 'Bad Request', message }, `${name}: ${answer.json?.message}`);
      }
      const unsupported = await call('PUT', '/faults', {
        headers: { 'content-type': 'application/xml' },
        body: '<a/>',
      });
      t.equal(unsupported.status, 415, 'a content type it cannot read: 415');
      t.same(
        (await call('GET', '/faults')).json,
        { latencyMs: 20, failureRate: 0, rules: [] },
        'unchanged',
      );
    });

    t.test(
      'PUT /faults answers the active faults; DELETE restores the start-up values',
      async (t) => {
        const set = await setFaults({ failureRate: 0.5, rules: [{ mode: 'success', times: 3 }] });
        t.equal(set.status, 200);
        t.same(set.json, {
          latencyMs: 20,
          failureRate: 0.5,
          rules: [{ mode: 'success', times: 3 }],
        });
        const reset = await call('DELETE', '/faults');
        t.same(reset.json, { latencyMs: 20, failureRate: 0, rules: [] });
      },
    );

    t.test('a lookup for an unknown or odd key', async (t) => {
      const odd = 'a key/with?odd#chars';
      const answer = await lookup(odd);
      t.equal(answer.status, 404);
      t.same(answer.json, { key: odd, found: false });
    });
  });
}

t.test('configuration at start', async (t) => {
  t.test('failure rate 1.0 from the start', async (t) => {
    const { pay } = await startService(t, { failureRate: 1 });
    t.equal((await pay({ key: randomUUID() })).text, FAILED);
  });

  t.test('the failure rate is a fraction of draws, decided per attempt', async (t) => {
    const draws = [0.2, 0.8, 0.49, 0.5];
    const { pay } = await startService(t, { failureRate: 0.5, random: () => draws.shift() ?? 0 });
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push((await pay()).text);
    t.same(answers, [FAILED, SUCCESS, FAILED, SUCCESS]);
  });

  t.test('start-up rules apply, count down, and DELETE /faults re-arms them', async (t) => {
    const { pay, call } = await startService(t, { rules: [{ mode: 'http500', times: 1 }] });
    t.equal((await pay()).status, 500);
    t.equal((await pay()).status, 200);
    await call('DELETE', '/faults');
    t.equal((await pay()).status, 500);
  });

  t.test('invalid options are refused when building', async (t) => {
    t.throws(() => buildTransactionService({ failureRate: 2 }), /failureRate/);
    t.throws(
      () => buildTransactionService({ rules: [{ mode: 'nope' as 'hang' }] }),
      /invalid fault settings/,
    );
    t.throws(
      () => buildTransactionService({ rules: [{ mode: 'success', hangMs: 1 }] }),
      /hangMs only applies/,
    );
  });

  t.test('close() does not wait for hung requests', async (t) => {
    const { app, pay } = await startService(t, { rules: [{ mode: 'hang' }] });
    const hung = pay().catch((error: { code?: string }) => error);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    await app.close();
    t.ok(performance.now() - started < 2000, 'closed promptly');
    t.equal(
      ((await hung) as { code?: string }).code,
      'UND_ERR_SOCKET',
      'the hung client is cut off',
    );
  });
});

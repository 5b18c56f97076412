// Ambiguous or undecodable bodies over real HTTP (issue 15, items 4 and 5): raw bytes as a hostile
// client sends them, each refused with a 4xx that says what is wrong, and nothing changed by a
// refused command (the wallet's balance and its event history stay as they were).
import t from 'tap';
import { request } from 'undici';
import { NOT_UTF8_MESSAGE } from '../../src/api/jsonBody.ts';
import { startStack } from '../support/stack.ts';

const JSON_TYPE = 'application/json';
const FORM_TYPE = 'application/x-www-form-urlencoded';

t.test('strict request bodies', async (t) => {
  const { baseUrl, http, operatorKey } = await startStack(t);

  /** Sends `body` byte for byte, with exactly this content type. */
  const send = async (
    method: 'POST' | 'PATCH',
    path: string,
    contentType: string,
    ...parts: (string | number[])[]
  ) => {
    const body = Buffer.concat(parts.map((part) => Buffer.from(part as string)));
    const response = await request(`${baseUrl}${path}`, {
      method,
      headers: { 'content-type': contentType, authorization: `Bearer ${operatorKey}` },
      body,
    });
    const text = await response.body.text();
    return { status: response.statusCode, body: JSON.parse(text), text };
  };

  const created = await http('POST', '/api/wallets/', {});
  t.equal(created.status, 201);
  const id = created.body.uuid as string;
  const depositPath = `/api/wallets/${id}/deposit/`;
  const deposit = (contentType: string, ...parts: (string | number[])[]) =>
    send('PATCH', depositPath, contentType, ...parts);
  // The stream's events, and the balance as of the last of them (the read model waits for it).
  const state = async () => {
    const history = await http('GET', `/api/wallets/${id}/history/`);
    const events = history.body.events.length as number;
    const wallet = await http('GET', `/api/wallets/${id}/?min_revision=${events - 1}`);
    return { balance: wallet.body.balance, events };
  };

  t.equal((await deposit(JSON_TYPE, '{"amount":"10.00"}')).status, 200);
  const before = await state();
  t.same(before, { balance: '10.00', events: 2 });

  t.test('a deposit with its amount given twice is refused and changes nothing', async (t) => {
    const twice = await deposit(JSON_TYPE, '{"amount":"1.00","amount":"999.00"}');
    t.equal(twice.status, 400);
    t.same(twice.body, { amount: ['This field was given more than once.'] });
    const same = await deposit(JSON_TYPE, '{"amount":"1.00", "amount":"1.00"}');
    t.same(same.body, { amount: ['This field was given more than once.'] });
    const form = await deposit(FORM_TYPE, 'amount=1.00&amount=5.00');
    t.equal(form.status, 400);
    t.same(form.body, { amount: ['This field was given more than once.'] });
    t.same(await state(), before);
  });

  t.test('bytes that are not UTF-8 are refused on their field, not stored as U+FFFD', async (t) => {
    const owner = await send('POST', '/api/wallets/', JSON_TYPE, '{"owner":"a', [0xff, 0xc3], '"}');
    t.equal(owner.status, 400);
    t.same(owner.body, { owner: [NOT_UTF8_MESSAGE] });
    const formOwner = await send('POST', '/api/wallets/', FORM_TYPE, 'owner=a%FF%C3');
    t.equal(formOwner.status, 400);
    t.same(formOwner.body, { owner: [NOT_UTF8_MESSAGE] });
    const amount = await deposit(JSON_TYPE, '{"amount":"1', [0xc3], '"}');
    t.same(amount.body, { amount: [NOT_UTF8_MESSAGE] });
    const outside = await deposit(JSON_TYPE, '{"amount":"1.00"', [0xff], '}');
    t.equal(outside.status, 400);
    t.same(outside.body, { detail: 'The request body is not valid UTF-8.' });
    t.same(await state(), before);
    // The same owner in UTF-8 is taken as sent.
    const good = await send(
      'POST',
      '/api/wallets/',
      JSON_TYPE,
      '{"owner":"a\u00ff\u00c3 \u{1F600}"}',
    );
    t.equal(good.status, 201);
    t.equal(good.body.owner, 'a\u00ff\u00c3 \u{1F600}');
  });

  t.test('a charset other than UTF-8 is a 415 naming it', async (t) => {
    const utf16 = await deposit(`${JSON_TYPE}; charset=utf-16`, '{"amount":"1.00"}');
    t.equal(utf16.status, 415);
    t.same(utf16.body, {
      detail: 'Unsupported charset "utf-16" in request: send the body as UTF-8.',
    });
    const latin1 = await deposit(`${FORM_TYPE}; charset=ISO-8859-1`, 'amount=1.00');
    t.equal(latin1.status, 415);
    t.same(latin1.body, {
      detail: 'Unsupported charset "ISO-8859-1" in request: send the body as UTF-8.',
    });
    t.same(await state(), before);
    const utf8 = await deposit(`${JSON_TYPE}; charset=UTF-8`, '{"amount":"0.50"}');
    t.equal(utf8.status, 200, 'UTF-8 named in any case is fine');
    const utf8Alias = await deposit(`${FORM_TYPE}; charset=utf8`, 'amount=0.50');
    t.equal(utf8Alias.status, 200);
    t.equal(utf8Alias.body.balance, '11.00');
    before.balance = '11.00';
    before.events += 2;
  });

  t.test('a key that reaches for a prototype is refused by name', async (t) => {
    const proto = await deposit(JSON_TYPE, '{"__proto__": {"amount": "5.00"}, "amount": "1.00"}');
    t.equal(proto.status, 400);
    t.same(proto.text, '{"__proto__":["The key \\"__proto__\\" is not allowed."]}');
    const ctor = await deposit(JSON_TYPE, '{"amount": "1.00", "constructor": {"prototype": {}}}');
    t.equal(ctor.status, 400);
    t.same(ctor.body, {
      constructor: ['The key "constructor" holding "prototype" is not allowed.'],
    });
    t.same(await state(), before);
  });

  t.test('a date that does not exist is refused saying so, in a body and in ?at=', async (t) => {
    const withdraw = await send(
      'POST',
      `/api/wallets/${id}/withdraw/`,
      JSON_TYPE,
      '{"amount":"1.00","scheduled_time":"2030-02-29T00:00:00Z"}',
    );
    t.equal(withdraw.status, 400);
    t.same(withdraw.body, {
      scheduled_time: ['2030-02-29 is not a valid date (February 2030 has 28 days).'],
    });
    const at = await http('GET', `/api/wallets/${id}/?at=2030-02-29T00:00:00Z`);
    t.equal(at.status, 400);
    t.same(at.body, { at: ['2030-02-29 is not a valid date (February 2030 has 28 days).'] });
    t.same(await state(), before);
  });
});

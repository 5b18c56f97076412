// Calls to the ledger's HTTP API that tests make to set the scene: keys, wallets, deposits. Each
// throws on an unexpected status, so a test stops where its scene could not be set.
import type { Http, HttpResponse } from './stack.ts';

/** The Authorization header of an API key. */
export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

/** The body of the answer, which must have this status (`what` names it in the error). */
export async function expectStatus(
  what: string,
  response: Promise<HttpResponse>,
  status: number,
): Promise<any> {
  const answer = await response;
  if (answer.status !== status) throw new Error(`${what}: ${answer.status} ${answer.text}`);
  return answer.body;
}

/** A new API key, made by the stack's operator: its id and its secret. */
export async function makeKey(
  stack: { readonly http: Http },
  body: Record<string, unknown>,
): Promise<{ id: string; key: string }> {
  return expectStatus('key', stack.http('POST', '/api/keys', body), 201);
}

/** A new wallet; its id. */
export async function newWallet(http: Http, body: object = {}): Promise<string> {
  return (await expectStatus('wallet', http('POST', '/api/wallets/', body), 201)).uuid;
}

export async function deposit(http: Http, walletId: string, amount = '1.00'): Promise<void> {
  await expectStatus(
    'deposit',
    http('PATCH', `/api/wallets/${walletId}/deposit/`, { amount }),
    200,
  );
}

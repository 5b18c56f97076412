// A stack for webhook tests: the API (keys required) and the projector on a fresh database, the
// notify role in the same process, short retry waits and timeouts, and helpers to make owner keys
// and wallet events.
import type { Test } from 'tap';
import { startNotifyRole } from '../../src/cli/runtime.ts';
import { bearer, deposit, expectStatus, makeKey, newWallet } from '../support/ledgerApi.ts';
import {
  type Http,
  httpClient,
  POSTGRES_TARGET,
  type Stack,
  type StackTarget,
} from '../support/stack.ts';

export interface WebhookStack extends Stack {
  /** Starts the notify role (stopped with the test); the first one starts with the stack. */
  startNotify(options?: Parameters<typeof startNotifyRole>[1]): ReturnType<typeof startNotifyRole>;
  /** A client with a new key of this owner (every scope unless given). */
  ownerClient(owner: string, scopes?: string[]): Promise<Http>;
  newWallet(http: Http, body?: object): Promise<string>;
  deposit(http: Http, wallet: string, amount?: string): Promise<void>;
  register(http: Http, body: object): Promise<{ id: string; secret: string }>;
}

export const FAST = {
  WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
  WEBHOOK_RETRY_SCHEDULE: '100ms,200ms,300ms',
  WEBHOOK_TIMEOUT_MS: '2000',
  WEBHOOK_LEASE_MS: '10000',
};

export async function startWebhookStack(
  t: Test,
  {
    env = {},
    target = POSTGRES_TARGET,
    notify = true,
  }: { env?: Record<string, string>; target?: StackTarget; notify?: boolean } = {},
): Promise<WebhookStack> {
  const stack = await target.startStack(t, { env: { ...FAST, ...env } });
  const startNotify = (options: Parameters<typeof startNotifyRole>[1] = {}) => {
    const role = startNotifyRole(stack.runtime, {
      pollMs: 50,
      housekeepingMs: { retries: 100, gauge: 200 },
      ...options,
    });
    // Registered after the stack's teardown, so it runs before it (tap runs them in reverse).
    t.teardown(() => role.stop());
    return role;
  };
  if (notify) startNotify();
  return {
    ...stack,
    startNotify,
    async ownerClient(owner, scopes) {
      const { key } = await makeKey(stack, { owner, ...(scopes ? { scopes } : {}) });
      return httpClient(stack.baseUrl, bearer(key));
    },
    newWallet,
    deposit,
    register: (http, body) =>
      expectStatus('registration', http('POST', '/api/webhooks', body), 201),
  };
}

/** Per wallet, the revisions in the order they arrived (repeats included). */
export function revisionsByWallet(
  received: readonly { json: { data: { walletId: string; revision: number } } }[],
) {
  const byWallet = new Map<string, number[]>();
  for (const { json } of received) {
    const list = byWallet.get(json.data.walletId) ?? [];
    list.push(json.data.revision);
    byWallet.set(json.data.walletId, list);
  }
  return byWallet;
}

/** Whether every wallet's revisions arrived in order (a repeat may follow itself). */
export const inOrder = (revisions: readonly number[]) =>
  revisions.every((revision, i) => i === 0 || revision >= (revisions[i - 1] as number));

// The client of the third-party payout service. The verdict is read from the response body as well
// as the HTTP status, so it works against the original stub unchanged (always HTTP 200, with
// {"data": "failed", "status": 503} for a failure) and against our transaction-service.
import { Agent, request } from 'undici';
import type { LookupResult, PayoutAnswer } from '../src/domain/withdrawal.ts';
import { errorCode } from '../src/infra/errorCode.ts';

export interface PayoutRequest {
  readonly withdrawalId: string;
  readonly walletId: string;
  readonly amount: string;
  readonly currency: string;
  readonly target: string | null;
}

export interface PayoutClientOptions {
  readonly baseUrl: string;
  readonly timeoutMs: number;
  /** Keep-alive connections to the third party. */
  readonly connections: number;
}

/** Connection errors that happen before a request reaches the server: nothing can have been paid. */
const NOT_SENT = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** Statuses that ask to try again later: nothing was done. */
const TRY_AGAIN = new Set([408, 425, 429]);

/**
 * Reads a verdict from a response. The third party's own JSON verdict (`status`, `data`) decides
 * first: the original stub answers HTTP 200 for failures too. An HTTP error without such a
 * verdict (a proxy's 502, say) says nothing about whether the bank paid: unknown.
 */
export function readVerdict(httpStatus: number, body: unknown): PayoutAnswer {
  const verdict =
    body && typeof body === 'object' ? (body as { status?: unknown; data?: unknown }) : {};
  const status = typeof verdict.status === 'number' ? verdict.status : undefined;
  const data = typeof verdict.data === 'string' ? verdict.data : undefined;
  const said = `HTTP ${httpStatus}${data ? `, ${data}` : ''}${status !== undefined ? ` (${status})` : ''}`;
  if (status === 200 || (status === undefined && data === 'success' && httpStatus < 300)) {
    return httpStatus < 300
      ? { kind: 'paid' }
      : { kind: 'unknown', reason: `Contradictory answer: ${said}.` };
  }
  if (status !== undefined && status >= 500) {
    return { kind: 'failed', reason: `Transaction service error: ${said}.` };
  }
  if (TRY_AGAIN.has(httpStatus) || (status !== undefined && TRY_AGAIN.has(status))) {
    return { kind: 'failed', reason: `Transaction service asked to retry: ${said}.` };
  }
  if ((status !== undefined && status >= 400) || (httpStatus >= 400 && httpStatus < 500)) {
    return { kind: 'refused', reason: `Payout refused: ${said}.` };
  }
  return { kind: 'unknown', reason: `Transaction service outcome unknown: ${said}.` };
}

export function createPayoutClient(options: PayoutClientOptions) {
  const dispatcher = new Agent({
    connections: options.connections,
    keepAliveTimeout: 30_000,
    // Our own timeout (AbortSignal) decides; undici's timers are coarse.
    headersTimeout: 0,
    bodyTimeout: 0,
  });
  const base = options.baseUrl.replace(/\/+$/, '');

  async function requestPayout(payout: PayoutRequest): Promise<PayoutAnswer> {
    let response: Awaited<ReturnType<typeof request>>;
    try {
      response = await request(`${base}/`, {
        method: 'POST',
        dispatcher,
        headers: { 'content-type': 'application/json', 'idempotency-key': payout.withdrawalId },
        body: JSON.stringify({
          withdrawal: payout.withdrawalId,
          wallet: payout.walletId,
          amount: payout.amount,
          currency: payout.currency,
          target: payout.target,
        }),
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch (error) {
      const code = errorCode(error);
      if (code && NOT_SENT.has(code)) {
        return { kind: 'failed', reason: `Transaction service unreachable (${code}).` };
      }
      const why =
        (error as Error).name === 'TimeoutError'
          ? `no answer within ${options.timeoutMs} ms`
          : (code ?? (error as Error).message);
      return { kind: 'unknown', reason: `Transaction service outcome unknown (${why}).` };
    }
    const text = await response.body.text().catch(() => undefined);
    if (text === undefined) {
      return { kind: 'unknown', reason: 'Transaction service outcome unknown (answer cut off).' };
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return readVerdict(response.statusCode, body);
  }

  async function lookupTransfer(withdrawalId: string): Promise<LookupResult> {
    try {
      const response = await request(`${base}/transfers/${encodeURIComponent(withdrawalId)}`, {
        dispatcher,
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      const body = (await response.body.json().catch(() => undefined)) as
        | { found?: boolean; status?: string }
        | undefined;
      if (response.statusCode === 200 && body?.status === 'paid') return 'paid';
      if (response.statusCode === 200 && body?.status === 'refused') return 'refused';
      if (response.statusCode === 404 && body?.found === false) return 'not_found';
      return 'unsupported';
    } catch {
      return 'unsupported';
    }
  }

  return { requestPayout, lookupTransfer, close: () => dispatcher.close() };
}

export type PayoutClient = ReturnType<typeof createPayoutClient>;

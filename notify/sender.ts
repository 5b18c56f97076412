// Sends one attempt: a signed POST with keep-alive connections (undici), no redirects followed,
// an answer's status within the timeout or it failed, the first 1 KiB of the answer kept. Unless
// private targets are allowed, every connection goes through the target check: a name is
// resolved, every address checked, and the socket connects to the checked address (targets.ts).
// Each endpoint has connections of its own (an undici Agent per endpoint id, as many connections
// as the deliverer lets requests be in flight to it): endpoints on one origin never wait for each
// other's connections, and a request never queues for one, so its deadline covers only the
// connecting and the answer.
import { isIP } from 'node:net';
import { Agent, buildConnector, request } from 'undici';
import { errorCode } from '../src/infra/errorCode.ts';
import { signatureHeader } from '../src/webhooks/signature.ts';
import {
  type Resolve,
  refusedAddress,
  safeLookup,
  systemResolve,
  TargetRefused,
} from '../src/webhooks/targets.ts';
import type { AttemptRecord } from './store/recordAttempt.ts';

/** How long an endpoint's idle connections (and its Agent) are kept. */
const KEEP_ALIVE_MS = 30_000;

/** How much of an answer is kept with the attempt. */
export const RESPONSE_BYTES = 1024;

export interface SenderOptions {
  readonly timeoutMs: number;
  /** Connections per endpoint (the deliverer's per-endpoint concurrency). */
  readonly connections: number;
  readonly allowPrivateTargets: boolean;
  /** Name resolution (tests give a stand-in resolver: DNS rebinding). */
  readonly resolve?: Resolve;
  readonly userAgent?: string;
}

export interface Outgoing {
  /** Whose connections it goes on. */
  readonly endpointId: string;
  readonly url: string;
  readonly id: string;
  readonly body: string;
  /** The secrets that sign it, the current one first. */
  readonly secrets: readonly string[];
}

export type AttemptResult = AttemptRecord & {
  /** For metrics: how the attempt ended. */
  readonly result: 'delivered' | 'http_error' | 'timeout' | 'connection_error' | 'refused_target';
};

function refusal(error: unknown): TargetRefused | undefined {
  let current = error as { cause?: unknown } | undefined;
  for (let depth = 0; current && depth < 5; depth++) {
    if (current instanceof TargetRefused) return current;
    current = current.cause as typeof current;
  }
  return undefined;
}

/** The answer's first bytes as text PostgreSQL can store. */
async function firstBytes(body: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= RESPONSE_BYTES) break; // leaving the loop destroys the rest of the body
  }
  return Buffer.concat(chunks)
    .subarray(0, RESPONSE_BYTES)
    .toString('utf8')
    .replaceAll('\u0000', '');
}

export function createSender(options: SenderOptions) {
  const direct = buildConnector({ timeout: options.timeoutMs });
  const checked = buildConnector({
    timeout: options.timeoutMs,
    lookup: safeLookup(options.resolve ?? systemResolve),
  });
  const connect: Agent.Options['connect'] = options.allowPrivateTargets
    ? direct
    : (opts, callback) => {
        // A literal address is never looked up: check it here.
        const host = opts.hostname.replace(/^\[|\]$/g, '');
        const why = isIP(host) !== 0 ? refusedAddress(host) : undefined;
        if (why) {
          callback(
            new TargetRefused(
              `The host ${host} is ${why}: webhooks may not target loopback, private, link-local or metadata addresses.`,
            ),
            null,
          );
          return;
        }
        checked(opts, callback);
      };
  const agents = new Map<string, { agent: Agent; busy: number; usedAt: number }>();

  function agentOf(endpointId: string) {
    let entry = agents.get(endpointId);
    if (!entry) {
      const agent = new Agent({
        connections: options.connections,
        keepAliveTimeout: KEEP_ALIVE_MS,
        // The attempt's own deadline (an AbortSignal) decides; undici's timers are coarse.
        headersTimeout: 0,
        bodyTimeout: 0,
        connect,
      });
      entry = { agent, busy: 0, usedAt: performance.now() };
      agents.set(endpointId, entry);
    }
    return entry;
  }

  /** Closes the connections of endpoints not named (deleted, paused, disabled) and of idle ones. */
  function retain(endpointIds: ReadonlySet<string>): void {
    const now = performance.now();
    for (const [id, entry] of agents) {
      if (entry.busy > 0 || (endpointIds.has(id) && now - entry.usedAt < KEEP_ALIVE_MS)) continue;
      agents.delete(id);
      entry.agent.close().catch(() => {});
    }
  }

  const userAgent = options.userAgent ?? 'wallet-ledger-webhooks/0.1';

  async function send(outgoing: Outgoing): Promise<AttemptResult> {
    const pool = agentOf(outgoing.endpointId);
    pool.busy++;
    try {
      return await post(outgoing, pool.agent);
    } finally {
      pool.busy--;
      pool.usedAt = performance.now();
    }
  }

  async function post(outgoing: Outgoing, dispatcher: Agent): Promise<AttemptResult> {
    const at = new Date();
    const timestamp = Math.floor(at.getTime() / 1000);
    const started = performance.now();
    const signal = AbortSignal.timeout(options.timeoutMs);
    const failed = (
      result: AttemptResult['result'],
      error: string,
      httpStatus: number | null = null,
    ): AttemptResult => ({
      at,
      latencyMs: performance.now() - started,
      httpStatus,
      response: null,
      error,
      ok: false,
      result,
    });
    let response: Awaited<ReturnType<typeof request>>;
    try {
      response = await request(outgoing.url, {
        method: 'POST',
        dispatcher,
        signal,
        headers: {
          'content-type': 'application/json',
          'user-agent': userAgent,
          'webhook-id': outgoing.id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signatureHeader(
            outgoing.secrets,
            outgoing.id,
            timestamp,
            outgoing.body,
          ),
        },
        body: outgoing.body,
      });
    } catch (error) {
      const refused = refusal(error);
      if (refused) return failed('refused_target', refused.message);
      if (signal.aborted) return failed('timeout', `No answer within ${options.timeoutMs} ms.`);
      const code = errorCode(error);
      return failed('connection_error', `Connection failed (${code ?? (error as Error).message}).`);
    }
    const latencyMs = performance.now() - started;
    const ok = response.statusCode >= 200 && response.statusCode < 300;
    // The answer's first bytes, as far as they come in time; a 2xx in time is delivered anyway.
    const text = await firstBytes(response.body).catch(() => null);
    return {
      at,
      latencyMs,
      httpStatus: response.statusCode,
      response: text,
      error: ok ? null : `HTTP ${response.statusCode}.`,
      ok,
      result: ok ? 'delivered' : 'http_error',
    };
  }

  return {
    send,
    retain,
    close: async () => {
      const closing = [...agents.values()].map((entry) => entry.agent.close());
      agents.clear();
      await Promise.allSettled(closing);
    },
  };
}

export type Sender = ReturnType<typeof createSender>;

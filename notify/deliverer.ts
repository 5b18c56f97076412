// The delivering half of the notify role, in every instance: claims due lanes (one wallet's
// deliveries to one endpoint) and works each one head first, so a wallet's events reach an
// endpoint in order; lanes of one endpoint run side by side up to its concurrency, and endpoints
// never wait for each other (a slow or dead one only holds its own lanes).
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Logger } from '../src/infra/logger.ts';
import { metrics } from '../src/infra/metrics.ts';
import { openSecret, SecretUnreadable } from '../src/webhooks/secretBox.ts';
import { verdictAfter } from './retryPolicy.ts';
import type { AttemptResult, Sender } from './sender.ts';
import { claimLanes, type LaneClaim } from './store/claimLanes.ts';
import { disableEndpoint } from './store/disableEndpoint.ts';
import { isDeliverable, type LiveEndpoint, loadEndpoints } from './store/loadEndpoints.ts';
import { loadHead } from './store/loadHead.ts';
import { recordAttempt } from './store/recordAttempt.ts';
import { releaseLane } from './store/releaseLane.ts';

export interface DelivererOptions {
  readonly pool: pg.Pool;
  readonly sender: Pick<Sender, 'send' | 'retain'>;
  readonly retryScheduleMs: readonly number[];
  readonly concurrencyPerEndpoint: number;
  readonly leaseMs: number;
  readonly disableAfterMs: number;
  readonly secretKey: Buffer | undefined;
  readonly log: Pick<Logger, 'warn' | 'error' | 'info'>;
  readonly clock?: () => Date;
  readonly random?: () => number;
  /** How often it looks for due lanes when nothing woke it. */
  readonly pollMs?: number;
}

/** Deliveries one claim works before it lets its lane go, so other lanes get their turn. */
const PER_CLAIM = 20;
/** Lanes in flight per instance, over every endpoint. */
const MAX_LANES = 512;

const UNITS = [
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
  ['second', 1000],
] as const;

/** `5 days`, `3 hours`, `1 second`: the largest unit that fits at least twice (or seconds). */
function describeSpan(ms: number): string {
  const [unit, size] = UNITS.find(([, size]) => ms >= 2 * size) ?? UNITS[3];
  const count = Math.round(ms / size);
  return `${count} ${unit}${count === 1 ? '' : 's'}`;
}

export function startDeliverer(options: DelivererOptions) {
  const { pool, sender, log, leaseMs } = options;
  const clock = options.clock ?? (() => new Date());
  const random = options.random ?? Math.random;
  const pollMs = options.pollMs ?? 250;
  const instance = `notify-${randomUUID().slice(0, 8)}`;
  const inFlight = new Map<string, number>();
  const working = new Set<Promise<void>>();
  let endpoints = new Map<string, LiveEndpoint>();
  let stopped = false;
  let polling: Promise<void> | undefined;
  let again = false;
  let claimsFailing = false;
  let timer: NodeJS.Timeout | undefined;
  /**
   * Endpoints whose secret this instance cannot read (WEBHOOK_SECRET_KEY missing or another one),
   * and the stored secrets that failed. A fault of this instance, not of the endpoint: found at a
   * lane's first attempt, after which their lanes are not claimed here (another instance with the
   * key delivers them, or this one once the registration's secret changes); no attempt is recorded
   * and the endpoint's health is untouched.
   */
  const unreadable = new Map<string, string>();
  const storedSecrets = (endpoint: LiveEndpoint) => `${endpoint.secret}|${endpoint.previousSecret}`;

  function secretsOf(endpoint: LiveEndpoint, now: Date): string[] {
    const secrets = [openSecret(endpoint.secret, endpoint.id, options.secretKey)];
    if (
      endpoint.previousSecret &&
      endpoint.previousSecretUntil &&
      endpoint.previousSecretUntil > now
    )
      secrets.push(openSecret(endpoint.previousSecret, endpoint.id, options.secretKey));
    return secrets;
  }

  /** The endpoint's secrets, or undefined (said once per stored secret) if they cannot be read. */
  function readSecrets(endpoint: LiveEndpoint): string[] | undefined {
    const stored = storedSecrets(endpoint);
    if (unreadable.get(endpoint.id) === stored) return undefined;
    try {
      const secrets = secretsOf(endpoint, clock());
      unreadable.delete(endpoint.id);
      return secrets;
    } catch (error) {
      if (!(error instanceof SecretUnreadable)) throw error;
      unreadable.set(endpoint.id, stored);
      log.error(`webhook endpoint not delivered by this instance: ${error.message}`, {
        endpointId: endpoint.id,
        instance,
      });
      return undefined;
    } finally {
      metrics.webhookSecretsUnreadable.set(unreadable.size);
    }
  }

  /** Disables an endpoint whose every attempt has failed for WEBHOOK_DISABLE_AFTER. */
  async function disableIfFailingTooLong(
    endpoint: LiveEndpoint,
    failingSince: Date,
    last: AttemptResult,
  ) {
    const since = Math.max(failingSince.getTime(), endpoint.enabledAt.getTime());
    const now = clock();
    if (now.getTime() - since < options.disableAfterMs) return;
    const reason =
      `Every delivery attempt failed for ${describeSpan(now.getTime() - since)} ` +
      `(since ${new Date(since).toISOString()}; the last: ${last.error ?? 'failed'})`;
    if (
      await disableEndpoint(pool, {
        endpointId: endpoint.id,
        at: now,
        reason,
        enabledAt: endpoint.enabledAt,
      })
    ) {
      metrics.webhookEndpointsDisabled.inc();
      log.warn(`webhook endpoint disabled: ${reason}`, {
        endpointId: endpoint.id,
        url: endpoint.url,
      });
    }
    endpoints.set(endpoint.id, { ...endpoint, disabledAt: now });
  }

  async function workLane(claim: LaneClaim): Promise<void> {
    try {
      for (let n = 0; n < PER_CLAIM && !stopped; n++) {
        const endpoint = endpoints.get(claim.endpointId);
        if (!endpoint || !isDeliverable(endpoint)) return;
        const { held, head } = await loadHead(pool, claim, { now: clock(), leaseMs });
        if (!held || !head || head.nextAttemptAt > clock()) return;
        const secrets = readSecrets(endpoint);
        if (!secrets) return;
        const result = await sender.send({
          endpointId: endpoint.id,
          url: endpoint.url,
          id: head.id,
          body: head.body,
          secrets,
        });
        metrics.webhookAttempts.inc({ result: result.result });
        metrics.webhookAttemptDuration.observe(result.latencyMs / 1000);
        const verdict = verdictAfter(head, result.ok, {
          scheduleMs: options.retryScheduleMs,
          now: clock(),
          random,
        });
        const recorded = await recordAttempt(pool, claim, head, result, verdict);
        if (verdict.status !== 'pending')
          metrics.webhookDeliveries.inc({ outcome: verdict.status });
        if (!result.ok && recorded.failingSince)
          await disableIfFailingTooLong(endpoint, recorded.failingSince, result);
        if (!recorded.held) return;
      }
    } catch (error) {
      // Let go below: claimed again at once (a request already sent goes again, with its id).
      log.warn('webhook lane failed; it is tried again', {
        endpointId: claim.endpointId,
        walletId: claim.walletId,
        error: (error as Error).message,
      });
    } finally {
      await releaseLane(pool, claim).catch(() => {});
    }
  }

  async function claimAndWork(): Promise<void> {
    endpoints = new Map((await loadEndpoints(pool)).map((e) => [e.id, e]));
    for (const id of unreadable.keys()) if (!endpoints.has(id)) unreadable.delete(id);
    metrics.webhookSecretsUnreadable.set(unreadable.size);
    let total = [...inFlight.values()].reduce((a, b) => a + b, 0);
    const rooms = new Map<string, number>();
    for (const endpoint of endpoints.values()) {
      const room = Math.min(
        options.concurrencyPerEndpoint - (inFlight.get(endpoint.id) ?? 0),
        MAX_LANES - total,
      );
      const signable = unreadable.get(endpoint.id) !== storedSecrets(endpoint);
      if (isDeliverable(endpoint) && room > 0 && signable) rooms.set(endpoint.id, room);
    }
    // Connections kept only for endpoints that can be delivered to (and were lately).
    sender.retain(new Set([...endpoints.values()].filter(isDeliverable).map((e) => e.id)));
    if (rooms.size === 0) return;
    const claims = await claimLanes(pool, { rooms, now: clock(), leaseMs, instance });
    for (const claim of claims) {
      total++;
      inFlight.set(claim.endpointId, (inFlight.get(claim.endpointId) ?? 0) + 1);
      const work = workLane(claim).finally(() => {
        working.delete(work);
        const left = (inFlight.get(claim.endpointId) ?? 1) - 1;
        if (left === 0) inFlight.delete(claim.endpointId);
        else inFlight.set(claim.endpointId, left);
        wake(); // room again: its lane may have more, or others may be waiting
      });
      working.add(work);
    }
  }

  /** Claims now (coalesced: a wake-up during a claim claims once more right after it). */
  function wake(): void {
    if (stopped) return;
    if (polling) {
      again = true;
      return;
    }
    polling = claimAndWork()
      .then(() => {
        claimsFailing = false;
      })
      .catch((error: unknown) => {
        // Once per outage (a database down fails every poll), not four times a second.
        if (!claimsFailing) log.warn('webhook claims failed', { error: (error as Error).message });
        claimsFailing = true;
      })
      .finally(() => {
        polling = undefined;
        if (again) {
          again = false;
          wake();
        }
      });
  }

  const tick = () => {
    wake();
    if (!stopped) timer = setTimeout(tick, pollMs);
  };
  tick();

  return {
    instance,
    wake,
    /** Endpoints this instance cannot deliver to: their secret is unreadable here (/health). */
    unreadableSecrets: () => [...unreadable.keys()],
    /** Waits until every lane claimed so far has been worked (tests). */
    async idle() {
      while (polling || working.size > 0) await Promise.allSettled([polling, ...working]);
    },
    /** Stops claiming and waits for the attempts in flight to be recorded. */
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await polling;
      await Promise.allSettled([...working]);
    },
  };
}

export type Deliverer = ReturnType<typeof startDeliverer>;

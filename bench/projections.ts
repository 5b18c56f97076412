// Projections: catch-up speed of the projector role for a backlog appended while it was stopped,
// and the time of the CLI's `rebuild` over every event in the store.
import type { Context } from './context.ts';
import type { LagProbe } from './lag.ts';
import { startRole } from './processes.ts';
import { countWalletEvents, seedEvents } from './seed.ts';
import type { Stack } from './stack.ts';

export interface CatchUpFigure {
  readonly events: number;
  /** From the restarted projector's "projector active" line to the batch commit past the backlog. */
  readonly seconds: number;
  readonly perSecond: number;
  /** From spawning the process (node and tsx start-up included). */
  readonly secondsFromSpawn: number;
}

export async function benchCatchUp(
  ctx: Context,
  stack: Stack,
  probe: LagProbe,
): Promise<CatchUpFigure> {
  const events = ctx.sizes.backlogEvents;
  ctx.progress('catch-up: stopping the projector');
  await stack.projector.stop();
  ctx.progress(`catch-up: appending ${events.toLocaleString('en-US')} events`);
  const last = await seedEvents(ctx, events);
  ctx.progress('catch-up: starting the projector');
  const spawned = Date.now();
  const active = await stack.startProjector();
  const reached = await probe.reached(last, 600_000);
  const seconds = (reached.atMs - active) / 1000;
  return {
    events,
    seconds,
    perSecond: events / seconds,
    secondsFromSpawn: (reached.atMs - spawned) / 1000,
  };
}

export interface RebuildFigure {
  readonly events: number;
  /** What the rebuild reports (replay, catch-up and swap). */
  readonly seconds: number;
  readonly perSecond: number;
  /** The whole CLI command, process start-up included. */
  readonly commandSeconds: number;
  readonly peakRssKiB: number | undefined;
}

/**
 * Tops the store up to `rebuildEvents` wallet events with the projector stopped (it would only
 * compete with the seeding), then runs `npm run cli -- rebuild` as its own process, the projector
 * still stopped: with it running it would be idle (polling) anyway, and the rebuild's work, a
 * replay of every event into fresh tables and the swap, is the same.
 */
export async function benchRebuild(ctx: Context, stack: Stack): Promise<RebuildFigure> {
  await stack.projector.stop();
  const have = await countWalletEvents(ctx);
  const missing = ctx.sizes.rebuildEvents - have;
  if (missing > 0) {
    ctx.progress(`rebuild: appending ${missing.toLocaleString('en-US')} events (${have} present)`);
    await seedEvents(ctx, missing);
  }
  ctx.progress(`rebuild: npm run cli -- rebuild over ${ctx.sizes.rebuildEvents} events`);
  const started = performance.now();
  const rebuild = startRole('rebuild', {
    env: { DATABASE_URL: ctx.databaseUrl, LOG_LEVEL: 'warn', PGAPPNAME: 'bench-rebuild' },
    nodeFlags: ctx.roleFlags('rebuild'),
  });
  let lastShown = 0;
  rebuild.onLine((line) => {
    if (!line.startsWith('rebuild:') || performance.now() - lastShown < 10_000) return;
    lastShown = performance.now();
    ctx.progress(`  ${line}`);
  });
  let peakRssKiB: number | undefined;
  const sampler = setInterval(async () => {
    const memory = await rebuild.memory();
    if (memory) peakRssKiB = Math.max(peakRssKiB ?? 0, memory.peakKiB);
  }, 250);
  try {
    const [, events, seconds] = await rebuild.waitFor(
      /rebuilt the read models from (\d+) events in ([\d.]+) s/,
      900_000,
    );
    const code = await rebuild.exited;
    if (code !== 0) throw new Error(`rebuild exited with ${code}\n${rebuild.tail()}`);
    return {
      events: Number(events),
      seconds: Number(seconds),
      perSecond: Number(events) / Number(seconds),
      commandSeconds: (performance.now() - started) / 1000,
      peakRssKiB,
    };
  } finally {
    clearInterval(sampler);
    await rebuild.stop();
  }
}

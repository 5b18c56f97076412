// Rebuild's progress while the log grows: the total counted at the start is counted again once
// the replay passes it, so no report says more done than total.
import t from 'tap';
import { type RebuildProgress, rebuildReadModel } from '../../projections/rebuild.ts';
import { WALLET_STREAM_PREFIX } from '../../src/domain/events.ts';
import { countEvents } from '../../src/eventstore/postgres/countEvents.ts';
import { startStack } from '../support/stack.ts';

t.test('a count taken before writes went on is counted again', async (t) => {
  const { http, store, db } = await startStack(t, { projector: false });
  for (let w = 0; w < 6; w++) {
    const id = (await http('POST', '/api/wallets/', {})).body.uuid;
    for (let d = 0; d < 4; d++)
      await http('PATCH', `/api/wallets/${id}/deposit/`, { amount: '1.00' });
  }
  const events = await countEvents(db.pool, WALLET_STREAM_PREFIX);
  t.equal(events, 30);

  // The first count is the log as it was before the last 12 events were written.
  const counts = [events - 12];
  const reports: RebuildProgress[] = [];
  const result = await rebuildReadModel({
    store,
    pool: db.pool,
    batchSize: 5,
    onProgress: (report) => reports.push(report),
    countEvents: async () => counts.shift() ?? countEvents(db.pool, WALLET_STREAM_PREFIX),
  });
  t.equal(result.events, 30);
  t.same(
    reports.map(({ done, total }) => [done, total]),
    [
      [0, 18],
      [5, 18],
      [10, 18],
      [15, 18],
      [20, 30], // passed the first count: counted again
      [25, 30],
      [30, 30],
      [30, 30],
    ],
  );
});

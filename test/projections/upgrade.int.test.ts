// A rolling upgrade, an old and a new role side by side: a projector of a newer read-model layout
// rebuilds the read models beside the live ones and swaps them in; the old projector then stands
// by instead of dropping them, the old API keeps serving wallet documents (from the streams) and
// answers lists with 503 until it is upgraded, and no role but a projector ever drops a schema.
import t from 'tap';
import { runProjector } from '../../projections/projector.ts';
import {
  LIVE_SCHEMA,
  READ_MODEL_VERSION,
  readModelVersion,
} from '../../projections/readModelSchema.ts';
import { pollUntil } from '../support/poll.ts';
import { startStack } from '../support/stack.ts';

t.test(
  'a newer projector takes over the read models; old roles neither drop nor break them',
  async (t) => {
    const stack = await startStack(t, { projector: false });
    const { http, db } = stack;
    const logs = new Map<number, string[]>();
    const projector = (version: number) => {
      const log: string[] = [];
      logs.set(version, log);
      const controller = new AbortController();
      const running = runProjector({
        store: stack.store,
        pool: db.pool,
        signal: controller.signal,
        version,
        standbyPollMs: 100,
        log: (message) => log.push(message),
      });
      t.teardown(async () => {
        controller.abort();
        await running;
      });
    };
    const layoutLive = (version: number) =>
      pollUntil(`read model layout ${version} to be live`, async () =>
        (await readModelVersion(db.pool)) === version ? true : undefined,
      );
    const OLD = READ_MODEL_VERSION;
    const NEW = READ_MODEL_VERSION + 1;
    projector(OLD);
    // Lists answer 503 until the projector has created the read models.
    await layoutLive(OLD);
    const wallet = (await http('POST', '/api/wallets/', {})).body.uuid as string;
    await http('PATCH', `/api/wallets/${wallet}/deposit/`, { amount: '5.00' });
    t.equal((await http('GET', `/api/wallets/${wallet}/transactions/`)).status, 200);

    projector(NEW); // beside the old one
    await layoutLive(NEW);
    t.match(logs.get(NEW), [
      `read model layout ${OLD} is older than ${NEW}: rebuilding it from the events`,
    ]);

    const document = await http('GET', `/api/wallets/${wallet}/`);
    t.equal(document.status, 200, 'the old API still serves wallet documents (from the streams)');
    t.equal(document.body.balance, '5.00');
    const list = await pollUntil('the old API notices the newer layout', async () => {
      const response = await http('GET', `/api/wallets/${wallet}/transactions/`);
      return response.status === 503 ? response : undefined;
    });
    t.equal(list.headers['retry-after'], '1', 'and answers lists with 503 until it is upgraded');
    t.match(list.body.detail, /rebuilt for a new version/);

    // Writes go on: the old projector refuses to write into the newer layout and stands by; the new
    // one projects them.
    await http('PATCH', `/api/wallets/${wallet}/deposit/`, { amount: '2.00' });
    await pollUntil('the new projector projected the deposit', async () => {
      const { rows } = await db.pool.query(
        `select balance::text from ${LIVE_SCHEMA}.wallets where wallet_id = $1`,
        [wallet],
      );
      return rows[0]?.balance === '700' ? true : undefined;
    });
    t.match(
      logs.get(OLD)?.join('\n'),
      new RegExp(`layout ${NEW}, newer than this instance's ${OLD}`),
    );
    t.ok(logs.get(NEW)?.includes('projector active'));
    t.equal(await readModelVersion(db.pool), NEW, 'the old projector did not drop or recreate it');
    const { rows } = await db.pool.query(
      `select count(*)::int as n from ${LIVE_SCHEMA}.transactions`,
    );
    t.equal(rows[0]?.n, 2, 'every row is there');
  },
);

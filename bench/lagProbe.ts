// The lag probe, a process of its own so that nothing else runs on its event loop: it LISTENs on
// the projector's channel (the projector NOTIFYs with the batch's commit position when a batch
// commits) and prints `notify <wall-clock ms> <commit>` for each one. Usage:
// DATABASE_URL=... node --import tsx bench/lagProbe.ts
import pg from 'pg';
import { PROJECTION_CHANNEL } from '../projections/projector.ts';

const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
await client.connect();
client.on('notification', (message) => {
  const now = performance.timeOrigin + performance.now();
  process.stdout.write(`notify ${now.toFixed(3)} ${message.payload}\n`);
});
await client.query(`listen ${PROJECTION_CHANNEL}`);
console.log('lag probe listening');

const stop = () => client.end().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

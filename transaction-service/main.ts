// The transaction service as its own process: `node --import tsx transaction-service/main.ts`.
// Environment:
//   TRANSACTION_SERVICE_PORT          default 8010 (0: any free port, printed when ready)
//   TRANSACTION_SERVICE_HOST          default 127.0.0.1 (0.0.0.0 in a container)
//   TRANSACTION_SERVICE_LATENCY_MS    default 1000
//   TRANSACTION_SERVICE_FAILURE_RATE  default 0.1 (share of "failed" answers, 0..1)
//   TRANSACTION_SERVICE_FAULTS        JSON array of fault rules active from the start (faults.ts)
//   TRANSACTION_SERVICE_DATABASE_URL  PostgreSQL for its books (the database is created if
//                                     missing); unset: books in memory, forgotten on restart
//   LOG_LEVEL                         default warn
// Prints one line `transaction-service listening at <url> (books in <where>)` when ready; SIGTERM
// or SIGINT closes the server and the process exits with 0. Bad configuration or unreachable
// books: a message and exit code 1.
import { buildTransactionService } from './app.ts';
import { type Bank, createMemoryBank } from './bank.ts';
import { assertFaultSettings, type FaultRule } from './faults.ts';
import { openPostgresBank } from './postgresBank/index.ts';

function readNumber(name: string, fallback: number): number {
  const text = process.env[name]?.trim();
  if (!text) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value)) throw new Error(`${name} must be a number, got "${text}"`);
  return value;
}

function readRules(name: string): FaultRule[] {
  const text = process.env[name]?.trim();
  if (!text) return [];
  try {
    return JSON.parse(text) as FaultRule[]; // validated by buildTransactionService
  } catch {
    throw new Error(`${name} must be a JSON array of fault rules`);
  }
}

async function openBank(): Promise<Bank> {
  const url = process.env.TRANSACTION_SERVICE_DATABASE_URL?.trim();
  if (!url) return createMemoryBank();
  try {
    return await openPostgresBank(url);
  } catch (error) {
    throw new Error(`cannot open its books in PostgreSQL: ${(error as Error).message}`);
  }
}

let app: ReturnType<typeof buildTransactionService>;
let bank: Bank;
let port: number;
try {
  port = readNumber('TRANSACTION_SERVICE_PORT', 8010);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`TRANSACTION_SERVICE_PORT must be a port number, got ${port}`);
  }
  const faults = {
    latencyMs: readNumber('TRANSACTION_SERVICE_LATENCY_MS', 1000),
    failureRate: readNumber('TRANSACTION_SERVICE_FAILURE_RATE', 0.1),
    rules: readRules('TRANSACTION_SERVICE_FAULTS'),
  };
  assertFaultSettings(faults); // bad settings fail before a database is touched
  bank = await openBank();
  app = buildTransactionService({
    ...faults,
    bank,
    logger: { level: process.env.LOG_LEVEL ?? 'warn' },
  });
} catch (error) {
  console.error(`transaction-service: ${(error as Error).message}`);
  process.exit(1);
}

let stopping = false;
function stopOnSignal(): void {
  if (stopping) process.exit(1); // a second signal: stop waiting
  stopping = true;
  app.close().then(
    // Exit outright: an IPC channel to a parent would otherwise keep the process alive.
    () => process.exit(0),
    (error: unknown) => {
      console.error('transaction-service: close failed', error);
      process.exit(1);
    },
  );
}
process.on('SIGTERM', stopOnSignal);
process.on('SIGINT', stopOnSignal);
// Started by `npm start` (with an IPC channel): stop with the parent, however it ended.
if (process.send) process.on('disconnect', stopOnSignal);

try {
  const url = await app.listen({ port, host: process.env.TRANSACTION_SERVICE_HOST ?? '127.0.0.1' });
  console.log(`transaction-service listening at ${url} (books in ${bank.keptIn})`);
} catch (error) {
  console.error(`transaction-service: cannot listen: ${(error as Error).message}`);
  process.exit(1);
}

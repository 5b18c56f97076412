// Scheduled withdrawals end to end on the PostgreSQL event store (the default). The suites are in
// withdrawalsSuite.ts; test/esdb/withdrawals.e2e.test.ts runs them on the EventStoreDB adapter.
import t from 'tap';
import { POSTGRES_TARGET } from '../support/stack.ts';
import { withdrawalSuites } from './withdrawalsSuite.ts';

withdrawalSuites(t, POSTGRES_TARGET);

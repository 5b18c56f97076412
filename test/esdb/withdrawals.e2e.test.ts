// Scheduled withdrawals end to end on the EventStoreDB adapter: the very suites the PostgreSQL
// event store runs (test/scheduler/withdrawalsSuite.ts), on stacks whose event store is opened from
// EVENTSTORE_URL, pointing at the in-process EventStoreDB stand-in (a test fixture); read models
// and the scheduler's to-do list in PostgreSQL.
import t from 'tap';
import { withdrawalSuites } from '../scheduler/withdrawalsSuite.ts';
import { ESDB_STAND_IN_TARGET } from '../support/stack.ts';

withdrawalSuites(t, ESDB_STAND_IN_TARGET);

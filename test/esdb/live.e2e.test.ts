// Live updates on the EventStoreDB adapter (the in-process stand-in): the suite the PostgreSQL
// event store runs (test/live/liveSuite.ts).
import t from 'tap';
import { liveSuites } from '../live/liveSuite.ts';
import { ESDB_STAND_IN_TARGET } from '../support/stack.ts';

liveSuites(t, ESDB_STAND_IN_TARGET);

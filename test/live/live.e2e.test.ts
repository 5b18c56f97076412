// Live updates on the PostgreSQL event store (the default); test/esdb/live.e2e.test.ts runs the
// same suite on the EventStoreDB adapter.
import t from 'tap';
import { POSTGRES_TARGET } from '../support/stack.ts';
import { liveSuites } from './liveSuite.ts';

liveSuites(t, POSTGRES_TARGET);

// Read your writes across API instances on the PostgreSQL event store; the EventStoreDB adapter
// runs the same suite in test/esdb/readYourWrites.e2e.test.ts.
import t from 'tap';
import { POSTGRES_TARGET } from '../support/stack.ts';
import { readYourWritesSuite } from './readYourWritesSuite.ts';

readYourWritesSuite(t, POSTGRES_TARGET);

// Read your writes across API instances on the EventStoreDB adapter (the stand-in, or a real
// server when EVENTSTORE_URL is set): the suite of test/api/readYourWritesSuite.ts.
import t from 'tap';
import { readYourWritesSuite } from '../api/readYourWritesSuite.ts';
import { ESDB_STAND_IN_TARGET } from '../support/stack.ts';

readYourWritesSuite(t, ESDB_STAND_IN_TARGET);

// The wallet API end to end on the PostgreSQL event store (the default). The suite itself is in
// walletApiSuite.ts; test/esdb/wallets.e2e.test.ts runs it on the EventStoreDB adapter.
import t from 'tap';
import { POSTGRES_TARGET } from '../support/stack.ts';
import { walletApiSuite } from './walletApiSuite.ts';

walletApiSuite(t, POSTGRES_TARGET);

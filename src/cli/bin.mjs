#!/usr/bin/env node
// The package's `wallet-ledger` command: the CLI, run through tsx like `npm run cli`.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');

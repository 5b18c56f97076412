// Live updates in the page: the API's Server-Sent Events, read with the browser's EventSource
// (which reconnects by itself, resuming after the last event id it saw).
import { useEffect, useRef, useState } from './vendor/hooks.js';

/**
 * Follows an event stream (`url`): calls `onEvent` with each event, and with null on every
 * (re)connection (what happened meanwhile is to be read again); says whether it is connected.
 */
export function useLiveEvents(url, onEvent) {
  const [state, setState] = useState('connecting');
  const handler = useRef(onEvent);
  handler.current = onEvent;
  useEffect(() => {
    const source = new EventSource(url);
    const listener = (event) => handler.current(JSON.parse(event.data));
    for (const type of EVENT_TYPES) source.addEventListener(type, listener);
    source.addEventListener('open', () => {
      setState('live');
      handler.current(null); // (re)connected: whatever happened meanwhile is read again
    });
    source.addEventListener('error', () =>
      setState(source.readyState === EventSource.CLOSED ? 'stopped' : 'connecting'),
    );
    source.addEventListener('end', (event) => {
      const { reason } = JSON.parse(event.data);
      if (reason === 'revoked') {
        source.close();
        setState('stopped');
      }
    });
    return () => source.close();
  }, [url]);
  return state;
}

const EVENT_TYPES = [
  'WalletCreated',
  'Deposited',
  'WithdrawalScheduled',
  'WithdrawalStarted',
  'WithdrawalPayoutRequested',
  'WithdrawalAttemptFailed',
  'WithdrawalSucceeded',
  'WithdrawalFailed',
  'WithdrawalAwaitingSettlement',
  'WithdrawalOutcomeConflict',
  'WithdrawalCancelled',
  'TransferReceived',
];

export const LIVE_TEXT = {
  connecting: 'Connecting to live updates…',
  live: 'Live: changes appear as they happen.',
  stopped: 'Live updates stopped; reload the page to resume.',
};

/** `fn`, called once for a burst of calls (a withdrawal's steps come in quick succession). */
export function useBurst(fn, ms = 50) {
  const timer = useRef(null);
  const latest = useRef(fn);
  latest.current = fn;
  useEffect(() => () => clearTimeout(timer.current), []);
  return useRef(() => {
    clearTimeout(timer.current);
    timer.current = setTimeout(() => void latest.current(), ms);
  }).current;
}

// What only an operator sees: every wallet's withdrawals (those waiting for a settle first), keys,
// the projector's and the scheduler's state, and refused requests.

import { api, formatTime, shortId } from './api.js';
import { LIVE_TEXT, useBurst, useLiveEvents } from './live.js';
import { CommandForm, html, Problem, Table } from './ui.js';
import { useCallback, useEffect, useState } from './vendor/hooks.js';

/** Loads `path` now and whenever `reload` is called. */
function useAnswer(path) {
  const [answer, setAnswer] = useState(null);
  const reload = useCallback(async () => setAnswer(await api('GET', path)), [path]);
  useEffect(() => {
    void reload();
  }, [reload]);
  return [answer, reload];
}

const STATUSES = ['PROCESSING', 'PENDING', 'SUCCESS', 'FAILED', 'CANCELLED'];

export function WithdrawalsPage() {
  const [status, setStatus] = useState('PROCESSING');
  const [answer, reload] = useAnswer(`/api/withdrawals/?status=${status}`);
  const [notice, setNotice] = useState(null);
  // Statuses from the commands' own answers (the wallet's stream): the list comes from the read
  // model, which may be a moment behind them.
  const [known, setKnown] = useState({});
  const live = useLiveEvents('/api/events', useBurst(reload, 200));
  const settle = async (w, verdict) => {
    const text = verdict === 'paid' ? 'paid' : 'not paid';
    if (!confirm(`Settle withdrawal ${shortId(w.uuid)} of ${w.amount} ${w.currency} as ${text}?`)) {
      return;
    }
    const result = await api(
      'POST',
      `/api/wallets/${w.wallet}/withdrawals/${w.uuid}/settle/`,
      { verdict },
      { idempotencyKey: crypto.randomUUID() },
    );
    const after = result.ok && result.body.outgoing_transactions.find((t) => t.uuid === w.uuid);
    if (after) setKnown((old) => ({ ...old, [w.uuid]: after.status }));
    setNotice(
      result.ok
        ? `Withdrawal ${shortId(w.uuid)} settled as ${text}.`
        : `Withdrawal ${shortId(w.uuid)} not settled: ${Object.values(result.body ?? {})
            .flat()
            .join(' ')}`,
    );
    await reload();
  };
  const rows = (answer?.ok ? answer.body.results : []).filter(
    (w) => (known[w.uuid] ?? w.status) === status,
  );
  return html`<h1 tabindex="-1">Withdrawals</h1>
    <p class=${`live live-${live}`} role="status">${LIVE_TEXT[live]}</p>
    <div class="field">
      <label for="withdrawal-status">Status</label>
      <select id="withdrawal-status" value=${status} onChange=${(e) => setStatus(e.currentTarget.value)}>
        ${STATUSES.map((s) => html`<option value=${s}>${s}</option>`)}
      </select>
    </div>
    <div role="status" class="notice">${notice}</div>
    ${answer && !answer.ok && html`<${Problem} answer=${answer} />`}
    <${Table}
      caption=${`${status} withdrawals; those waiting for an operator first`}
      head=${['Withdrawal', 'Wallet', 'Owner', 'Amount', 'Scheduled', 'Message', 'Actions']}
      empty=${answer?.ok && rows.length === 0 ? 'None.' : null}
    >
      ${rows.map(
        (w) => html`<tr key=${w.uuid}>
          <td>
            <code>${shortId(w.uuid)}</code>
            ${w.awaiting_settlement && html` <span class="badge">waits for an operator</span>`}
          </td>
          <td><a href=${`#/wallets/${w.wallet}`}><code>${shortId(w.wallet)}</code></a></td>
          <td>${w.owner ?? '—'}</td>
          <td class="amount">${w.amount} ${w.currency}</td>
          <td>${formatTime(w.scheduled_time)}</td>
          <td>${w.error_message}</td>
          <td class="actions">
            ${
              w.status === 'PROCESSING' &&
              html`<button type="button" onClick=${() => settle(w, 'paid')}>Settle as paid</button>
              <button type="button" onClick=${() => settle(w, 'not_paid')}>Settle as not paid</button>`
            }
          </td>
        </tr>`,
      )}
    <//>`;
}

export function KeysPage() {
  const [answer, reload] = useAnswer('/api/keys');
  const [made, setMade] = useState(null);
  const [notice, setNotice] = useState(null);
  const revoke = async (key) => {
    if (!confirm(`Revoke key ${key.name || shortId(key.id)}? Its holder loses access at once.`))
      return;
    const result = await api('DELETE', `/api/keys/${key.id}`);
    setNotice(
      result.ok ? `Key ${shortId(key.id)} revoked.` : `Not revoked (HTTP ${result.status}).`,
    );
    await reload();
  };
  const keys = answer?.ok ? answer.body.results : [];
  return html`<h1 tabindex="-1">Keys</h1>
    <${CommandForm}
      title="Make a key"
      button="Make key"
      fields=${[
        {
          name: 'owner',
          label: 'Owner',
          hint: 'The owner whose wallets the key moves; empty: an operator key.',
        },
        { name: 'name', label: 'Name (optional)' },
      ]}
      send=${(v) =>
        api(
          'POST',
          '/api/keys',
          v.owner
            ? { owner: v.owner, ...(v.name ? { name: v.name } : {}) }
            : { operator: true, ...(v.name ? { name: v.name } : {}) },
        )}
      onDone=${(key) => {
        setMade(key);
        void reload();
      }}
    >
      ${
        made &&
        html`<div class="made" role="status">
        <p>New key for ${made.owner ?? 'an operator'}; copy it now, it is not shown again:</p>
        <p><code class="secret">${made.key}</code></p>
      </div>`
      }
    <//>
    <div role="status" class="notice">${notice}</div>
    <${Table} caption="Keys" head=${['Name', 'Kind', 'Owner', 'Scopes', 'Created', 'Last used', 'State']}>
      ${keys.map(
        (k) => html`<tr key=${k.id}>
          <td>${k.name || html`<code>${shortId(k.id)}</code>`}</td>
          <td>${k.kind}</td>
          <td>${k.owner ?? '—'}</td>
          <td>${k.scopes.join(', ')}</td>
          <td>${formatTime(k.created)}</td>
          <td>${formatTime(k.last_used)}</td>
          <td>
            ${
              k.revoked
                ? `revoked ${formatTime(k.revoked)}`
                : html`<button type="button" aria-label=${`Revoke key ${k.name || shortId(k.id)}`} onClick=${() => revoke(k)}>
                  Revoke
                </button>`
            }
          </td>
        </tr>`,
      )}
    <//>`;
}

export function StatusPage() {
  const [answer, reload] = useAnswer('/api/status');
  if (!answer) return html`<h1 tabindex="-1">Status</h1><p>Loading…</p>`;
  if (!answer.ok) return html`<h1 tabindex="-1">Status</h1><${Problem} answer=${answer} />`;
  const { projection, scheduler } = answer.body;
  return html`<h1 tabindex="-1">Status</h1>
    <dl class="card stats">
      <dt>Projector checkpoint: newest event applied</dt>
      <dd>${formatTime(projection.last_event_recorded_at) || 'none yet'}</dd>
      <dt>Projector lag (age of that event when applied)</dt>
      <dd>${projection.lag_ms === null ? '—' : `${projection.lag_ms} ms`}</dd>
      <dt>Last projector batch</dt>
      <dd>${formatTime(projection.last_batch_at) || '—'}</dd>
      <dt>Scheduler backlog (withdrawals due now)</dt>
      <dd>${scheduler.backlog ?? 'no scheduler has run'}</dd>
      <dt>Next withdrawal due</dt>
      <dd>${formatTime(scheduler.next_due_at) || '—'}</dd>
      <dt>Withdrawals waiting for an operator</dt>
      <dd>${scheduler.awaiting_settlement}</dd>
    </dl>
    <button type="button" onClick=${reload}>Refresh</button>`;
}

export function RefusedPage() {
  const [answer, reload] = useAnswer('/api/audit/access?limit=100');
  const rows = answer?.ok ? answer.body.results : [];
  return html`<h1 tabindex="-1">Refused requests</h1>
    ${answer && !answer.ok && html`<${Problem} answer=${answer} />`}
    <${Table}
      caption="Refused requests, newest first"
      head=${['Time', 'Status', 'Reason', 'Method', 'Path', 'Address', 'Key']}
      empty=${answer?.ok && rows.length === 0 ? 'No refused requests.' : null}
    >
      ${rows.map(
        (r) => html`<tr key=${r.id}>
          <td>${formatTime(r.at)}</td>
          <td>${r.status}</td>
          <td>${r.reason}</td>
          <td>${r.method}</td>
          <td><code>${r.path}</code></td>
          <td>${r.address}</td>
          <td>${r.key_id ? html`<code>${shortId(r.key_id)}</code>` : '—'}</td>
        </tr>`,
      )}
    <//>
    <button type="button" onClick=${reload}>Refresh</button>`;
}

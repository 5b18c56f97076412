// What an owner (and an operator) sees: the wallets, and one wallet with its balance, chart,
// transactions, forms and audit trail, following the wallet's event stream.

import { api, formatTime, shortId } from './api.js';
import { BalanceChart } from './chart.js';
import { LIVE_TEXT, useBurst, useLiveEvents } from './live.js';
import { CommandForm, Field, html, Problem, Table } from './ui.js';
import { useCallback, useEffect, useState } from './vendor/hooks.js';

const CURRENCIES = [
  ['', 'The service’s default'],
  ...['EUR', 'USD', 'GBP', 'CHF', 'JPY'].map((c) => [c, c]),
];

export function WalletsPage({ session, navigate }) {
  const operator = session.kind !== 'owner';
  const [search, setSearch] = useState('');
  const [answer, setAnswer] = useState(null);

  const load = useCallback(async () => {
    const query = new URLSearchParams();
    if (search.trim()) query.set('search', search.trim());
    setAnswer(await api('GET', `/api/wallets/?${query}`));
  }, [search]);
  useEffect(() => {
    void load();
  }, [load]);

  const wallets = answer?.ok ? answer.body.results : [];
  return html`<h1 tabindex="-1">Wallets</h1>
    ${
      operator &&
      html`<div class="field search">
      <label for="wallet-search">Search by wallet id or owner</label>
      <input
        id="wallet-search"
        type="search"
        value=${search}
        onInput=${(e) => setSearch(e.currentTarget.value)}
      />
    </div>`
    }
    ${answer && !answer.ok && html`<${Problem} answer=${answer} />`}
    <${Table}
      caption=${operator ? 'All wallets' : 'Your wallets'}
      head=${['Wallet', 'Owner', 'Balance', 'Currency', 'Created']}
      empty=${answer?.ok && wallets.length === 0 ? 'No wallets yet.' : null}
    >
      ${wallets.map(
        (w) => html`<tr key=${w.uuid}>
          <td><a href=${`#/wallets/${w.uuid}`}><code>${w.uuid}</code></a></td>
          <td>${w.owner ?? '—'}</td>
          <td class="amount">${w.balance}</td>
          <td>${w.currency}</td>
          <td>${formatTime(w.created)}</td>
        </tr>`,
      )}
    <//>
    <${CommandForm}
      title="New wallet"
      button="New wallet"
      fields=${[
        { name: 'currency', label: 'Currency', type: 'select', options: CURRENCIES },
        ...(operator ? [{ name: 'owner', label: 'Owner (optional)' }] : []),
      ]}
      send=${(values, idempotencyKey) =>
        api(
          'POST',
          '/api/wallets/',
          {
            ...(values.currency ? { currency: values.currency } : {}),
            ...(values.owner ? { owner: values.owner } : {}),
          },
          { idempotencyKey },
        )}
      onDone=${(wallet) => navigate(`#/wallets/${wallet.uuid}`)}
    />`;
}

/** The transaction list's filters, named as the query parameters they set. */
const TRANSACTION_FILTERS = [
  {
    name: 'kind',
    label: 'Kind',
    type: 'select',
    options: [
      ['', 'All kinds'],
      ['deposit', 'Deposits'],
      ['withdrawal', 'Withdrawals'],
      ['transfer_in', 'Transfers received'],
    ],
  },
  {
    name: 'status',
    label: 'Status',
    type: 'select',
    options: [
      ['', 'All statuses'],
      ...['PENDING', 'PROCESSING', 'SUCCESS', 'FAILED', 'CANCELLED'].map((s) => [s, s]),
    ],
  },
];

export function WalletPage({ id, session }) {
  const operator = session.kind !== 'owner';
  const [wallet, setWallet] = useState(null);
  const [history, setHistory] = useState(null);
  const [filter, setFilter] = useState({ kind: '', status: '' });
  const [pages, setPages] = useState(['']); // cursors of the pages seen; the last is shown
  const [transactions, setTransactions] = useState(null);
  const [notice, setNotice] = useState(null);

  const cursor = pages.at(-1);
  const load = useCallback(async () => {
    const query = new URLSearchParams({ limit: '10' });
    if (filter.kind) query.set('kind', filter.kind);
    if (filter.status) query.set('status', filter.status);
    if (cursor) query.set('cursor', cursor);
    const [w, h, t] = await Promise.all([
      api('GET', `/api/wallets/${id}/`),
      api('GET', `/api/wallets/${id}/history/?limit=1000`),
      api('GET', `/api/wallets/${id}/transactions/?${query}`),
    ]);
    setWallet(w);
    setHistory(h);
    setTransactions(t);
  }, [id, filter, cursor]);

  const reload = useBurst(load);
  useEffect(() => {
    void load();
  }, [load]);
  const live = useLiveEvents(`/api/wallets/${id}/events`, reload);

  if (!wallet) return html`<h1 tabindex="-1">Wallet</h1><p>Loading…</p>`;
  if (!wallet.ok) {
    return html`<h1 tabindex="-1">Wallet not found</h1>
      <p>There is no wallet <code>${id}</code> that you may see.</p>
      <p><a href="#/">Back to the wallets</a></p>`;
  }
  const w = wallet.body;
  const command = (method, path, body, idempotencyKey) =>
    api(method, `/api/wallets/${id}/${path}`, body, { idempotencyKey });
  const done = (message) => () => {
    setNotice(message);
    void load();
  };
  const act = async (label, method, path, body) => {
    const answer = await api(method, `/api/wallets/${id}/${path}`, body, {
      idempotencyKey: crypto.randomUUID(),
    });
    setNotice(answer.ok ? label.done : `${label.failed}: ${errorText(answer)}`);
    void load();
  };
  const settle = (t, verdict) => {
    const text = verdict === 'paid' ? 'paid' : 'not paid';
    if (!confirm(`Settle withdrawal ${shortId(t.uuid)} of ${t.amount} ${w.currency} as ${text}?`)) {
      return;
    }
    const label = { done: `Settled as ${text}.`, failed: 'Not settled' };
    void act(label, 'POST', `withdrawals/${t.uuid}/settle/`, { verdict });
  };

  const rows = transactions?.ok ? transactions.body.results : [];
  const events = history?.ok ? history.body.events : [];
  return html`<h1 tabindex="-1">Wallet <code>${shortId(w.uuid)}</code></h1>
    <p class="meta">
      <span>Id <code>${w.uuid}</code></span>
      <span>Owner ${w.owner ?? '—'}</span>
      <span>Created ${formatTime(w.created)}</span>
    </p>
    <section class="card balance" aria-labelledby="balance-title">
      <h2 id="balance-title">Balance</h2>
      <p class="big" data-testid="balance"><span>${w.balance}</span> ${w.currency}</p>
      <p class=${`live live-${live}`} role="status">${LIVE_TEXT[live]}</p>
      <${BalanceChart} events=${events} currency=${w.currency} />
    </section>
    <div role="status" class="notice">${notice}</div>
    <div class="forms">
      <${CommandForm}
        title="Deposit"
        button="Deposit"
        fields=${[{ name: 'amount', label: 'Amount', inputmode: 'decimal', required: true }]}
        send=${(v, key) => command('PATCH', 'deposit/', { amount: v.amount }, key)}
        onDone=${done('Deposited.')}
      />
      <${CommandForm}
        title="Withdraw"
        button="Schedule withdrawal"
        fields=${[
          { name: 'amount', label: 'Amount', inputmode: 'decimal', required: true },
          {
            name: 'delay',
            label: 'Delay (seconds)',
            inputmode: 'numeric',
            hint: 'Or give a scheduled time instead.',
          },
          { name: 'scheduled_time', label: 'Scheduled time', type: 'datetime-local' },
          {
            name: 'target',
            label: 'Target wallet (optional)',
            hint: 'A wallet id; empty: paid out to the owner.',
          },
        ]}
        send=${(v, key) => command('POST', 'withdraw/', withdrawBody(v), key)}
        onDone=${done('Withdrawal scheduled.')}
      />
    </div>
    <section aria-labelledby="transactions-title">
      <h2 id="transactions-title">Transactions</h2>
      <div class="filters">
        ${TRANSACTION_FILTERS.map(
          (field) => html`<${Field}
            key=${field.name}
            field=${field}
            value=${filter[field.name]}
            onInput=${(value) => {
              setFilter({ ...filter, [field.name]: value });
              setPages(['']);
            }}
          />`,
        )}
      </div>
      <${Table}
        caption="Transactions, newest first"
        head=${['Kind', 'Amount', 'Status', 'Scheduled', 'Counterparty', 'Message', 'Actions']}
        empty=${transactions?.ok && rows.length === 0 ? 'No transactions.' : null}
      >
        ${rows.map(
          (t) => html`<tr key=${t.uuid} data-transaction=${t.uuid}>
            <td>${KIND[t.kind] ?? t.kind}</td>
            <td class="amount">${t.amount}</td>
            <td><span class=${`status status-${t.status}`}>${t.status}</span></td>
            <td>${formatTime(t.scheduled_time)}</td>
            <td>${(t.target ?? t.source) ? html`<code>${shortId(t.target ?? t.source)}</code>` : ''}</td>
            <td>${t.error_message}</td>
            <td class="actions">
              ${
                t.kind === 'withdrawal' &&
                t.status === 'PENDING' &&
                html`<button
                type="button"
                aria-label=${`Cancel withdrawal ${shortId(t.uuid)}`}
                onClick=${() => act(CANCEL, 'POST', `withdrawals/${t.uuid}/cancel/`)}
              >
                Cancel
              </button>`
              }
              ${
                operator &&
                t.kind === 'withdrawal' &&
                t.status === 'PROCESSING' &&
                html`<button type="button" onClick=${() => settle(t, 'paid')}>Settle as paid</button>
                <button type="button" onClick=${() => settle(t, 'not_paid')}>
                  Settle as not paid
                </button>`
              }
            </td>
          </tr>`,
        )}
      <//>
      <nav class="pager" aria-label="Transaction pages">
        <button type="button" disabled=${pages.length === 1} onClick=${() => setPages(pages.slice(0, -1))}>
          Newer
        </button>
        <button
          type="button"
          disabled=${!transactions?.body?.next}
          onClick=${() => setPages([...pages, new URL(transactions.body.next).searchParams.get('cursor')])}
        >
          Older
        </button>
      </nav>
    </section>
    <section aria-labelledby="audit-title">
      <h2 id="audit-title">Audit trail</h2>
      <${Table}
        caption="Every event of the wallet, with the balance after it"
        head=${['Revision', 'Time', 'Event', 'Who', 'Data', 'Balance after']}
      >
        ${events
          .slice()
          .reverse()
          .map(
            (e) => html`<tr key=${e.revision}>
              <td>${e.revision}</td>
              <td>${formatTime(e.recorded_at)}</td>
              <td>${e.type}</td>
              <td>${actorText(e.metadata?.actor)}</td>
              <td class="data"><${EventData} data=${e.data} /></td>
              <td class="amount">${e.balance_after}</td>
            </tr>`,
          )}
      <//>
    </section>`;
}

const CANCEL = { done: 'Withdrawal cancelled.', failed: 'Not cancelled' };

const KIND = { deposit: 'Deposit', withdrawal: 'Withdrawal', transfer_in: 'Transfer received' };

function withdrawBody(values) {
  const body = { amount: values.amount };
  if (values.scheduled_time) body.scheduled_time = new Date(values.scheduled_time).toISOString();
  if (values.delay !== '') body.delay = values.delay;
  if (values.target) body.target = values.target.trim();
  return body;
}

/** An event's data: its telling fields in a line, the whole of it on demand. */
function EventData({ data }) {
  const brief = Object.entries(data ?? {})
    .filter(([name]) => !HIDDEN_FIELDS.has(name))
    .map(([name, value]) => {
      const text = typeof value === 'string' ? value : JSON.stringify(value);
      return `${name} ${text.length > 24 ? `${text.slice(0, 8)}…` : text}`;
    })
    .join(', ');
  return html`<details>
    <summary>${brief || 'data'}</summary>
    <pre>${JSON.stringify(data, null, 2)}</pre>
  </details>`;
}

/** Shown only in the full data: the time is in its own column, the hashes say little. */
const HIDDEN_FIELDS = new Set(['at', 'requestHash', 'idempotencyKey', 'walletId']);

function actorText(actor) {
  if (!actor) return '—';
  const who = actor.owner ?? actor.name ?? actor.instance ?? '';
  return who.startsWith(actor.type) || !who ? who || actor.type : `${actor.type} ${who}`;
}

function errorText(answer) {
  const body = answer.body ?? {};
  return Object.values(body).flat().join(' ') || `HTTP ${answer.status}`;
}

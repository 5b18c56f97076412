// The operator's Grafana dashboard and Prometheus alert rules (monitoring/) query only metrics that
// the roles' /metrics expose. Each role runs as a real process (api, projector, scheduler, notify,
// transaction-service) and is exercised; a metric found on any of them counts, since each role
// exposes its own (the projector's lag, the scheduler's lateness, ...).
import { readdir, readFile } from 'node:fs/promises';
import t from 'tap';
import { parse } from 'yaml';
import { findFreePort } from '../../src/infra/ports.ts';
import { pollUntil } from '../support/poll.ts';
import { startStack } from '../support/stack.ts';

const MONITORING = new URL('../../monitoring/', import.meta.url);

/** Series Prometheus makes itself rather than scrapes. */
const FROM_PROMETHEUS = new Set(['up']);
const PROMQL_WORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'inf',
  'nan',
]);

/** The metric names a PromQL query reads: functions, keywords, labels and ranges left out. */
export function metricNamesIn(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""') // label values
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // ranges
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ') // label lists
    .replace(/\$\w+/g, ' '); // Grafana variables
  const names = new Set<string>();
  // Not inside a number or a duration (1e3, 5m, offset 1h).
  for (const match of bare.matchAll(/(?<![\w.])[A-Za-z_:][\w:]*/g)) {
    const after = bare.slice((match.index ?? 0) + match[0].length).trimStart();
    if (after.startsWith('(') || PROMQL_WORDS.has(match[0].toLowerCase())) continue;
    names.add(match[0]);
  }
  return [...names];
}

/** Every series name a /metrics text may hold: each family of its `# TYPE` lines, expanded. */
function exposedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    if (!name || !type) continue;
    names.add(name);
    if (type === 'histogram')
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(name + suffix);
  }
  return names;
}

async function queriedMetrics(): Promise<Map<string, string>> {
  const where = new Map<string, string>();
  const dashboards = new URL('grafana/dashboards/', MONITORING);
  for (const file of await readdir(dashboards)) {
    const dashboard = JSON.parse(await readFile(new URL(file, dashboards), 'utf8'));
    for (const panel of dashboard.panels ?? []) {
      for (const target of panel.targets ?? []) {
        for (const name of metricNamesIn(target.expr)) where.set(name, `panel "${panel.title}"`);
      }
    }
  }
  const rules = new URL('prometheus/rules/', MONITORING);
  for (const file of await readdir(rules)) {
    const { groups } = parse(await readFile(new URL(file, rules), 'utf8'));
    for (const group of groups) {
      for (const rule of group.rules) {
        for (const name of metricNamesIn(rule.expr)) where.set(name, `alert ${rule.alert}`);
      }
    }
  }
  return where;
}

t.test('metricNamesIn reads the metric names of a PromQL query', async (t) => {
  t.same(
    metricNamesIn(
      'histogram_quantile(0.99, sum by (le, route) (rate(http_request_duration_seconds_bucket{job="api", route=~"/api/.*"}[$__rate_interval])))',
    ),
    ['http_request_duration_seconds_bucket'],
  );
  t.same(
    metricNamesIn(
      'sum by (job) (up{job=~"a|b"}) == 0 or absent(up{job="api"}) or max(projector_lag_seconds) > 5',
    ),
    ['up', 'projector_lag_seconds'],
  );
  t.same(
    metricNamesIn('sum(rate(a_total[5m])) / ignoring(code) group_left sum(b_total offset 1h)'),
    ['a_total', 'b_total'],
  );
});

t.test('every metric the dashboard and the alert rules query is exposed by a role', async (t) => {
  // Every role as its own process; the original's open API (this test is about metrics, not keys).
  const stack = await startStack(t, {
    env: { AUTH: 'off' },
    processes: {
      payouts: { TRANSACTION_SERVICE_LATENCY_MS: '0', TRANSACTION_SERVICE_FAILURE_RATE: '0' },
      opsPorts: true,
    },
  });
  const roles = stack.processes;
  // The notify role reads the webhook registrations the api creates: it comes up after it.
  const notifyPort = String(await findFreePort());
  await roles?.startRole('notify', { OPS_PORT: notifyPort });
  const urls = {
    project: roles?.opsUrls.projector,
    serve: stack.baseUrl,
    'transaction-service': roles?.transactionServiceUrl,
    schedule: roles?.opsUrls.scheduler,
    notify: `http://127.0.0.1:${notifyPort}`,
  };

  // One withdrawal through every role: commands, queries, a projected batch, a payout.
  const { http } = stack;
  const wallet = (await http('POST', '/api/wallets/', {})).body.uuid;
  t.equal(
    (await http('PATCH', `/api/wallets/${wallet}/deposit/`, { amount: '10.00' })).status,
    200,
  );
  t.equal(
    (await http('POST', `/api/wallets/${wallet}/withdraw/`, { amount: '4.00', delay: 1 })).status,
    201,
  );
  const status = await pollUntil(
    (last) => `the withdrawal to succeed (last status: ${last})`,
    async () =>
      (await http('GET', `/api/wallets/${wallet}/`)).body.outgoing_transactions?.[0]?.status,
    { until: (s) => s === 'SUCCESS' },
  );
  t.equal(status, 'SUCCESS', 'the withdrawal went through scheduler and transaction-service');

  const exposed = new Set<string>();
  for (const [role, url] of Object.entries(urls)) {
    const response = await fetch(`${url}/metrics`);
    t.equal(response.status, 200, `${role}: GET /metrics`);
    const text = await response.text();
    for (const name of exposedNames(text)) exposed.add(name);
    // Memory and event-loop delay per role: default metrics carry the process's role.
    t.match(text, new RegExp(`^process_resident_memory_bytes\\{role="${role}"\\} \\d`, 'm'));
    t.match(text, new RegExp(`^nodejs_eventloop_lag_p99_seconds\\{role="${role}"\\} `, 'm'));
  }

  const queried = await queriedMetrics();
  t.ok(queried.size >= 15, `the dashboard and rules query ${queried.size} metrics`);
  for (const [name, where] of queried) {
    if (FROM_PROMETHEUS.has(name)) continue;
    t.ok(exposed.has(name), `${name} (${where}) is exposed by a role`);
  }
});

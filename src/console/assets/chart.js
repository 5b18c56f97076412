// The balance over time as an SVG step line, drawn from the audit trail's balance after each
// event. Amounts are decimal strings; the chart only needs their magnitude, so Number is enough
// here (nothing is computed from it).
import { html } from './ui.js';

const W = 600;
const H = 160;
const PAD = 4;

export function BalanceChart({ events, currency }) {
  const points = events
    .filter((e) => e.balance_after !== null)
    .map((e) => ({
      t: Date.parse(e.recorded_at),
      v: Number(e.balance_after),
      text: e.balance_after,
    }));
  if (points.length === 0) return null;
  const now = Date.now();
  const t0 = points[0].t;
  const t1 = Math.max(now, t0 + 1);
  const max = Math.max(...points.map((p) => p.v), 1e-9);
  const x = (t) => PAD + ((t - t0) / (t1 - t0)) * (W - 2 * PAD);
  const y = (v) => H - PAD - (v / max) * (H - 2 * PAD);
  let path = `M${x(points[0].t).toFixed(1)},${y(points[0].v).toFixed(1)}`;
  for (const p of points.slice(1)) path += ` H${x(p.t).toFixed(1)} V${y(p.v).toFixed(1)}`;
  path += ` H${x(t1).toFixed(1)}`;
  const last = points.at(-1);
  const highest = points.reduce((a, b) => (b.v > a.v ? b : a));
  const label = `Balance over time: ${points.length} changes since ${new Date(t0).toLocaleString()}, highest ${highest.text} ${currency}, now ${last.text} ${currency}.`;
  return html`<figure class="chart">
    <svg viewBox=${`0 0 ${W} ${H}`} role="img" aria-label=${label} preserveAspectRatio="none">
      <line class="axis" x1=${PAD} y1=${H - PAD} x2=${W - PAD} y2=${H - PAD} />
      <path class="line" d=${path} />
    </svg>
    <figcaption>
      <span>${new Date(t0).toLocaleString()}</span>
      <span>highest ${highest.text} ${currency}</span>
      <span>now</span>
    </figcaption>
  </figure>`;
}

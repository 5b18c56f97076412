// Summarises a V8 CPU profile (from `npm run bench -- --cpu-prof`, or any node --cpu-prof): the
// frames with the most self time, and the most inclusive time by source file.
// Usage: node --import tsx bench/profile.ts <file.cpuprofile> [top=25] [--from=S] [--to=S]
// (--from/--to: only the samples taken between S seconds after the profile's start and S seconds,
// to compare the first and the last minutes of a soak.)
import { readFile } from 'node:fs/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

// Piped into `head`: stop quietly when the reader goes away.
process.stdout.on('error', () => process.exit(0));

const option = (name: string) => {
  const given = process.argv.find((a) => a.startsWith(`--${name}=`));
  return given === undefined ? undefined : Number(given.slice(name.length + 3)) * 1e6;
};
const [file, topText = '25'] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const fromUs = option('from') ?? 0;
const toUs = option('to') ?? Number.POSITIVE_INFINITY;
if (!file) {
  console.error('usage: node --import tsx bench/profile.ts <file.cpuprofile> [top]');
  process.exit(2);
}
const top = Number(topText);
const profile = JSON.parse(await readFile(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map<number, number>();
for (const node of profile.nodes)
  for (const child of node.children ?? []) parent.set(child, node.id);

const selfUs = new Map<number, number>();
let sampledAt = 0;
profile.samples.forEach((id, i) => {
  const delta = profile.timeDeltas[i] ?? 0;
  sampledAt += delta;
  if (sampledAt < fromUs || sampledAt > toUs) return;
  selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
});
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
const short = (url: string) =>
  url
    .replace(/^file:\/\//, '')
    .replace(/^.*\/node_modules\//, 'node_modules/')
    .replace(/^.*\/work\/main\//, '');
const label = (node: ProfileNode) =>
  `${node.callFrame.functionName || '(anonymous)'} ${short(node.callFrame.url)}:${node.callFrame.lineNumber + 1}`;

const self = new Map<string, number>();
for (const [id, us] of selfUs) {
  const node = byId.get(id) as ProfileNode;
  const key = node.callFrame.url ? label(node) : node.callFrame.functionName;
  self.set(key, (self.get(key) ?? 0) + us);
}
// Inclusive time per file: a sample counts once for every file on its stack.
const inclusive = new Map<string, number>();
for (const [id, us] of selfUs) {
  const files = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const url = byId.get(at)?.callFrame.url;
    if (url) files.add(short(url).replace(/^(node_modules\/(@[^/]+\/)?[^/]+)\/.*$/, '$1'));
  }
  for (const f of files) inclusive.set(f, (inclusive.get(f) ?? 0) + us);
}
const pct = (us: number) => `${((us / total) * 100).toFixed(1).padStart(5)} %`;
console.log(`${file}: ${(total / 1e6).toFixed(1)} s sampled`);
console.log(`\ntop ${top} frames by self time`);
for (const [key, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${pct(us)}  ${key}`);
}
console.log(`\ntop ${top} files / packages by inclusive time`);
for (const [key, us] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${pct(us)}  ${key}`);
}

// The stacks under which the top frame ran, by their nearest frames in the project or a package.
const [topKey] = [...self]
  .sort((a, b) => b[1] - a[1])
  .filter(([k]) => k !== '(idle)' && k !== '(program)');
if (topKey) {
  const stacks = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id) as ProfileNode;
    if ((node.callFrame.url ? label(node) : node.callFrame.functionName) !== topKey[0]) continue;
    const chain: string[] = [];
    for (let at = parent.get(id); at !== undefined && chain.length < 4; at = parent.get(at)) {
      const frame = byId.get(at) as ProfileNode;
      if (frame.callFrame.url && !frame.callFrame.url.startsWith('node:')) chain.push(label(frame));
    }
    const key = chain.join(' < ') || '(node internals only)';
    stacks.set(key, (stacks.get(key) ?? 0) + us);
  }
  console.log(`\nwhere "${topKey[0]}" was called from (nearest non-internal frames)`);
  for (const [key, us] of [...stacks].sort((a, b) => b[1] - a[1]).slice(0, 8)) {
    console.log(`${pct(us)}  ${key}`);
  }
}

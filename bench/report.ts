// Plain-text tables for the terminal (and the README's performance section).

export type Cell = string | number | undefined;

export const int = (n: number | undefined) =>
  n === undefined || Number.isNaN(n) ? '-' : Math.round(n).toLocaleString('en-US');
export const ms = (n: number | undefined) =>
  n === undefined || Number.isNaN(n) ? '-' : `${n < 10 ? n.toFixed(2) : n.toFixed(1)} ms`;
export const ratio = (n: number | undefined) =>
  n === undefined || Number.isNaN(n) ? '-' : n.toFixed(2);
export const mib = (kib: number | undefined) =>
  kib === undefined || Number.isNaN(kib) ? '-' : `${(kib / 1024).toFixed(0)} MiB`;

export function printTable(title: string, rows: Record<string, Cell>[]): void {
  console.log(`\n${title}`);
  if (rows.length === 0) {
    console.log('  (nothing measured)');
    return;
  }
  const columns = Object.keys(rows[0] as object);
  const text = (cell: Cell) => (cell === undefined ? '-' : String(cell));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => text(r[c]).length)));
  const line = (cells: string[]) =>
    `| ${cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number))).join(' | ')} |`;
  console.log(line(columns));
  console.log(`| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`);
  for (const row of rows) console.log(line(columns.map((c) => text(row[c]))));
}

// Plain-text tables for stdout.

export type Align = 'l' | 'r';

/** Formats rows under headers; numbers right-aligned by default, text left. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[], align?: readonly Align[]): string {
  const cols = headers.length;
  const width = headers.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const al = align ?? headers.map((_, c) => (rows.every((r) => /^[-+\d.]/.test(r[c] ?? '-')) ? 'r' : 'l'));
  const fmt = (cells: readonly string[]) =>
    cells
      .slice(0, cols)
      .map((s, c) => (al[c] === 'r' ? s.padStart(width[c]) : s.padEnd(width[c])))
      .join('  ')
      .trimEnd();
  return [fmt(headers), width.map((w) => '-'.repeat(w)).join('  '), ...rows.map((r) => fmt(r))].join('\n');
}

/** Fixed-point with `digits` decimals; '-' for missing/NaN. */
export function fix(x: number | null | undefined, digits = 1): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(digits);
}

/** Milliseconds with ~3 significant digits. */
export function ms(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '-';
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

/** A number in scientific notation, short ('1.2e-7'). */
export function sci(x: number | null | undefined): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toExponential(1);
}

// Plain-text tables and wrapped notes for the terminal: every printed line at most MAX_COLUMNS wide.

/** Widest line the benches print (tables are designed to fit; prose is wrapped). */
export const MAX_COLUMNS = 120;

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

/**
 * Wraps `text` at spaces to lines of at most `width` columns; the first line starts with `first`,
 * the others with `indent`. A single word longer than a line (a long path) gets a line of its own
 * rather than being cut. Existing newlines are kept.
 */
export function wrapText(text: string, width = MAX_COLUMNS, indent = '', first = ''): string {
  const out: string[] = [];
  let prefix = first;
  for (const para of text.split('\n')) {
    let line = prefix;
    let empty = true; // nothing but the prefix on `line` yet
    for (const w of para.split(' ')) {
      if (empty || line.length + 1 + w.length <= width) line += (empty ? '' : ' ') + w;
      else {
        out.push(line);
        line = indent + w;
      }
      empty = false;
    }
    out.push(line);
    prefix = indent;
  }
  return out.join('\n');
}

/** Notes as a bullet list: "- " then the note, wrapped, continuation lines indented by two. */
export function wrapNotes(notes: readonly string[], width = MAX_COLUMNS): string {
  return notes.map((n) => wrapText(n, width, '  ', '- ')).join('\n');
}

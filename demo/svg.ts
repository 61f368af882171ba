// Small, dependency-free SVG pictures for the demo report: an attention heatmap, a log-log chart,
// and the picture of tokens, blocks and global tokens. Every function returns a standalone <svg>
// string (no external fonts, styles or scripts).

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';
/** A white outline behind text drawn over lines. */
const HALO = 'stroke="#fff" stroke-width="4" paint-order="stroke" stroke-linejoin="round"';
const f = (x: number) => (Math.round(x * 10) / 10).toString();

/** Block colours (cycled): light fills with darker strokes. */
export const BLOCK_FILL = ['#dbeafe', '#fde68a', '#bbf7d0', '#fbcfe8', '#ddd6fe', '#fed7aa'];
export const BLOCK_STROKE = ['#2563eb', '#b45309', '#15803d', '#be185d', '#6d28d9', '#c2410c'];
export const blockFill = (b: number) => (b < 0 ? '#e5e7eb' : BLOCK_FILL[b % BLOCK_FILL.length]);
export const blockStroke = (b: number) => (b < 0 ? '#6b7280' : BLOCK_STROKE[b % BLOCK_STROKE.length]);

/** Weight in [0, 1] → a colour from light blue to dark blue (sqrt spreads the small weights); never white, which means "not computed". */
export function weightColor(w: number): string {
  const t = Math.sqrt(Math.min(1, Math.max(0, w)));
  const lo = [222, 235, 247], hi = [8, 48, 107];
  const c = lo.map((l, i) => Math.round(l + (hi[i] - l) * t));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

/**
 * Text width estimate (px) for a label at the given font size: 0.62 em a character, a little more
 * than the average of sans-serif fonts, so that boxes sized by it are not too small.
 */
export const textWidth = (s: string, size: number) => s.length * size * 0.62;

export interface HeatmapSpec {
  title: string;
  subtitle?: string;
  /** One label per row (query). */
  rows: readonly string[];
  /** One label per column (key). */
  cols: readonly string[];
  /** Names of rows / columns in tooltips (default: the labels), e.g. `the#6` for a repeated word. */
  rowNames?: readonly string[];
  colNames?: readonly string[];
  /** Row-major rows.length × cols.length weights. */
  values: Float32Array;
  /** Whether row i attends to column c at all (cells it does not are drawn as "not computed"). */
  attends: (i: number, c: number) => boolean;
  /** Block of each row / column (label colours); -1 or undefined for none. */
  rowBlock?: (i: number) => number;
  colBlock?: (c: number) => number;
  /** Columns from this index on are global tokens (a separator line is drawn before it). */
  globalFrom?: number;
  /** Cell size in px (default: 18, smaller for many columns so that the map stays about 900 px wide). */
  cell?: number;
}

/** Cell size of a heatmap with `cols` columns: 18 px, down to 8 px so that wide maps stay ~900 px. */
export const heatmapCell = (cols: number) => Math.max(8, Math.min(18, Math.floor(900 / Math.max(cols, 1))));

/** An attention map: rows = queries, columns = keys; a cell's colour is the softmax weight. */
export function heatmap(s: HeatmapSpec): string {
  const cell = s.cell ?? heatmapCell(s.cols.length);
  const R = s.rows.length, C = s.cols.length;
  const fs = Math.min(11, cell - 1);
  const axis = 18; // room for the rotated "query" title
  const left = axis + Math.ceil(Math.max(...s.rows.map((r) => textWidth(r, fs)), 20)) + 10;
  const top = Math.ceil(Math.max(...s.cols.map((c) => textWidth(c, fs)), 20) * 0.77) + 62;
  const titleW = Math.max(textWidth(s.title, 13), s.subtitle ? textWidth(s.subtitle, 11) : 0);
  const width = Math.ceil(Math.max(left + C * cell + 12, axis + titleW + 10)), height = top + R * cell + 12;
  const rowName = (i: number) => s.rowNames?.[i] ?? s.rows[i];
  const colName = (c: number) => s.colNames?.[c] ?? s.cols[c];
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} role="img" aria-label="${esc(s.title)}">`);
  out.push(`<rect width="100%" height="100%" fill="#fff"/>`);
  out.push(`<text x="${axis}" y="16" font-size="13" font-weight="600">${esc(s.title)}</text>`);
  if (s.subtitle) out.push(`<text x="${axis}" y="31" font-size="11" fill="#555">${esc(s.subtitle)}</text>`);
  // Axis titles: keys along the top, queries down the left side.
  const gridMidX = left + (C * cell) / 2, gridMidY = top + (R * cell) / 2;
  out.push(`<text class="axis-title" x="${f(gridMidX)}" y="50" font-size="12" font-weight="600" fill="#333" text-anchor="middle">key →</text>`);
  out.push(`<text class="axis-title" x="12" y="${f(gridMidY)}" font-size="12" font-weight="600" fill="#333" text-anchor="middle" transform="rotate(-90 12 ${f(gridMidY)})">← query</text>`);
  for (let c = 0; c < C; c++) {
    const x = left + c * cell + cell / 2 + 3, y = top - 5;
    const b = s.colBlock?.(c) ?? -1;
    out.push(`<text x="${f(x)}" y="${f(y)}" font-size="${fs}" transform="rotate(-50 ${f(x)} ${f(y)})" fill="${b >= 0 ? blockStroke(b) : '#111'}"${s.globalFrom !== undefined && c >= s.globalFrom ? ' font-weight="700"' : ''}>${esc(s.cols[c])}</text>`);
  }
  for (let i = 0; i < R; i++) {
    const b = s.rowBlock?.(i) ?? -1;
    out.push(`<text x="${left - 5}" y="${f(top + i * cell + cell * 0.7)}" font-size="${fs}" text-anchor="end" fill="${b >= 0 ? blockStroke(b) : '#111'}">${esc(s.rows[i])}</text>`);
  }
  const dot = Math.max(0.8, cell / 15);
  for (let i = 0; i < R; i++)
    for (let c = 0; c < C; c++) {
      const x = left + c * cell, y = top + i * cell;
      if (!s.attends(i, c)) {
        out.push(`<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="#fff" stroke="#eee" stroke-width="1"><title>${esc(`${rowName(i)} → ${colName(c)}: not computed`)}</title></rect>`);
        out.push(`<circle cx="${x + cell / 2}" cy="${y + cell / 2}" r="${f(dot)}" fill="#c8c8c8"/>`);
        continue;
      }
      const w = s.values[i * C + c];
      out.push(`<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${weightColor(w)}" stroke="#fff" stroke-width="1"><title>${esc(`${rowName(i)} → ${colName(c)}: ${w.toFixed(3)}`)}</title></rect>`);
    }
  if (s.globalFrom !== undefined && s.globalFrom < C) {
    const x = left + s.globalFrom * cell;
    out.push(`<line x1="${x}" y1="${top - 2}" x2="${x}" y2="${top + R * cell + 2}" stroke="#111" stroke-width="2"/>`);
  }
  out.push(`<rect x="${left}" y="${top}" width="${C * cell}" height="${R * cell}" fill="none" stroke="#999"/>`);
  out.push('</svg>');
  return out.join('\n');
}

/** Text of the heatmap legend's "not computed" entry. */
export const NOT_COMPUTED_TEXT = 'not computed (the query never looks at this key)';

/** The colour legend of the heatmaps; its width follows its text, so nothing is clipped. */
export function heatmapLegend(): string {
  const w = 200, parts: string[] = [];
  const textX = w + 48;
  const width = Math.ceil(textX + textWidth(NOT_COMPUTED_TEXT, 11) + 10);
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="36" viewBox="0 0 ${width} 36" ${FONT} role="img" aria-label="legend">`);
  for (let i = 0; i < 50; i++) parts.push(`<rect x="${10 + (i * w) / 50}" y="4" width="${f(w / 50 + 0.5)}" height="12" fill="${weightColor(i / 49)}"/>`);
  parts.push(`<text x="10" y="30" font-size="11">0</text><text x="${10 + w / 4}" y="30" font-size="11" text-anchor="middle">0.25</text><text x="${10 + w}" y="30" font-size="11" text-anchor="end">1 (weight)</text>`);
  parts.push(`<rect x="${w + 30}" y="4" width="12" height="12" fill="#fff" stroke="#ccc"/><circle cx="${w + 36}" cy="10" r="1.2" fill="#c8c8c8"/><text x="${textX}" y="14" font-size="11">${esc(NOT_COMPUTED_TEXT)}</text>`);
  parts.push('</svg>');
  return parts.join('\n');
}

export interface ChartPoint {
  x: number;
  y: number;
  /** false: drawn hollow with a dashed line (a prediction). */
  measured: boolean;
}

export interface ChartSeries {
  name: string;
  color: string;
  points: ChartPoint[];
}

export interface LogLogSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: ChartSeries[];
  /** x ticks (default: each distinct x). */
  xTicks?: number[];
  width?: number;
  height?: number;
  /** Formats a y tick value. */
  yFormat?: (y: number) => string;
}

/** A log-log line chart; measured points filled, predicted points hollow on dashed segments. */
export function logLogChart(s: LogLogSpec): string {
  const W = s.width ?? 460, H = s.height ?? 320;
  const m = { l: 64, r: 14, t: 34, b: 46 };
  const pts = s.series.flatMap((x) => x.points).filter((p) => p.x > 0 && p.y > 0 && Number.isFinite(p.y));
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ${FONT} role="img" aria-label="${esc(s.title)}">`);
  out.push(`<rect width="100%" height="100%" fill="#fff"/>`);
  out.push(`<text x="${m.l}" y="18" font-size="13" font-weight="600">${esc(s.title)}</text>`);
  if (pts.length === 0) {
    out.push(`<text x="${m.l}" y="${H / 2}" font-size="12">no data</text></svg>`);
    return out.join('\n');
  }
  const lx = pts.map((p) => Math.log10(p.x)), ly = pts.map((p) => Math.log10(p.y));
  let x0 = Math.min(...lx), x1 = Math.max(...lx);
  if (x1 - x0 < 1e-9) {
    x0 -= 0.5;
    x1 += 0.5;
  }
  const padX = (x1 - x0) * 0.05;
  x0 -= padX;
  x1 += padX;
  const y0 = Math.floor(Math.min(...ly));
  let y1 = Math.ceil(Math.max(...ly));
  if (y1 === y0) y1 = y0 + 1;
  const X = (x: number) => m.l + ((Math.log10(x) - x0) / (x1 - x0)) * (W - m.l - m.r);
  const Y = (y: number) => H - m.b - ((Math.log10(y) - y0) / (y1 - y0)) * (H - m.t - m.b);
  const yfmt = s.yFormat ?? ((y: number) => (y >= 1e6 || y < 1e-3 ? y.toExponential(0) : String(Number(y.toPrecision(3)))));
  // Grid: decades (with 2 and 5 as minor lines).
  for (let d = y0; d <= y1; d++) {
    const v = 10 ** d;
    out.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${f(Y(v))}" y2="${f(Y(v))}" stroke="#ddd"/>`);
    out.push(`<text x="${m.l - 6}" y="${f(Y(v) + 4)}" font-size="11" text-anchor="end">${esc(yfmt(v))}</text>`);
    if (d < y1) for (const k of [2, 5]) out.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${f(Y(k * v))}" y2="${f(Y(k * v))}" stroke="#f0f0f0"/>`);
  }
  const xt = s.xTicks ?? [...new Set(pts.map((p) => p.x))].sort((a, b) => a - b);
  for (const x of xt) {
    out.push(`<line x1="${f(X(x))}" x2="${f(X(x))}" y1="${m.t}" y2="${H - m.b}" stroke="#eee"/>`);
    out.push(`<text x="${f(X(x))}" y="${H - m.b + 15}" font-size="11" text-anchor="middle">${x}</text>`);
  }
  out.push(`<rect x="${m.l}" y="${m.t}" width="${W - m.l - m.r}" height="${H - m.t - m.b}" fill="none" stroke="#999"/>`);
  out.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 8}" font-size="12" text-anchor="middle">${esc(s.xLabel)}</text>`);
  out.push(`<text x="14" y="${(m.t + H - m.b) / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 14 ${(m.t + H - m.b) / 2})">${esc(s.yLabel)}</text>`);
  s.series.forEach((ser, si) => {
    const p = ser.points.filter((q) => q.x > 0 && q.y > 0 && Number.isFinite(q.y));
    for (let i = 1; i < p.length; i++) {
      const dash = p[i - 1].measured && p[i].measured ? '' : ' stroke-dasharray="5 4"';
      out.push(`<line x1="${f(X(p[i - 1].x))}" y1="${f(Y(p[i - 1].y))}" x2="${f(X(p[i].x))}" y2="${f(Y(p[i].y))}" stroke="${ser.color}" stroke-width="2"${dash}/>`);
    }
    for (const q of p)
      out.push(`<circle cx="${f(X(q.x))}" cy="${f(Y(q.y))}" r="4" fill="${q.measured ? ser.color : '#fff'}" stroke="${ser.color}" stroke-width="2"><title>${esc(`${ser.name}, N=${q.x}: ${yfmt(q.y)}${q.measured ? '' : ' (predicted)'}`)}</title></circle>`);
    const ly2 = m.t + 14 + si * 16;
    out.push(`<line x1="${m.l + 10}" x2="${m.l + 30}" y1="${ly2}" y2="${ly2}" stroke="${ser.color}" stroke-width="2"/><text x="${m.l + 36}" y="${ly2 + 4}" font-size="11">${esc(ser.name)}</text>`);
  });
  if (pts.length > 0 && s.series.some((x) => x.points.some((p) => !p.measured))) {
    const ly2 = m.t + 14 + s.series.length * 16;
    out.push(`<circle cx="${m.l + 20}" cy="${ly2}" r="4" fill="#fff" stroke="#555" stroke-width="2"/><text x="${m.l + 36}" y="${ly2 + 4}" font-size="11">predicted (FLOP model), not measured</text>`);
  }
  out.push('</svg>');
  return out.join('\n');
}

export interface BlocksSpec {
  tokens: readonly string[];
  blockIds: Int32Array;
  radius: number;
  /** The query whose connections are drawn (default: the middle token). */
  query?: number;
  title?: string;
  /** Width (px) the picture wraps at: tokens continue on a new row, preferably at a block boundary (default 1300). */
  maxWidth?: number;
}

/** Where blocksPicture puts each token: row (line) and x; exported for the tests. */
export interface BlocksLayout {
  widths: number[];
  xs: number[];
  rows: number[];
  /** The widest row's right edge plus margin, px. */
  width: number;
  rowCount: number;
}

const BLOCKS_FONT = 12;

/**
 * Lays tokens out left to right, wrapping at `maxWidth`: a new row starts at a block boundary when
 * the next block does not fit, or mid-block when one block alone is wider than a row.
 */
export function blocksLayout(tokens: readonly string[], blockIds: Int32Array, maxWidth = 1300): BlocksLayout {
  const N = tokens.length, gap = 4, blockGap = 12, x0 = 20, right = maxWidth - 16;
  const widths = tokens.map((t) => Math.max(30, textWidth(t, BLOCKS_FONT) + 12));
  const xs: number[] = [], rows: number[] = [];
  let x = x0, row = 0, end = 0;
  for (let i = 0; i < N; i++) {
    const startsBlock = i > 0 && blockIds[i] !== blockIds[i - 1];
    if (startsBlock) x += blockGap;
    if (x > x0) {
      // The rest of this token's block (from i): does it fit on this row?
      let j = i, w = 0;
      while (j < N && blockIds[j] === blockIds[i]) w += widths[j++] + gap;
      const blockFits = x + w - gap <= right;
      const tokenFits = x + widths[i] <= right;
      if ((startsBlock && !blockFits && w - gap <= right - x0) || !tokenFits) {
        row++;
        x = x0;
      }
    }
    xs.push(x);
    rows.push(row);
    x += widths[i] + gap;
    end = Math.max(end, x - gap);
  }
  return { widths, xs, rows, width: Math.max(end + 16, 640), rowCount: N ? row + 1 : 1 };
}

/**
 * Tokens coloured by global block, each block's global token (the sum of the block) below it, and
 * for one query token its local window (±r) and its links to the global tokens. Long texts wrap
 * onto several rows (a block split over two rows gets a bracket on each, its global token under the
 * larger part).
 */
export function blocksPicture(s: BlocksSpec): string {
  const N = s.tokens.length;
  const G = Math.max(-1, ...Array.from(s.blockIds)) + 1;
  const q = Math.min(Math.max(s.query ?? Math.floor(N / 2), 0), Math.max(N - 1, 0));
  const fs = BLOCKS_FONT, boxH = 24;
  const { widths, xs, rows, width: layoutW, rowCount } = blocksLayout(s.tokens, s.blockIds, s.maxWidth);
  const top = s.title ? 34 : 8;
  // One band per row of tokens: window label, tokens, indices, brackets, global tokens.
  const bandH = 22 + boxH + 12 + 6 + 62 + boxH + 18;
  const yTokOf = (row: number) => top + 22 + row * bandH;
  const yIdxOf = (row: number) => yTokOf(row) + boxH + 12;
  const yBrOf = (row: number) => yIdxOf(row) + 6;
  const yGOf = (row: number) => yBrOf(row) + 62;
  const H = top + rowCount * bandH + 40;
  const lo = Math.max(0, q - s.radius), hi = Math.min(N - 1, q + s.radius);
  // Each block's members by row; its global token goes under its largest part.
  const parts: { row: number; members: number[] }[][] = [];
  for (let b = 0; b < G; b++) {
    const byRow = new Map<number, number[]>();
    for (let i = 0; i < N; i++) if (s.blockIds[i] === b) (byRow.get(rows[i]) ?? byRow.set(rows[i], []).get(rows[i])!).push(i);
    parts.push([...byRow.entries()].map(([row, members]) => ({ row, members })));
  }
  const home = parts.map((ps) => ps.reduce((best, p) => (p.members.length > best.members.length ? p : best), ps[0]));
  const mid = (m: number[]) => (xs[m[0]] + xs[m[m.length - 1]] + widths[m[m.length - 1]]) / 2;
  const blockLabel = (b: number) => `block ${b}: Σ of ${parts[b].reduce((n, p) => n + p.members.length, 0)} tokens`;
  // Wide enough for the block labels right of their global token's stem, up to the wrapping width.
  const maxW = s.maxWidth ?? 1300;
  const W = Math.max(layoutW, Math.min(maxW, Math.max(...home.map((h, b) => (h ? mid(h.members) + 6 + textWidth(blockLabel(b), 11) + 10 : 0)))));
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${f(W)}" height="${H}" viewBox="0 0 ${f(W)} ${H}" ${FONT} role="img" aria-label="tokens, global blocks and global tokens">`);
  out.push(`<rect width="100%" height="100%" fill="#fff"/>`);
  if (s.title) out.push(`<text x="20" y="22" font-size="14" font-weight="600">${esc(s.title)}</text>`);
  // The query's links to the global tokens on its own row (drawn first, under the boxes).
  if (N > 0) {
    const qx = xs[q] + widths[q] / 2, r = rows[q];
    for (let b = 0; b < G; b++) {
      const h = home[b];
      if (!h || h.row !== r) continue;
      const g = mid(h.members), yG = yGOf(r);
      out.push(`<path d="M${f(qx)} ${yTokOf(r) + boxH} C ${f(qx)} ${yG - 20}, ${f(g)} ${yG - 40}, ${f(g)} ${yG}" fill="none" stroke="#dc2626" stroke-width="1.3" stroke-dasharray="4 3"/>`);
    }
  }
  // The query's local window: one dashed box per row it spans.
  if (N > 0) {
    for (let r = rows[lo]; r <= rows[hi]; r++) {
      const inRow = [...Array(hi - lo + 1).keys()].map((k) => lo + k).filter((i) => rows[i] === r);
      const a = inRow[0], z = inRow[inRow.length - 1];
      out.push(`<rect x="${f(xs[a] - 4)}" y="${yTokOf(r) - 5}" width="${f(xs[z] + widths[z] - xs[a] + 8)}" height="${boxH + 10}" rx="7" fill="none" stroke="#dc2626" stroke-width="2" stroke-dasharray="6 3"/>`);
    }
    // The label goes above the window's part on the query's row, moved left where it would run off the picture.
    const label = `local window of “${s.tokens[q]}”: tokens j with |i − j| ≤ ${s.radius}`;
    const first = Math.max(lo, ...[...Array(q - lo + 1).keys()].map((k) => lo + k).filter((i) => rows[i] !== rows[q]).map((i) => i + 1));
    const lx = Math.max(20, Math.min(xs[first] - 4, W - 10 - textWidth(label, 11)));
    out.push(`<text x="${f(lx)}" y="${yTokOf(rows[q]) - 10}" font-size="11" fill="#dc2626">${esc(label)}</text>`);
  }
  for (let i = 0; i < N; i++) {
    const b = s.blockIds[i], yTok = yTokOf(rows[i]);
    out.push(`<rect x="${f(xs[i])}" y="${yTok}" width="${f(widths[i])}" height="${boxH}" rx="4" fill="${blockFill(b)}" stroke="${i === q ? '#dc2626' : blockStroke(b)}" stroke-width="${i === q ? 2.5 : 1}"/>`);
    out.push(`<text x="${f(xs[i] + widths[i] / 2)}" y="${yTok + 16}" font-size="${fs}" text-anchor="middle">${esc(s.tokens[i])}</text>`);
    out.push(`<text x="${f(xs[i] + widths[i] / 2)}" y="${yIdxOf(rows[i])}" font-size="9" fill="#777" text-anchor="middle" ${HALO}>${i}</text>`);
  }
  // A block's label goes right of its stem when it ends before the next stem on the row (narrow blocks
  // go without; the line under the picture gives the block sizes).
  const labelFits = (b: number) => {
    const h = home[b];
    const next = home.findIndex((o, c) => c > b && o && o.row === h.row);
    const end = mid(h.members) + 6 + textWidth(blockLabel(b), 11);
    return next < 0 ? end + 10 <= W : end + 6 <= mid(home[next].members);
  };
  let unlabelled = false;
  // Brackets (one per row a block spans) and global tokens.
  for (let b = 0; b < G; b++) {
    if (parts[b].length === 0) continue;
    for (const p of parts[b]) {
      const m = p.members, yBr = yBrOf(p.row);
      out.push(`<path d="M${f(xs[m[0]])} ${yBr} V${yBr + 6} H${f(xs[m[m.length - 1]] + widths[m[m.length - 1]])} V${yBr}" fill="none" stroke="${blockStroke(b)}" stroke-width="1.5"/>`);
    }
    const h = home[b], x = mid(h.members), yBr = yBrOf(h.row), yG = yGOf(h.row);
    out.push(`<path d="M${f(x)} ${yBr + 6} V${yG}" fill="none" stroke="${blockStroke(b)}" stroke-width="2"/>`);
    if (labelFits(b)) {
      out.push(`<text x="${f(x + 6)}" y="${yBr + 26}" font-size="11" fill="${blockStroke(b)}" ${HALO}>${esc(blockLabel(b))}</text>`);
      out.push(`<text x="${f(x + 6)}" y="${yBr + 40}" font-size="11" fill="${blockStroke(b)}" ${HALO}>→ RMS norm</text>`);
    } else unlabelled = true;
    // As wide as the block's tokens (at most 46 px), so that neighbouring global tokens do not overlap.
    const m = h.members, gw = Math.max(30, Math.min(46, xs[m[m.length - 1]] + widths[m[m.length - 1]] - xs[m[0]]));
    out.push(`<rect x="${f(x - gw / 2)}" y="${yG}" width="${gw}" height="${boxH}" rx="12" fill="${blockFill(b)}" stroke="${blockStroke(b)}" stroke-width="2"/>`);
    out.push(`<text x="${f(x)}" y="${yG + 16}" font-size="${fs}" text-anchor="middle" font-weight="700">G${b}</text>`);
  }
  if (N > 0) {
    const local = hi - lo + 1;
    const others = rowCount > 1 && G > 0 ? ` (dashed red: its links to the global tokens on its own row; it sees all ${G})` : '';
    out.push(`<text x="20" y="${H - 26}" font-size="12" fill="#111">“${esc(s.tokens[q])}” scores ${local} local tokens + ${G} global tokens = ${local + G} keys instead of all ${N}${others}.</text>`);
    out.push(`<text x="20" y="${H - 9}" font-size="12" fill="#555">${G > 0 ? `Block sizes: ${runs(blockSizes(s.blockIds, G))} tokens (a short last block merges into the one before)${unlabelled ? '; each global token is the RMS-normed sum of its block' : ''}. ` : ''}Global tokens: G = ⌊N / g⌋ = ${G}.</text>`);
  }
  out.push('</svg>');
  return out.join('\n');
}

function blockSizes(ids: Int32Array, G: number): number[] {
  const n = new Array(G).fill(0);
  for (const b of ids) if (b >= 0) n[b]++;
  return n;
}

/** [5, 5, 5, 6] → "5, 5, 5, 6"; long lists as runs: [5 ×19, 6] → "5 (×19), 6". */
function runs(xs: number[]): string {
  if (xs.length <= 8) return xs.join(', ');
  const parts: string[] = [];
  for (let i = 0; i < xs.length; ) {
    let j = i;
    while (j < xs.length && xs[j] === xs[i]) j++;
    parts.push(j - i > 1 ? `${xs[i]} (×${j - i})` : String(xs[i]));
    i = j;
  }
  return parts.join(', ');
}

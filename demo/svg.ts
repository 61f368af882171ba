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

/** Text width estimate (px) for a label at the given font size. */
const textWidth = (s: string, size: number) => s.length * size * 0.58;

export interface HeatmapSpec {
  title: string;
  subtitle?: string;
  /** One label per row (query). */
  rows: readonly string[];
  /** One label per column (key). */
  cols: readonly string[];
  /** Row-major rows.length × cols.length weights. */
  values: Float32Array;
  /** Whether row i attends to column c at all (cells it does not are drawn as "not computed"). */
  attends: (i: number, c: number) => boolean;
  /** Block of each row / column (label colours); -1 or undefined for none. */
  rowBlock?: (i: number) => number;
  colBlock?: (c: number) => number;
  /** Columns from this index on are global tokens (a separator line is drawn before it). */
  globalFrom?: number;
  cell?: number;
}

/** An attention map: rows = queries, columns = keys; a cell's colour is the softmax weight. */
export function heatmap(s: HeatmapSpec): string {
  const cell = s.cell ?? 18;
  const R = s.rows.length, C = s.cols.length;
  const fs = 11;
  const left = Math.ceil(Math.max(...s.rows.map((r) => textWidth(r, fs)), 20)) + 10;
  const top = Math.ceil(Math.max(...s.cols.map((c) => textWidth(c, fs)), 20) * 0.75) + 46;
  const width = left + C * cell + 12, height = top + R * cell + 12;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} role="img" aria-label="${esc(s.title)}">`);
  out.push(`<rect width="100%" height="100%" fill="#fff"/>`);
  out.push(`<text x="${left}" y="16" font-size="13" font-weight="600">${esc(s.title)}</text>`);
  if (s.subtitle) out.push(`<text x="${left}" y="31" font-size="11" fill="#555">${esc(s.subtitle)}</text>`);
  for (let c = 0; c < C; c++) {
    const x = left + c * cell + cell / 2 + 3, y = top - 5;
    const b = s.colBlock?.(c) ?? -1;
    out.push(`<text x="${f(x)}" y="${f(y)}" font-size="${fs}" transform="rotate(-50 ${f(x)} ${f(y)})" fill="${b >= 0 ? blockStroke(b) : '#111'}"${s.globalFrom !== undefined && c >= s.globalFrom ? ' font-weight="700"' : ''}>${esc(s.cols[c])}</text>`);
  }
  for (let i = 0; i < R; i++) {
    const b = s.rowBlock?.(i) ?? -1;
    out.push(`<text x="${left - 5}" y="${f(top + i * cell + cell * 0.7)}" font-size="${fs}" text-anchor="end" fill="${b >= 0 ? blockStroke(b) : '#111'}">${esc(s.rows[i])}</text>`);
  }
  for (let i = 0; i < R; i++)
    for (let c = 0; c < C; c++) {
      const x = left + c * cell, y = top + i * cell;
      if (!s.attends(i, c)) {
        out.push(`<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="#fff" stroke="#eee" stroke-width="1"><title>${esc(`${s.rows[i]} → ${s.cols[c]}: not computed`)}</title></rect>`);
        out.push(`<circle cx="${x + cell / 2}" cy="${y + cell / 2}" r="1.2" fill="#c8c8c8"/>`);
        continue;
      }
      const w = s.values[i * C + c];
      out.push(`<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${weightColor(w)}" stroke="#fff" stroke-width="1"><title>${esc(`${s.rows[i]} → ${s.cols[c]}: ${w.toFixed(3)}`)}</title></rect>`);
    }
  if (s.globalFrom !== undefined && s.globalFrom < C) {
    const x = left + s.globalFrom * cell;
    out.push(`<line x1="${x}" y1="${top - 2}" x2="${x}" y2="${top + R * cell + 2}" stroke="#111" stroke-width="2"/>`);
  }
  out.push(`<rect x="${left}" y="${top}" width="${C * cell}" height="${R * cell}" fill="none" stroke="#999"/>`);
  out.push('</svg>');
  return out.join('\n');
}

/** The colour legend of the heatmaps. */
export function heatmapLegend(): string {
  const w = 200, parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${w + 260}" height="36" viewBox="0 0 ${w + 260} 36" ${FONT}>`);
  for (let i = 0; i < 50; i++) parts.push(`<rect x="${10 + (i * w) / 50}" y="4" width="${f(w / 50 + 0.5)}" height="12" fill="${weightColor(i / 49)}"/>`);
  parts.push(`<text x="10" y="30" font-size="11">0</text><text x="${10 + w / 4}" y="30" font-size="11" text-anchor="middle">0.25</text><text x="${10 + w}" y="30" font-size="11" text-anchor="end">1 (weight)</text>`);
  parts.push(`<rect x="${w + 30}" y="4" width="12" height="12" fill="#fff" stroke="#ccc"/><circle cx="${w + 36}" cy="10" r="1.2" fill="#c8c8c8"/><text x="${w + 48}" y="14" font-size="11">not computed (the query never looks at this key)</text>`);
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
}

/**
 * Tokens coloured by global block, each block's global token (the sum of the block) below it, and
 * for one query token its local window (±r) and its links to every global token.
 */
export function blocksPicture(s: BlocksSpec): string {
  const N = s.tokens.length;
  const G = Math.max(-1, ...Array.from(s.blockIds)) + 1;
  const q = Math.min(Math.max(s.query ?? Math.floor(N / 2), 0), Math.max(N - 1, 0));
  const fs = 12, gap = 4, boxH = 24;
  const widths = s.tokens.map((t) => Math.max(30, textWidth(t, fs) + 12));
  const xs: number[] = [];
  let x = 20;
  for (let i = 0; i < N; i++) {
    xs.push(x);
    x += widths[i] + gap;
    if (i + 1 < N && s.blockIds[i + 1] !== s.blockIds[i]) x += 12; // a little space between blocks
  }
  const W = Math.max(x + 16, 640);
  const top = s.title ? 34 : 8;
  const yTok = top + 30, yIdx = yTok + boxH + 12, yBr = yIdx + 6, yG = yBr + 62, H = yG + boxH + 52;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${f(W)}" height="${H}" viewBox="0 0 ${f(W)} ${H}" ${FONT} role="img" aria-label="tokens, global blocks and global tokens">`);
  out.push(`<rect width="100%" height="100%" fill="#fff"/>`);
  if (s.title) out.push(`<text x="20" y="22" font-size="14" font-weight="600">${esc(s.title)}</text>`);
  const lo = Math.max(0, q - s.radius), hi = Math.min(N - 1, q + s.radius);
  const qx = N > 0 ? xs[q] + widths[q] / 2 : 0;
  // The query's links to every global token (drawn first, under the boxes).
  const gx: number[] = [];
  for (let b = 0; b < G; b++) {
    const members = [...Array(N).keys()].filter((i) => s.blockIds[i] === b);
    gx.push(members.length ? (xs[members[0]] + xs[members[members.length - 1]] + widths[members[members.length - 1]]) / 2 : NaN);
  }
  if (N > 0)
    for (const g of gx)
      if (Number.isFinite(g))
        out.push(`<path d="M${f(qx)} ${yTok + boxH} C ${f(qx)} ${yG - 20}, ${f(g)} ${yG - 40}, ${f(g)} ${yG}" fill="none" stroke="#dc2626" stroke-width="1.3" stroke-dasharray="4 3"/>`);
  // Local window of the query.
  if (N > 0) {
    out.push(`<rect x="${f(xs[lo] - 4)}" y="${yTok - 5}" width="${f(xs[hi] + widths[hi] - xs[lo] + 8)}" height="${boxH + 10}" rx="7" fill="none" stroke="#dc2626" stroke-width="2" stroke-dasharray="6 3"/>`);
    out.push(`<text x="${f(xs[lo] - 4)}" y="${yTok - 10}" font-size="11" fill="#dc2626">local window of “${esc(s.tokens[q])}”: tokens j with |i − j| ≤ ${s.radius}</text>`);
  }
  for (let i = 0; i < N; i++) {
    const b = s.blockIds[i];
    out.push(`<rect x="${f(xs[i])}" y="${yTok}" width="${f(widths[i])}" height="${boxH}" rx="4" fill="${blockFill(b)}" stroke="${i === q ? '#dc2626' : blockStroke(b)}" stroke-width="${i === q ? 2.5 : 1}"/>`);
    out.push(`<text x="${f(xs[i] + widths[i] / 2)}" y="${yTok + 16}" font-size="${fs}" text-anchor="middle">${esc(s.tokens[i])}</text>`);
    out.push(`<text x="${f(xs[i] + widths[i] / 2)}" y="${yIdx}" font-size="9" fill="#777" text-anchor="middle" ${HALO}>${i}</text>`);
  }
  // Brackets and global tokens.
  for (let b = 0; b < G; b++) {
    const members = [...Array(N).keys()].filter((i) => s.blockIds[i] === b);
    if (members.length === 0) continue;
    const a = xs[members[0]], z = xs[members[members.length - 1]] + widths[members[members.length - 1]];
    const mid = gx[b];
    out.push(`<path d="M${f(a)} ${yBr} V${yBr + 6} H${f(z)} V${yBr}" fill="none" stroke="${blockStroke(b)}" stroke-width="1.5"/>`);
    out.push(`<path d="M${f(mid)} ${yBr + 6} V${yG}" fill="none" stroke="${blockStroke(b)}" stroke-width="2"/>`);
    out.push(`<text x="${f(mid + 6)}" y="${yBr + 26}" font-size="11" fill="${blockStroke(b)}" ${HALO}>block ${b}: Σ of ${members.length} tokens</text>`);
    out.push(`<text x="${f(mid + 6)}" y="${yBr + 40}" font-size="11" fill="${blockStroke(b)}" ${HALO}>→ RMS norm</text>`);
    const gw = 46;
    out.push(`<rect x="${f(mid - gw / 2)}" y="${yG}" width="${gw}" height="${boxH}" rx="12" fill="${blockFill(b)}" stroke="${blockStroke(b)}" stroke-width="2"/>`);
    out.push(`<text x="${f(mid)}" y="${yG + 16}" font-size="${fs}" text-anchor="middle" font-weight="700">G${b}</text>`);
  }
  if (N > 0) {
    const local = hi - lo + 1;
    out.push(`<text x="20" y="${H - 26}" font-size="12" fill="#111">“${esc(s.tokens[q])}” scores ${local} local tokens + ${G} global tokens = ${local + G} keys instead of all ${N}.</text>`);
    out.push(`<text x="20" y="${H - 9}" font-size="12" fill="#555">${G > 0 ? `Blocks of g: ${blockSizes(s.blockIds, G).join(', ')} tokens (a short last block merges into the one before). ` : ''}Global tokens: G = ⌊N / g⌋ = ${G}.</text>`);
  }
  out.push('</svg>');
  return out.join('\n');
}

function blockSizes(ids: Int32Array, G: number): number[] {
  const n = new Array(G).fill(0);
  for (const b of ids) if (b >= 0) n[b]++;
  return n;
}

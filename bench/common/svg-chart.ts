// A self-contained log-log line chart as SVG text (no dependencies, no fonts or scripts fetched):
// decade ticks with labels, minor ticks at 2..9 × 10^k, one polyline with markers per series, a legend.
// Pure: same input, same output.

export interface ChartPoint {
  x: number;
  y: number;
}

export interface ChartSeries {
  name: string;
  points: readonly ChartPoint[];
  /** CSS colour; default: from a fixed palette by index. */
  color?: string;
  /** Dashed line (e.g. the multi-thread variant of a series). */
  dashed?: boolean;
}

export interface ChartSpec {
  title: string;
  /** Smaller line under the title (e.g. the machine). */
  subtitle?: string;
  xLabel: string;
  yLabel: string;
  series: readonly ChartSeries[];
  width?: number;
  height?: number;
  /** Tick label of a value on each axis (default: 1, 10, 100, 1k, 10k, ...). */
  xFormat?: (v: number) => string;
  yFormat?: (v: number) => string;
}

export const PALETTE = ['#1f77b4', '#d62728', '#7f7f7f', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22'];

/** 1, 10, 100, 1k, 10k, 100k, 1M, ...; fractions as 0.1, 0.01, ... */
export function shortNumber(v: number): string {
  if (v >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (v >= 1e3) return `${+(v / 1e3).toPrecision(3)}k`;
  return `${+v.toPrecision(3)}`;
}

/** Milliseconds as '1 ms', '10 ms', '100 ms', '1 s', '10 s', '0.1 ms'. */
export function msLabel(v: number): string {
  return v >= 1000 ? `${+(v / 1000).toPrecision(3)} s` : `${+v.toPrecision(3)} ms`;
}

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

const r2 = (v: number) => (Math.round(v * 100) / 100).toString();

interface Axis {
  lo: number; // log10
  hi: number;
  decades: number[]; // values
  minor: number[]; // values
  minorLabels: number[]; // minor values that get a label (narrow ranges)
}

function axis(values: number[]): Axis {
  let lo = Math.log10(Math.min(...values));
  let hi = Math.log10(Math.max(...values));
  if (!(hi - lo > 1e-9)) {
    lo -= 0.5;
    hi += 0.5;
  }
  const pad = 0.06 * (hi - lo);
  lo -= pad;
  hi += pad;
  // At least one decade tick on the axis.
  if (Math.floor(hi) < Math.ceil(lo)) {
    const d = Math.abs(Math.floor(hi) - lo) < Math.abs(Math.ceil(lo) - hi) ? Math.floor(hi) : Math.ceil(lo);
    lo = Math.min(lo, d);
    hi = Math.max(hi, d);
  }
  const decades: number[] = [];
  const minor: number[] = [];
  for (let k = Math.floor(lo); k <= Math.ceil(hi); k++) {
    if (k >= lo - 1e-9 && k <= hi + 1e-9) decades.push(10 ** k);
    for (let m = 2; m <= 9; m++) {
      const l = k + Math.log10(m);
      if (l >= lo && l <= hi) minor.push(m * 10 ** k);
    }
  }
  const narrow = hi - lo < 2.2;
  const minorLabels = narrow ? minor.filter((v) => {
    const m = Math.round(v / 10 ** Math.floor(Math.log10(v) + 1e-9));
    return m === 2 || m === 5;
  }) : [];
  return { lo, hi, decades, minor, minorLabels };
}

/** The chart as a complete SVG document. Series points with x or y <= 0 or not finite are dropped. */
export function renderLogLogChart(spec: ChartSpec): string {
  const W = spec.width ?? 860;
  const legendRows = spec.series.length > 4 ? Math.ceil(spec.series.length / 2) : spec.series.length;
  const legendH = spec.series.length ? legendRows * 18 + 20 : 0;
  const Hh = (spec.height ?? 520) + legendH;
  const fx = spec.xFormat ?? shortNumber;
  const fy = spec.yFormat ?? shortNumber;
  const series = spec.series.map((s, i) => ({
    ...s,
    color: s.color ?? PALETTE[i % PALETTE.length],
    points: s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y) && p.x > 0 && p.y > 0).slice().sort((a, b) => a.x - b.x),
  }));
  const all = series.flatMap((s) => s.points);
  const xs = all.length ? all.map((p) => p.x) : [1, 10];
  const ys = all.length ? all.map((p) => p.y) : [1, 10];
  const ax = axis(xs);
  const ay = axis(ys);
  const m = { left: 78, right: 24, top: spec.subtitle ? 64 : 46, bottom: 58 + legendH };
  const pw = W - m.left - m.right;
  const ph = Hh - m.top - m.bottom;
  const X = (v: number) => m.left + ((Math.log10(v) - ax.lo) / (ax.hi - ax.lo)) * pw;
  const Y = (v: number) => m.top + ph - ((Math.log10(v) - ay.lo) / (ay.hi - ay.lo)) * ph;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${Hh}" viewBox="0 0 ${W} ${Hh}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
  );
  out.push(`<title>${escapeXml(spec.title)}</title>`);
  out.push(`<rect x="0" y="0" width="${W}" height="${Hh}" fill="#ffffff"/>`);
  out.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(spec.title)}</text>`);
  if (spec.subtitle) out.push(`<text x="${W / 2}" y="42" text-anchor="middle" font-size="11" fill="#555555">${escapeXml(spec.subtitle)}</text>`);

  // Grid and ticks.
  out.push('<g class="grid" stroke="#eeeeee" stroke-width="1">');
  for (const v of ax.minor) out.push(`<line x1="${r2(X(v))}" y1="${m.top}" x2="${r2(X(v))}" y2="${m.top + ph}"/>`);
  for (const v of ay.minor) out.push(`<line x1="${m.left}" y1="${r2(Y(v))}" x2="${m.left + pw}" y2="${r2(Y(v))}"/>`);
  out.push('</g>');
  out.push('<g class="grid-major" stroke="#cccccc" stroke-width="1">');
  for (const v of ax.decades) out.push(`<line x1="${r2(X(v))}" y1="${m.top}" x2="${r2(X(v))}" y2="${m.top + ph}"/>`);
  for (const v of ay.decades) out.push(`<line x1="${m.left}" y1="${r2(Y(v))}" x2="${m.left + pw}" y2="${r2(Y(v))}"/>`);
  out.push('</g>');
  out.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333333" stroke-width="1"/>`);
  out.push('<g class="x-ticks" stroke="#333333">');
  for (const v of ax.decades) out.push(`<line x1="${r2(X(v))}" y1="${m.top + ph}" x2="${r2(X(v))}" y2="${m.top + ph + 6}"/>`);
  for (const v of ax.minor) out.push(`<line x1="${r2(X(v))}" y1="${m.top + ph}" x2="${r2(X(v))}" y2="${m.top + ph + 3}"/>`);
  out.push('</g>');
  out.push('<g class="y-ticks" stroke="#333333">');
  for (const v of ay.decades) out.push(`<line x1="${m.left - 6}" y1="${r2(Y(v))}" x2="${m.left}" y2="${r2(Y(v))}"/>`);
  for (const v of ay.minor) out.push(`<line x1="${m.left - 3}" y1="${r2(Y(v))}" x2="${m.left}" y2="${r2(Y(v))}"/>`);
  out.push('</g>');
  out.push('<g class="x-labels" text-anchor="middle">');
  for (const v of ax.decades) out.push(`<text x="${r2(X(v))}" y="${m.top + ph + 20}">${escapeXml(fx(v))}</text>`);
  for (const v of ax.minorLabels) out.push(`<text x="${r2(X(v))}" y="${m.top + ph + 20}" font-size="10" fill="#666666">${escapeXml(fx(v))}</text>`);
  out.push('</g>');
  out.push('<g class="y-labels" text-anchor="end">');
  for (const v of ay.decades) out.push(`<text x="${m.left - 9}" y="${r2(Y(v) + 4)}">${escapeXml(fy(v))}</text>`);
  for (const v of ay.minorLabels) out.push(`<text x="${m.left - 9}" y="${r2(Y(v) + 4)}" font-size="10" fill="#666666">${escapeXml(fy(v))}</text>`);
  out.push('</g>');
  out.push(`<text x="${m.left + pw / 2}" y="${m.top + ph + 42}" text-anchor="middle" font-size="13">${escapeXml(spec.xLabel)}</text>`);
  out.push(`<text transform="translate(18 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle" font-size="13">${escapeXml(spec.yLabel)}</text>`);

  // Series.
  series.forEach((s, i) => {
    out.push(`<g class="series" data-series="${i}" data-name="${escapeXml(s.name)}" stroke="${s.color}" fill="${s.color}">`);
    if (s.points.length > 1) {
      const pts = s.points.map((p) => `${r2(X(p.x))},${r2(Y(p.y))}`).join(' ');
      out.push(`<polyline points="${pts}" fill="none" stroke-width="2"${s.dashed ? ' stroke-dasharray="7 4"' : ''}/>`);
    }
    for (const p of s.points) out.push(`<circle cx="${r2(X(p.x))}" cy="${r2(Y(p.y))}" r="3.5"${s.dashed ? ' fill="#ffffff" stroke-width="1.5"' : ''}/>`);
    out.push('</g>');
  });

  // Legend under the plot (never over the data), in two columns when there are many series.
  if (series.length) {
    const lh = 18;
    const cols = series.length > 4 ? 2 : 1;
    const colW = (pw - 20) / cols;
    const rows = Math.ceil(series.length / cols);
    const lw = pw;
    const lhTotal = rows * lh + 10;
    const lx = m.left;
    const ly = m.top + ph + 50;
    out.push(`<g class="legend">`);
    out.push(`<rect x="${r2(lx)}" y="${r2(ly)}" width="${r2(lw)}" height="${lhTotal}" fill="#ffffff" fill-opacity="0.9" stroke="#bbbbbb"/>`);
    series.forEach((s, i) => {
      const y = ly + 14 + (i % rows) * lh;
      const cx = lx + Math.floor(i / rows) * colW;
      out.push(
        `<line x1="${r2(cx + 8)}" y1="${r2(y)}" x2="${r2(cx + 30)}" y2="${r2(y)}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="7 4"' : ''}/>` +
          `<text x="${r2(cx + 36)}" y="${r2(y + 4)}">${escapeXml(s.name)}</text>`,
      );
    });
    out.push('</g>');
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

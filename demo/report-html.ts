// The demo's HTML report: one self-contained file (inline CSS and SVG, no scripts, no network).
import type { Info } from '../lib';
import { COST_CONFIG, type CostResult } from './cost';
import type { CrossCheckSummary } from './crosscheck';
import { attends, maxRowSumError, type DemoMaps } from './model';
import { MAP_TITLES, columnLabels, fmtMs, mapWeights, tokenLabels, type MapKind } from './print';
import { blocksPicture, esc, heatmap, heatmapLegend, logLogChart } from './svg';

export interface ReportInput {
  text: string;
  tokens: readonly string[];
  maps: DemoMaps;
  seed: number;
  check: CrossCheckSummary;
  cost?: CostResult;
  info: Info;
  command: string;
}

const CSS = `
body { font: 15px/1.5 system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif; color: #111; max-width: 1400px; margin: 24px auto; padding: 0 20px; }
h1 { font-size: 26px; margin-bottom: 4px; } h2 { font-size: 20px; margin-top: 36px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.sub { color: #555; margin-top: 0; }
.note { background: #fff7ed; border-left: 4px solid #f97316; padding: 8px 12px; }
.maps { display: flex; flex-wrap: wrap; gap: 18px; align-items: flex-start; }
.maps figure { margin: 0; } figcaption { font-size: 13px; color: #444; max-width: 460px; }
table { border-collapse: collapse; font-size: 14px; } th, td { padding: 3px 10px; border-bottom: 1px solid #e5e7eb; text-align: right; }
th { background: #f8fafc; } td.l, th.l { text-align: left; }
.ok { color: #15803d; font-weight: 600; } .fail { color: #b91c1c; font-weight: 600; } .pred { color: #92400e; font-style: italic; }
svg { max-width: 100%; height: auto; }
code { background: #f3f4f6; padding: 0 4px; border-radius: 3px; } .scroll { overflow-x: auto; }
footer { margin-top: 40px; color: #666; font-size: 13px; }
`;

const sci = (x: number) => (x === 0 ? '0' : x.toExponential(1));

function heatmaps(r: ReportInput): string {
  const { maps, tokens } = r;
  const names = tokenLabels(tokens);
  const figs = (['dense', 'tglobal', 'blockGlobal'] as MapKind[]).map((kind) => {
    const { values, width } = mapWeights(maps, kind);
    const cols = columnLabels(tokens, maps, kind);
    let computed = 0;
    for (let i = 0; i < maps.N; i++) for (let c = 0; c < width; c++) if (attends(kind, maps, i, c)) computed++;
    const svg = heatmap({
      title: { dense: 'Dense attention', tglobal: 'LongT5 TGlobal attention', blockGlobal: 'Block-global (simpler variant)' }[kind],
      subtitle: `${maps.N} queries × ${width} keys; ${computed} of ${maps.N * width} scores computed`,
      rows: tokens, cols, values, rowNames: names, colNames: columnLabels(names, maps, kind), attends: (i, c) => attends(kind, maps, i, c),
      rowBlock: (i) => maps.blockIds[i], colBlock: (c) => (c < maps.N ? maps.blockIds[c] : c - maps.N),
      globalFrom: kind === 'dense' ? undefined : maps.N,
    });
    const call = {
      dense: 'attention(q, k, v, { scale: 1, returnWeights: true })',
      tglobal: `transientGlobalAttention(q, k, v, globalK, globalV, { localRadius: ${maps.radius}, globalBlockSize: ${maps.blockSize}, relativeAttentionBias, globalRelativeAttentionBias, returnWeights: true })`,
      blockGlobal: `blockGlobalAttention(q, k, v, { blockSize: ${maps.blockSize}, scale: 1, returnWeights: true })`,
    }[kind];
    return `<figure>${svg}<figcaption>${esc(MAP_TITLES[kind])}. Rows sum to 1 (max error ${sci(maxRowSumError(values, width))}).<br><code>${esc(call)}</code></figcaption></figure>`;
  });
  return `<div class="maps">${figs.join('\n')}</div>\n<p>${heatmapLegend()}</p>`;
}

function crossCheckSection(c: CrossCheckSummary): string {
  const rows = c.lines.map(
    (l) => `<tr><td class="l">${esc(l.name)}</td><td class="l">${esc(l.against)}${l.note ? ` <small>(${esc(l.note)})</small>` : ''}</td><td>${sci(l.maxAbs)}</td><td>${sci(l.maxRel)}</td><td class="${l.ok ? 'ok' : 'fail'}">${l.ok ? 'ok' : 'FAIL'}</td></tr>`,
  );
  const missing = c.ortAvailable ? '' : `<p class="note"><b>ONNX Runtime not available</b>, so the checks against it were skipped: ${esc(c.ortError ?? '')}. Install the dev dependency <code>onnxruntime-node</code> (<code>npm install</code> in a clone) to run them.</p>`;
  return `<p>The same inputs through the library and through ONNX Runtime (the graphs <code>lib/onnx</code> builds from standard ONNX ops), compared on every output value. Tolerance: max |difference| / max |output| ≤ 1e-4 (float32 sums in a different order).</p>
${missing}<table><tr><th class="l">computation</th><th class="l">reference</th><th>max abs diff</th><th>max rel diff</th><th></th></tr>${rows.join('\n')}</table>`;
}

function costSection(c: CostResult): string {
  const k = c.config;
  const fmtG = (x: number) => (x / 1e9).toFixed(x >= 1e10 ? 0 : 2);
  const cell = (t: { ms: number; measured: boolean; calls: number }) =>
    t.measured ? `${fmtMs(t.ms)} <small>(median of ${t.calls})</small>` : `<span class="pred">${fmtMs(t.ms)} predicted</span>`;
  const rows = c.points.map(
    (p) => `<tr><td>${p.N}</td><td>${fmtG(p.denseFlops)}</td><td>${fmtG(p.tglobalFlops)}</td><td>${(p.denseFlops / p.tglobalFlops).toFixed(1)}×</td><td>${cell(p.dense)}</td><td>${cell(p.tglobal)}</td><td>${(p.dense.ms / p.tglobal.ms).toFixed(1)}×</td></tr>`,
  );
  const series = (key: 'dense' | 'tglobal') => c.points.map((p) => ({ x: p.N, y: p[key].ms, measured: p[key].measured }));
  const flopSeries = (key: 'denseFlops' | 'tglobalFlops') => c.points.map((p) => ({ x: p.N, y: p[key] / 1e9, measured: true }));
  const timeChart = logLogChart({
    title: 'Time of one call (ms)', xLabel: 'sequence length N', yLabel: 'ms',
    series: [{ name: 'dense', color: '#dc2626', points: series('dense') }, { name: 'TGlobal', color: '#2563eb', points: series('tglobal') }],
  });
  const flopChart = logLogChart({
    title: 'FLOPs (GFLOP, counted by the FLOP model)', xLabel: 'sequence length N', yLabel: 'GFLOP',
    series: [{ name: 'dense 4·H·N²·D', color: '#dc2626', points: flopSeries('denseFlops') }, { name: 'TGlobal 4·H·N·D·(2r+1+G)', color: '#2563eb', points: flopSeries('tglobalFlops') }],
  });
  const predicted = c.points.some((p) => !p.dense.measured || !p.tglobal.measured);
  const rate = (x: number) => (Number.isFinite(x) ? `${x.toFixed(1)} GFLOP/s` : 'n/a');
  return `<p>Both kernels on LongT5's sizes: ${k.H} heads of D = ${k.D}, local radius r = ${k.radius}, global block g = ${k.blockSize}, batch ${k.B}, random inputs, ${c.threads} threads (${esc(c.isa)}). Dense attention does 4·H·N²·D FLOPs; TGlobal does 4·H·N·D·((2r+1)+G) with G = ⌊N/g⌋, so its cost grows almost linearly until G catches up with 2r+1. Memory is O(N·D) for both (no N×N matrix is ever stored).</p>
${predicted ? `<p class="note"><b>Predicted</b> entries were not timed (one call would take more than ${(c.measureLimitMs / 1000).toFixed(1)} s here): they are FLOPs ÷ the speed of the largest measured point of the same kernel (dense ${rate(c.denseGflops)}, TGlobal ${rate(c.tglobalGflops)}). Run <code>npm start -- --measure-all</code> to time everything.</p>` : ''}
<div class="scroll"><table><tr><th>N</th><th>dense GFLOP</th><th>TGlobal GFLOP</th><th>FLOP ratio</th><th>dense ms</th><th>TGlobal ms</th><th>speed-up</th></tr>${rows.join('\n')}</table></div>
<div class="maps">${timeChart}\n${flopChart}</div>
<p>For a fuller benchmark (1 thread and all cores, ONNX Runtime on the same shapes, GFLOP/s against the machine's peak) run <code>npm run bench</code>.</p>`;
}

export function renderReport(r: ReportInput): string {
  const { maps, tokens, info } = r;
  const G = maps.G;
  const picture = blocksPicture({ tokens, blockIds: maps.blockIds, radius: maps.radius, title: `${maps.N} tokens, global block size g = ${maps.blockSize}, local radius r = ${maps.radius}` });
  const globals = maps.blocks.map((m, b) => `<li><b>G${b}</b> = RMSNorm(${m.map((i) => esc(tokens[i])).join(' + ')})</li>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>global-attention demo report</title><style>${CSS}</style></head>
<body>
<h1>Global attention, on one sentence</h1>
<p class="sub">global-attention ${esc(info.version)} · ${esc(info.platform)}-${esc(info.arch)} · ISA ${esc(info.isa)} · ${info.threads} threads${info.openmp ? ' (OpenMP)' : ''} · <code>${esc(r.command)}</code></p>

<h2>What this shows</h2>
<p>In <b>dense attention</b> every token compares itself with every other token: N² scores, so doubling the text quadruples the work. LongT5's <b>transient global (TGlobal)</b> attention lets each token look only at its neighbours (a local window of ±r tokens) plus a few <b>global tokens</b>: the text is cut into blocks of g tokens and each block is summed into one global token. Each query then scores (2r+1) + N/g keys instead of N: nearby detail plus a summary of the whole text, for a cost that grows almost linearly with N.</p>
<p class="note"><b>The weights are random</b> (a seeded random embedding per word and random projections, seed ${r.seed}). The maps below show <i>which</i> keys each token can see and what that costs, not anything about language: no model was trained here.</p>

<h2>Tokens, blocks and global tokens</h2>
${picture}
<p>${maps.N} tokens in blocks of g = ${maps.blockSize}: token i belongs to block ⌊i/g⌋, and a short last block is merged into the one before (LongT5's rule, <code>globalBlockIds</code>), so there are G = ⌊N/g⌋ = ${G} global tokens:</p>
<ul>${globals || '<li>none (N &lt; g): TGlobal is then plain local attention</li>'}</ul>

<h2>Three attention maps</h2>
<p>Rows are queries, columns are keys; a cell's colour is the softmax weight the query gives the key (hover for the value). White cells with a small grey dot are never computed: that is where the savings come from. All three use the same random q, k, v; in TGlobal and block-global the columns right of the black line are the global tokens G0…G${Math.max(G - 1, 0)}. <b>Block-global</b> is a simpler relative of TGlobal that the library also offers (<code>blockGlobalAttention</code>): each token attends only to the tokens of its own block plus that block's global token, whose key and value are the mean of the block's keys and values.</p>
${heatmaps(r)}

<h2>Cross-check against ONNX Runtime</h2>
${crossCheckSection(r.check)}

<h2>Cost: dense vs TGlobal as N grows</h2>
${r.cost ? costSection(r.cost) : '<p>Skipped (<code>--no-cost</code>).</p>'}

<footer>Generated by <code>global-attention demo</code>. Cost model: 4 FLOPs (a multiply and an add for q·k, the same for p·v) per query, key and head dimension, as in <code>docs/ARCHITECTURE.md</code>; semantics: Hugging Face LongT5 at commit fd365f0f. Default cost configuration: ${COST_CONFIG.H} heads × D ${COST_CONFIG.D}, r ${COST_CONFIG.radius}, g ${COST_CONFIG.blockSize}.</footer>
</body></html>
`;
}

// `npm run bench` / `npx global-attention bench`: the dense and TGlobal benches in one run, on this
// CPU — the machine, the tables, a result JSON and an SVG chart of time vs N (log-log). Progress
// goes to stderr while they run; the tables go to stdout at the end.
//
// bin/global-attention.js calls main(argv) → exit code, and prints `usage` for --help.
// Only ../lib, node built-ins and (optionally) onnxruntime-node are imported: dist/bench ships in
// the npm package, where onnxruntime-node (a dev dependency) is usually absent — then the ORT
// series are skipped with one line saying so.
import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';
import { writeChartFor } from './chart';
import { parseIntList, parsePositiveInt, progress } from './common/cli';
import { closeContext, createContext } from './common/conditions';
import { pctCell } from './common/harness';
import { formatMachine } from './common/machine';
import { loadOrt, ortLoadError } from './common/ort';
import { defaultResultPath, latestDir, writeJson } from './common/results';
import { nowMs } from './common/stats';
import { formatTable, fix, ms, wrapNotes, wrapText } from './common/table';
import { DenseRun, parseDenseArgs, runDense } from './dense';
import { formatTGlobal, parseTGlobalArgs, runTGlobal, TGlobalRun } from './tglobal';

/** The dense bench (O(N²), and ORT's dense Attention needs N² memory per head) stops here by default. */
const DEFAULT_DENSE_BENCH_MAX = 8192;

export const usage = `usage: global-attention bench [options]        (from the repository: npm run bench -- [options])

Runs the dense-attention bench (ours vs ONNX Runtime's Attention / MultiHeadAttention) and the
LongT5 TGlobal bench (our layer, its core, our dense LongT5Attention, ONNX Runtime on the same
layer's graph) on this CPU; prints the machine (CPU, cores, ISA, FMA peak measured now) and the
tables, and writes a result JSON and an SVG chart of time vs N (log-log) next to it.

  --n LIST          sequence lengths for both benches (default: TGlobal 512,1024,2048,4096,8192,16384;
                    dense 256 … 8192; --quick: 512,1024,2048 and 256,512,1024)
  --threads LIST    thread counts (default 1,<hardware threads>)
  --reps K          timed calls per implementation and point (default 5, --quick 3)
  --json FILE       result file (default ./global-attention-bench-<date>[-quick].json in the current
                    folder); the chart goes next to it (.svg)
  --quick           smoke run: small N, fewer reps, shorter waits
  --only NAME       run only 'tglobal' or 'dense'
  --no-ort          skip ONNX Runtime (skipped anyway when onnxruntime-node is not installed)
  --no-mem          skip the peak-RSS measurements (child processes)
  --dense-max N     TGlobal bench: run the dense LongT5Attention baseline only up to N (default 16384);
                    dense bench: only N <= min(N, ${DEFAULT_DENSE_BENCH_MAX})
  --max-wait S      before each point wait up to S s for other processes to leave the CPUs (default 15)
  --latest          also copy the JSON and chart to latest.json and latest.svg: in bench/results/ when
                    run inside the repository, next to the JSON elsewhere
  -h, --help        this text

A full run takes 10-20 minutes on 2 vCPUs (ONNX Runtime at N=16384 needs several GB of RAM).
`;

interface RunOptions {
  argv: string[];
  ns?: number[];
  threads?: number[];
  reps?: number;
  json?: string;
  quick: boolean;
  only?: 'tglobal' | 'dense';
  ort: boolean;
  mem: boolean;
  denseMax?: number;
  maxWait?: string;
  latest: boolean;
}

function parse(argv: string[]): RunOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      n: { type: 'string' }, threads: { type: 'string' }, reps: { type: 'string' }, json: { type: 'string' }, quick: { type: 'boolean' },
      only: { type: 'string' }, 'no-ort': { type: 'boolean' }, 'no-mem': { type: 'boolean' }, 'dense-max': { type: 'string' },
      'max-wait': { type: 'string' }, latest: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';
  if (values.only !== undefined && values.only !== 'tglobal' && values.only !== 'dense')
    throw new RangeError(`--only must be 'tglobal' or 'dense', got '${values.only}'`);
  if (values['max-wait'] !== undefined && !(Number(values['max-wait']) >= 0)) throw new RangeError(`--max-wait: '${values['max-wait']}' is not a number >= 0`);
  return {
    argv,
    ns: values.n ? parseIntList('--n', values.n) : undefined,
    threads: values.threads ? parseIntList('--threads', values.threads) : undefined,
    reps: values.reps ? parsePositiveInt('--reps', values.reps) : undefined,
    json: values.json,
    quick: values.quick ?? false,
    only: values.only as RunOptions['only'],
    ort: !(values['no-ort'] ?? false),
    mem: !(values['no-mem'] ?? false),
    denseMax: values['dense-max'] ? parsePositiveInt('--dense-max', values['dense-max']) : undefined,
    maxWait: values['max-wait'],
    latest: values.latest ?? false,
  };
}

/** The sub-bench's own flags from ours (so each bench keeps its defaults and validation). */
function subArgs(o: RunOptions, extra: string[] = []): string[] {
  const a: string[] = [];
  if (o.ns) a.push('--n', o.ns.join(','));
  if (o.threads) a.push('--threads', o.threads.join(','));
  if (o.reps) a.push('--reps', String(o.reps));
  if (o.quick) a.push('--quick');
  if (!o.ort) a.push('--no-ort');
  if (!o.mem) a.push('--no-mem');
  if (o.maxWait !== undefined) a.push('--max-wait', o.maxWait);
  return [...a, ...extra];
}

export interface SummaryRow {
  N: number;
  threads: number;
  tglobalLayerMs: number | null;
  tglobalCoreMs: number | null;
  ortLayerMs: number | null;
  longT5AttentionMs: number | null;
  denseAttentionMs: number | null;
  layerGflops: number | null;
  layerPctPeak: number | null;
  ortOverLayer: number | null;
  layerRssMiB: number | null;
  ortRssMiB: number | null;
}

const num = (x: number | null | undefined) => (x === undefined || x === null || !Number.isFinite(x) ? null : x);

/** One row per (N, T) over both benches: the chart's numbers. */
export function summaryRows(tglobal: TGlobalRun | null, dense: DenseRun | null): SummaryRow[] {
  const keys = new Map<string, { N: number; threads: number }>();
  for (const p of [...(tglobal?.points ?? []), ...(dense?.result.points ?? [])]) keys.set(`${p.N}/${p.threads}`, { N: p.N, threads: p.threads });
  const rows = [...keys.values()].sort((a, b) => a.N - b.N || a.threads - b.threads);
  return rows.map(({ N, threads }) => {
    const t = tglobal?.points.find((p) => p.N === N && p.threads === threads);
    const d = dense?.result.points.find((p) => p.N === N && p.threads === threads);
    return {
      N, threads,
      tglobalLayerMs: num(t?.results.layer?.medianMs), tglobalCoreMs: num(t?.results.core?.medianMs), ortLayerMs: num(t?.results.ort?.medianMs),
      longT5AttentionMs: num(t?.results.dense?.medianMs), denseAttentionMs: num(d?.results.ours?.medianMs),
      layerGflops: num(t?.results.layer?.gflops), layerPctPeak: num(t?.results.layer?.pctPeak), ortOverLayer: num(t?.ortOverLayer),
      layerRssMiB: num(t?.results.layer?.memory?.first.addedMiB), ortRssMiB: num(t?.results.ort?.memory?.first.addedMiB),
    };
  });
}

/** The summary's column names in the JSON's markdown table (the terminal gets SUMMARY_SHORT). */
const SUMMARY_HEADERS = [
  'N', 'T', 'TGlobal layer ms', 'TGlobal core ms', 'ORT (same layer graph) ms', 'LongT5Attention ms', 'dense attention() ms', 'layer GFLOP/s', '% peak',
  'ORT / ours', 'RSS layer MiB', 'RSS ORT MiB',
];

/** The same columns, short enough for 120 columns; SUMMARY_CAPTION says what they are. */
const SUMMARY_SHORT = ['N', 'T', 'layer', 'core', 'ORT', 'LongT5', 'dense()', 'GF/s', '%pk', 'ORT/ours', 'RSS', 'RSS-ORT'];
const SUMMARY_CAPTION =
  'Summary (median ms of one call; the chart plots these): layer, core = our TGlobal layer and its core; ORT = ONNX Runtime on ' +
  "the same layer's graph; LongT5 = our dense LongT5Attention; dense() = our dense attention() core; GF/s, %pk = the layer's; " +
  'RSS, RSS-ORT = MiB one call of the layer / of ORT adds.';

function summaryCells(r: SummaryRow): string[] {
  return [
    String(r.N), String(r.threads), ms(r.tglobalLayerMs), ms(r.tglobalCoreMs), ms(r.ortLayerMs), ms(r.longT5AttentionMs), ms(r.denseAttentionMs),
    fix(r.layerGflops), pctCell(r.layerPctPeak), r.ortOverLayer === null ? '-' : `${r.ortOverLayer.toFixed(2)}x`, fix(r.layerRssMiB), fix(r.ortRssMiB),
  ];
}

export function summaryText(rows: SummaryRow[]): string {
  return formatTable(SUMMARY_SHORT, rows.map(summaryCells));
}

export function summaryMarkdown(rows: SummaryRow[]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(SUMMARY_HEADERS), line(SUMMARY_HEADERS.map((_, i) => (i < 2 ? '---' : '---:'))), ...rows.map((r) => line(summaryCells(r)))].join('\n');
}

/** The CLI: returns the exit code (0 ok, 1 a bench failed or gave wrong results, 2 bad arguments). */
export async function main(argv: string[]): Promise<number> {
  let o: RunOptions | 'help';
  try {
    o = parse(argv);
  } catch (err) {
    process.stderr.write(`global-attention bench: ${(err as Error).message}\n\n${usage}`);
    return 2;
  }
  if (o === 'help') {
    process.stdout.write(usage);
    return 0;
  }
  let denseOpts: ReturnType<typeof parseDenseArgs>;
  let tgOpts: ReturnType<typeof parseTGlobalArgs>;
  try {
    const denseMaxForDense = Math.min(o.denseMax ?? DEFAULT_DENSE_BENCH_MAX, DEFAULT_DENSE_BENCH_MAX);
    denseOpts = parseDenseArgs(subArgs(o));
    if (denseOpts !== 'help') denseOpts.maxN = denseMaxForDense;
    tgOpts = parseTGlobalArgs(subArgs(o, o.denseMax ? ['--dense-max', String(o.denseMax)] : []));
  } catch (err) {
    process.stderr.write(`global-attention bench: ${(err as Error).message}\n\n${usage}`);
    return 2;
  }
  if (denseOpts === 'help' || tgOpts === 'help') return 2; // not reachable: --help is ours

  // ONNX Runtime: one line when it is missing, and every ORT series is skipped.
  let ortNote: string | null = null;
  if (o.ort && !loadOrt()) {
    ortNote =
      'ONNX Runtime series skipped: onnxruntime-node is not installed (a dev dependency of global-attention; ' +
      `\`npm install onnxruntime-node\` to compare against it) — ${ortLoadError().split('\n')[0]}`;
    progress(ortNote);
    o.ort = false;
    denseOpts.ort = false;
    tgOpts.ort = false;
  }

  const t0 = nowMs();
  const ctx = createContext(o.ort);
  const machineText = formatMachine(ctx.machine);
  progress(machineText);
  let dense: DenseRun | null = null;
  let tglobal: TGlobalRun | null = null;
  const failures: string[] = [];
  try {
    const runs = o.only ? [o.only] : ['tglobal', 'dense'];
    for (const [i, name] of runs.entries()) {
      progress(`[${i + 1}/${runs.length}] ${name} bench ...`);
      try {
        if (name === 'dense') {
          if (denseOpts.ns.some((N) => N <= denseOpts.maxN!)) dense = await runDense(denseOpts, ctx, argv);
          else progress(`dense bench skipped: every N is above ${denseOpts.maxN}`);
        } else tglobal = await runTGlobal(tgOpts, ctx, argv);
      } catch (err) {
        failures.push(`${name}: ${(err as Error).message}`);
        progress(`${name} bench failed: ${(err as Error).stack ?? err}`);
      }
    }
  } finally {
    await closeContext(ctx);
  }
  const wallS = (nowMs() - t0) / 1000;
  const machine = { ...ctx.machine, fmaPeak1T: ctx.bestPeak };
  // Every %peak against the run's final best peak (the dense bench may have seen a higher one than the TGlobal bench before it).
  tglobal = tglobal?.rebase(ctx.bestPeak) ?? null;
  dense = dense?.rebase(ctx.bestPeak) ?? null;

  const rows = summaryRows(tglobal, dense);
  const summary = summaryText(rows);
  const text: string[] = [formatMachine(machine), ''];
  if (ortNote) text.push(wrapText(ortNote, undefined, '  '), '');
  if (tglobal) text.push(formatTGlobal(tglobal));
  if (dense) text.push(wrapText(dense.title, undefined, '  '), dense.table, '', wrapNotes(dense.notes), '');
  text.push(wrapText(SUMMARY_CAPTION, undefined, '  '), summary, '');

  const json = o.json ?? defaultResultPath('bench', o.quick);
  const svgFile = json.replace(/\.json$/, '') + '.svg';
  const result = {
    bench: 'suite',
    schema: 1,
    argv,
    machine,
    fmaPeak: { startup: ctx.startupPeak, best: ctx.bestPeak },
    ort: { available: o.ort ? loadOrt() !== null : false, note: ortNote },
    wallSeconds: wallS,
    summary: { rows, table: summary, markdown: summaryMarkdown(rows) },
    chart: path.basename(svgFile),
    failures,
    tglobal: tglobal?.result ?? null,
    dense: dense?.result ?? null,
  };
  const file = writeJson(json, result);
  const svg = writeChartFor(svgFile, { tglobal: tglobal?.result, dense: dense?.result });
  text.push(wrapText(`Wrote ${path.relative(process.cwd(), file)} and the chart ${path.relative(process.cwd(), svg)} (${wallS.toFixed(0)} s).`, undefined, '  '));
  if (o.latest) {
    const dir = latestDir(file);
    fs.copyFileSync(file, path.join(dir, 'latest.json'));
    fs.copyFileSync(svg, path.join(dir, 'latest.svg'));
    text.push(wrapText(`Copied them to ${path.relative(process.cwd(), path.join(dir, 'latest.json'))} and latest.svg.`, undefined, '  '));
  }
  process.stdout.write(`${text.join('\n')}\n`);
  if (failures.length) return 1;
  return tglobal?.wrong || dense?.wrong ? 1 : 0;
}

if (require.main === module) main(process.argv.slice(2)).then((code) => (process.exitCode = code));

// The bench chart: time of one call vs N, log-log — our TGlobal layer, ONNX Runtime on the same
// layer's graph, our dense LongT5Attention (and our dense attention() core when the dense bench
// ran), one line per implementation and thread count (dashed: more than one thread).
//
//   node dist/bench/chart.js RESULT.json [OUT.svg]    (a tglobal-, dense- or bench-*.json; default OUT: RESULT.svg)
import * as fs from 'fs';
import * as path from 'path';
import { ChartSeries, msLabel, renderLogLogChart, shortNumber } from './common/svg-chart';

/** The parts of a result file the chart reads (bench/tglobal.ts, bench/dense.ts). */
interface ResultLike {
  machine?: { cpuModel?: string; logicalCpus?: number; fmaPeak1T?: number; package?: { isa?: string }; onnxruntime?: string | null; date?: string };
  points?: { N: number; threads: number; results: Record<string, { medianMs?: number | null } | undefined> }[];
}

export interface ChartInputs {
  tglobal?: ResultLike;
  dense?: ResultLike;
}

const LINES: { from: keyof ChartInputs; impl: string; name: string; color: string }[] = [
  { from: 'tglobal', impl: 'layer', name: 'ours: TGlobal layer', color: '#1f77b4' },
  { from: 'tglobal', impl: 'ort', name: 'ONNX Runtime: same TGlobal layer graph', color: '#d62728' },
  { from: 'tglobal', impl: 'dense', name: 'ours: LongT5Attention (full, dense)', color: '#7f7f7f' },
  { from: 'dense', impl: 'ours', name: 'ours: dense attention() core', color: '#ff7f0e' },
];

/** One series per (implementation, thread count) with at least one finite median. */
export function benchSeries(inputs: ChartInputs): ChartSeries[] {
  const out: ChartSeries[] = [];
  for (const line of LINES) {
    const pts = inputs[line.from]?.points ?? [];
    const threads = [...new Set(pts.map((p) => p.threads))].sort((a, b) => a - b);
    for (const T of threads) {
      const points = pts
        .filter((p) => p.threads === T)
        .map((p) => ({ x: p.N, y: Number(p.results[line.impl]?.medianMs) }))
        .filter((p) => Number.isFinite(p.y) && p.y > 0);
      if (points.length) out.push({ name: `${line.name}, ${T} thread${T > 1 ? 's' : ''}`, color: line.color, dashed: T > 1, points });
    }
  }
  return out;
}

function machineLine(inputs: ChartInputs): string | undefined {
  const m = inputs.tglobal?.machine ?? inputs.dense?.machine;
  if (!m) return undefined;
  const parts = [
    m.cpuModel, m.logicalCpus !== undefined ? `${m.logicalCpus} vCPUs` : undefined, m.package?.isa,
    m.fmaPeak1T !== undefined ? `FMA peak ${m.fmaPeak1T.toFixed(0)} GFLOP/s/thread` : undefined,
    m.onnxruntime ? `onnxruntime-node ${m.onnxruntime}` : undefined, m.date?.slice(0, 10),
  ];
  return parts.filter((x) => x).join(' · ');
}

/** The chart of a run as SVG text. */
export function benchChart(inputs: ChartInputs): string {
  return renderLogLogChart({
    title: 'Time of one call vs sequence length (B=1, d_model 512, 8 heads, d_kv 64, r 127, g 16)',
    subtitle: machineLine(inputs),
    xLabel: 'sequence length N (log)',
    yLabel: 'median time of one call (log)',
    series: benchSeries(inputs),
    xFormat: shortNumber,
    yFormat: msLabel,
  });
}

/** Writes the chart of `inputs` to `file`; returns the absolute path. */
export function writeChartFor(file: string, inputs: ChartInputs): string {
  const abs = path.resolve(file);
  fs.mkdirSync(path.dirname(abs), { recursive: true });
  fs.writeFileSync(abs, benchChart(inputs));
  return abs;
}

/** Reads a tglobal-, dense- or bench-*.json into chart inputs. */
export function chartInputsFromFile(file: string): ChartInputs {
  const r = JSON.parse(fs.readFileSync(file, 'utf8')) as { bench?: string; tglobal?: ResultLike; dense?: ResultLike } & ResultLike;
  if (r.bench === 'tglobal') return { tglobal: r };
  if (r.bench === 'dense') return { dense: r };
  return { tglobal: r.tglobal ?? undefined, dense: r.dense ?? undefined };
}

if (require.main === module) {
  const [input, output] = process.argv.slice(2);
  if (!input || input === '--help' || input === '-h') {
    process.stdout.write('usage: node dist/bench/chart.js RESULT.json [OUT.svg]\n');
    process.exit(input ? 0 : 2);
  }
  const file = writeChartFor(output ?? input.replace(/\.json$/, '') + '.svg', chartInputsFromFile(input));
  process.stderr.write(`wrote ${path.relative(process.cwd(), file)}\n`);
}

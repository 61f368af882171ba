// LongT5 transient-global (TGlobal) bench (how speed is judged: docs/ARCHITECTURE.md): our layer, its fused core, our dense
// LongT5Attention and ONNX Runtime running the same layer's graph (lib/onnx, `layer.toOnnx()`),
// same weights and inputs, interleaved in one run.
//
//   npm run bench:tglobal -- [--n 512,4096] [--threads 1,2] [--reps K] [--json FILE] [--quick]
//                            [--no-ort] [--no-mem] [--no-dense] [--dense-max N] [--max-wait S] [--profile]
//
// Shape: d_model 512, 8 heads, d_kv 64, local_radius r = 127, global_block_size g = 16, B = 1,
// N in {512 … 16384}, G = floor(N / g). Per point (N, threads):
//   - wait (up to --max-wait s) for other processes to leave the CPUs; one-thread FMA probe before
//     and after; T >= 2: the shared-core probe (bench/common/conditions.ts);
//   - peak RSS one call adds, each implementation in a fresh child process (--no-mem skips);
//   - one warm-up call each; the layer's and ORT's outputs compared (max |ours - ORT|);
//   - `reps` interleaved rounds (3 when a call takes > 2 s), 100 ms apart; medians reported.
// Then per N: measured / predicted time (FLOP model at one efficiency fitted over N = 2048 … 16384)
// and the T-thread / one-thread speedup; and the speed and memory targets against what was measured (JSON only).
// Progress goes to stderr, the table to stdout, everything to ./global-attention-tglobal-<date>.json
// (and a log-log chart of time vs N next to it, .svg).
import * as path from 'path';
import { parseArgs } from 'util';
import type * as Ort from 'onnxruntime-node';
import {
  info, LongT5Attention, LongT5TransientGlobalAttention, transientGlobalAttention, type LongT5Config, type LongT5Weights,
} from '../lib/index';
import { writeChartFor } from './chart';
import { parseIntList, parsePositiveInt, progress } from './common/cli';
import {
  BenchContext, BUSY_CPUS, closeContext, conditionCells, conditionColumnNotes, conditionWarnings, coreScaling, createContext, FMA_PEAK_RULE,
  PointConditions,
} from './common/conditions';
import {
  CallRss, doneLine, measureInChild, measurePoint, memChildMain, PEAK_NOTE, pctCell, rebasePctPeak, Runner, runnerRss, Timed,
} from './common/harness';
import { formatMachine, MachineInfo } from './common/machine';
import { readMem } from './common/memory';
import { createSession, f32, i64, loadOrt, ortLoadError, profileRuns, RunProfile } from './common/ort';
import { maxAbsDiff, randomNormal } from './common/random';
import { defaultResultPath, writeJson } from './common/results';
import { median, nowMs } from './common/stats';
import { fix, formatTable, ms, sci, wrapNotes, wrapText } from './common/table';

const B = 1;
const D_MODEL = 512;
const H = 8;
const D = 64;
const R = 127;
const G_BLOCK = 16;
const NUM_BUCKETS = 32;
const MAX_DISTANCE = 128;
const DEFAULT_NS = [512, 1024, 2048, 4096, 8192, 16384];
const QUICK_NS = [512, 1024, 2048];
/** LongT5Attention (O(N²) work) runs up to this N by default (N = 16384: ~6-7 s a call on one thread here). */
const DEFAULT_DENSE_MAX = 16384;
/** Pause after every call: ORT's pool threads spin ~50 ms after a run (see bench/dense.ts). */
const GAP_MS = 100;
const SEED = 20240611;
/** |ours - ORT| above this fails the point (float32 layer outputs of magnitude ~1). */
const TOLERANCE = 1e-4;
/** The FLOP-model check covers these N (2048 … 16384: large enough that fixed costs do not dominate). */
const MODEL_RANGE: [number, number] = [2048, 16384];
const MODEL_TOLERANCE = 1.25;
const SPEEDUP_TARGET = 1.8;

/**
 * Hugging Face's LongT5TransientGlobalAttention exported to ONNX, run by ORT 1.30 on one thread,
 * as reported when this bench was written (not measured by it): seconds and peak RSS (GB = 1e9 bytes).
 */
export const HF_ORT_REFERENCE = [
  { N: 4096, secondsLow: 1.1, secondsHigh: 1.1, peakRssGB: 1.0 },
  { N: 16384, secondsLow: 7.4, secondsHigh: 7.8, peakRssGB: 8.3 },
] as const;
const HF_SPEED_TARGET = 3;
const HF_RSS_TARGET = 20;

export const IMPLS = ['layer', 'core', 'dense', 'ort'] as const;
export type Impl = (typeof IMPLS)[number];
const IMPL_LABEL: Record<Impl, string> = {
  layer: 'LongT5TransientGlobalAttention.forward',
  core: 'transientGlobalAttention (core)',
  dense: 'LongT5Attention.forward (full attention, T5 bias)',
  ort: 'ONNX Runtime, layer.toOnnx() graph',
};

// ---------------------------------------------------------------------------------------------
// FLOP model

/** TGlobal core: 4·B·H·N·D·((2r+1) + G); the window holds at most N keys (N < 2r+1 in small runs). */
export const coreFlops = (N: number) => 4 * B * H * N * D * (Math.min(2 * R + 1, N) + Math.floor(N / G_BLOCK));
/** One projection of `rows` rows: 2·rows·d_model·H·D. */
const projFlops = (rows: number) => 2 * B * rows * D_MODEL * H * D;
/** TGlobal layer: core + q, k, v, o projections of N rows + k, v projections of the G global tokens. */
export const layerFlops = (N: number) => coreFlops(N) + 4 * projFlops(N) + 2 * projFlops(Math.floor(N / G_BLOCK));
/** LongT5Attention: dense 4·B·H·N²·D + q, k, v, o projections. */
export const denseLayerFlops = (N: number) => 4 * B * H * N * N * D + 4 * projFlops(N);
const flopsOf: Record<Impl, (N: number) => number> = { layer: layerFlops, core: coreFlops, dense: denseLayerFlops, ort: layerFlops };

// ---------------------------------------------------------------------------------------------
// Weights and inputs (seeded: every run and child process sees the same)

const CONFIG: LongT5Config = {
  d_model: D_MODEL, d_kv: D, num_heads: H, local_radius: R, global_block_size: G_BLOCK,
  relative_attention_num_buckets: NUM_BUCKETS, relative_attention_max_distance: MAX_DISTANCE, layer_norm_epsilon: 1e-6,
};

function makeWeights(): LongT5Weights {
  const HD = H * D;
  const bias = randomNormal(NUM_BUCKETS * H, SEED + 5);
  const norm = randomNormal(D_MODEL, SEED + 7, 0.1).map((x) => 1 + x);
  return {
    'q.weight': randomNormal(HD * D_MODEL, SEED + 1, 1 / Math.sqrt(D_MODEL)),
    'k.weight': randomNormal(HD * D_MODEL, SEED + 2, 1 / Math.sqrt(D_MODEL)),
    'v.weight': randomNormal(HD * D_MODEL, SEED + 3, 1 / Math.sqrt(D_MODEL)),
    'o.weight': randomNormal(D_MODEL * HD, SEED + 4, 1 / Math.sqrt(HD)),
    'relative_attention_bias.weight': bias,
    'global_relative_attention_bias.weight': randomNormal(NUM_BUCKETS * H, SEED + 6),
    'global_input_layer_norm.weight': norm,
  };
}

let layers: { tglobal: LongT5TransientGlobalAttention; full: LongT5Attention; weights: LongT5Weights } | undefined;
function getLayers() {
  if (!layers) {
    const weights = makeWeights();
    layers = { weights, tglobal: new LongT5TransientGlobalAttention(CONFIG, weights), full: new LongT5Attention(CONFIG, weights) };
  }
  return layers;
}

interface LayerInputs {
  hidden: Float32Array;
  dims: number[];
}
interface CoreInputs {
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  gk: Float32Array;
  gv: Float32Array;
  G: number;
}

const layerInputs = (N: number): LayerInputs => ({ hidden: randomNormal(B * N * D_MODEL, SEED + 11 * N), dims: [B, N, D_MODEL] });

/** q, k, v [B,H,N,D], global k, v [B,H,G,D]; q scaled by 1/sqrt(D) so the scores are O(1) (LongT5 uses scale 1). */
function coreInputs(N: number): CoreInputs {
  const G = Math.floor(N / G_BLOCK);
  const n = B * H * N * D;
  const s = SEED + 11 * N;
  return {
    q: randomNormal(n, s + 1, 1 / Math.sqrt(D)), k: randomNormal(n, s + 2), v: randomNormal(n, s + 3),
    gk: randomNormal(B * H * G * D, s + 4), gv: randomNormal(B * H * G * D, s + 5), G,
  };
}

function layerRunner(x: LayerInputs, threads: number, kind: 'tglobal' | 'full'): Runner {
  const l = getLayers();
  const layer = kind === 'tglobal' ? l.tglobal : l.full;
  const out = new Float32Array(x.hidden.length);
  const hidden = { data: x.hidden, dims: x.dims };
  return { out, arrays: [x.hidden], run: () => layer.forward(hidden, undefined, { out, threads }), release: async () => {} };
}

function coreRunner(x: CoreInputs, N: number, threads: number): Runner {
  const w = getLayers().weights;
  const out = new Float32Array(x.q.length);
  const dims = [B, H, N, D];
  const gdims = [B, H, x.G, D];
  const q = { data: x.q, dims }, k = { data: x.k, dims }, v = { data: x.v, dims };
  const gk = { data: x.gk, dims: gdims }, gv = { data: x.gv, dims: gdims };
  const bias = { data: w['relative_attention_bias.weight'] as Float32Array, dims: [NUM_BUCKETS, H] };
  const gbias = { data: w['global_relative_attention_bias.weight'] as Float32Array, dims: [NUM_BUCKETS, H] };
  const options = {
    localRadius: R, globalBlockSize: G_BLOCK, relativeAttentionBias: bias, globalRelativeAttentionBias: gbias,
    numBuckets: NUM_BUCKETS, maxDistance: MAX_DISTANCE, out, threads,
  };
  return { out, arrays: [x.q, x.k, x.v, x.gk, x.gv], run: () => transientGlobalAttention(q, k, v, gk, gv, options), release: async () => {} };
}

function ortFeeds(x: LayerInputs): Record<string, Ort.Tensor> {
  const N = x.dims[1];
  return { hidden_states: f32(x.hidden, x.dims), attention_mask: i64(new BigInt64Array(B * N).fill(1n), [B, N]) };
}

/** ORT on our own export of the same layer (same weights), output preallocated. */
async function ortRunner(x: LayerInputs, threads: number): Promise<Runner> {
  const session = await createSession(getLayers().tglobal.toOnnx(), threads);
  const feeds = ortFeeds(x);
  const out = new Float32Array(x.hidden.length);
  const fetches = { output: f32(out, x.dims) };
  return { out, arrays: [x.hidden], run: () => session.run(feeds, fetches), release: () => session.release() };
}

async function makeRunner(impl: Impl, N: number, threads: number, lx: () => LayerInputs, cx: () => CoreInputs): Promise<Runner> {
  switch (impl) {
    case 'layer': return layerRunner(lx(), threads, 'tglobal');
    case 'dense': return layerRunner(lx(), threads, 'full');
    case 'core': return coreRunner(cx(), N, threads);
    case 'ort': return ortRunner(lx(), threads);
  }
}

// ---------------------------------------------------------------------------------------------
// Memory: one call's added RSS, in a fresh process per implementation

interface MemChildSpec {
  impl: Impl;
  N: number;
  threads: number;
}

export interface MemResult extends CallRss {
  /** first: the first call in a fresh process (inputs and output resident, weights built, ORT's session created); second: a call right after. */
  /** RSS that creating the ORT session added (model, arena setup, thread pool), MiB. */
  sessionMiB: number | null;
  /** Inputs + output, MiB. */
  tensorsMiB: number;
  /** The child's peak RSS over its whole life (Node, weights, inputs, session, both calls), MiB. */
  processPeakMiB: number;
  error?: string;
}

async function memChild(spec: MemChildSpec): Promise<MemResult> {
  let runner: Runner;
  let sessionMiB: number | null = null;
  const lx = () => layerInputs(spec.N);
  const cx = () => coreInputs(spec.N);
  getLayers();
  if (spec.impl === 'ort') {
    loadOrt();
    const x = lx();
    const before = process.memoryUsage().rss;
    runner = await ortRunner(x, spec.threads);
    sessionMiB = (process.memoryUsage().rss - before) / 2 ** 20;
  } else {
    runner = await makeRunner(spec.impl, spec.N, spec.threads, lx, cx);
  }
  const { first, second } = await runnerRss(runner);
  const tensors = [...runner.arrays, runner.out].reduce((s, a) => s + a.byteLength, 0);
  const m = readMem();
  return { first, second, sessionMiB, tensorsMiB: tensors / 2 ** 20, processPeakMiB: Math.max(m.hwmKiB, process.resourceUsage().maxRSS) / 1024 };
}

function measureMemory(impl: Impl, N: number, threads: number): Promise<MemResult> {
  return measureInChild<MemChildSpec, MemResult>(
    __filename, { impl, N, threads },
    (error, nan) => ({ first: nan, second: nan, sessionMiB: null, tensorsMiB: NaN, processPeakMiB: NaN, error }),
    600_000,
  );
}

// ---------------------------------------------------------------------------------------------
// The bench

export interface ImplResult extends Timed {
  /** Measured / predicted time, predicted = flops / (fitted fraction × peak × T) (layer and core; see modelFit). */
  predRatio?: number;
  /** ORT: max |ORT - layer| over the output, and that / max |layer|. */
  maxAbsDiff?: number;
  maxRelDiff?: number;
  memory?: MemResult;
}

export interface Point extends PointConditions {
  G: number;
  reps: number;
  results: Partial<Record<Impl, ImplResult>>;
  /** ORT median / layer median (> 1: ours faster). */
  ortOverLayer: number | null;
  /** LongT5Attention median / TGlobal layer median. */
  denseOverLayer: number | null;
  /** ORT's per-op breakdown (--profile). */
  ortProfile?: RunProfile;
}

export interface TGlobalOptions {
  ns: number[];
  threads: number[];
  reps: number;
  json: string;
  quick: boolean;
  ort: boolean;
  mem: boolean;
  dense: boolean;
  denseMax: number;
  maxWaitS: number;
  profile: boolean;
}

export const TGLOBAL_USAGE = `usage: node dist/bench/tglobal.js [options]
  --n LIST         sequence lengths (default ${DEFAULT_NS.join(',')}; --quick: ${QUICK_NS.join(',')})
  --threads LIST   thread counts (default 1,<hardware threads>)
  --reps K         timed calls per implementation and point (default 5, --quick 3; at most 3 when a call takes > 2 s)
  --json FILE      result file (default ./global-attention-tglobal-<date>[-quick].json; the chart goes next to it)
  --quick          smoke run: small N, fewer reps
  --no-ort         ours only (no ONNX Runtime)
  --no-mem         skip the peak-RSS measurement (child processes)
  --no-dense       skip the dense baseline (LongT5Attention)
  --dense-max N    run the dense baseline only up to N (default ${DEFAULT_DENSE_MAX})
  --max-wait S     before each point, wait up to S seconds (default 15, --quick 5; 0 = never) for other processes to
                   use < ${BUSY_CPUS} CPU
  --profile        also profile ORT's graph by op type (separate session, 3 more runs per point)
`;

function nonNegative(flag: string, s: string): number {
  const x = Number(s);
  if (!(x >= 0 && Number.isFinite(x))) throw new RangeError(`${flag}: '${s}' is not a number >= 0`);
  return x;
}

/** Parses the CLI; 'help' for --help/-h (throws on bad arguments). */
export function parseTGlobalArgs(argv: string[]): TGlobalOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      n: { type: 'string' }, threads: { type: 'string' }, reps: { type: 'string' }, json: { type: 'string' }, 'max-wait': { type: 'string' },
      'dense-max': { type: 'string' }, quick: { type: 'boolean' }, 'no-ort': { type: 'boolean' }, 'no-mem': { type: 'boolean' },
      'no-dense': { type: 'boolean' }, profile: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const quick = values.quick ?? false;
  const hw = info().hardwareThreads;
  return {
    ns: values.n ? parseIntList('--n', values.n) : quick ? QUICK_NS : DEFAULT_NS,
    threads: values.threads ? parseIntList('--threads', values.threads) : [...new Set([1, hw])],
    reps: values.reps ? parsePositiveInt('--reps', values.reps) : quick ? 3 : 5,
    json: values.json ?? defaultResultPath('tglobal', quick),
    quick,
    ort: !(values['no-ort'] ?? false),
    mem: !(values['no-mem'] ?? false),
    dense: !(values['no-dense'] ?? false),
    denseMax: values['dense-max'] ? parsePositiveInt('--dense-max', values['dense-max']) : DEFAULT_DENSE_MAX,
    maxWaitS: values['max-wait'] !== undefined ? nonNegative('--max-wait', values['max-wait']) : quick ? 5 : 15,
    profile: values.profile ?? false,
  };
}

/** Largest |a| (NaN anywhere gives NaN). */
function maxAbs(a: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const x = Math.abs(a[i]);
    if (!(x <= m)) m = x;
  }
  return m;
}

async function benchPoint(o: TGlobalOptions, N: number, threads: number, ctx: BenchContext, allImpls: Impl[]): Promise<Point> {
  const tag = `[tglobal N=${N} T=${threads}]`;
  const impls = allImpls.filter((i) => i !== 'dense' || N <= o.denseMax);
  const point: Point = {
    N, threads, G: Math.floor(N / G_BLOCK), reps: 0, results: {}, ortOverLayer: null, denseOverLayer: null, sharedCores: null, load: null, waitedS: 0,
  };
  let lx: LayerInputs | undefined;
  let cx: CoreInputs | undefined;
  const getLx = () => (lx ??= layerInputs(N));
  const getCx = () => (cx ??= coreInputs(N));
  let diff: number | undefined;
  let rel: number | undefined;

  const m = await measurePoint<Impl, MemResult>({
    tag, impls, reps: o.reps, gapMs: GAP_MS, maxWaitS: o.maxWaitS, ctx, point,
    flops: (impl) => flopsOf[impl](N),
    makeRunner: (impl) => makeRunner(impl, N, threads, getLx, getCx),
    memory: o.mem ? (impl) => measureMemory(impl, N, threads) : undefined,
    describeMemory: (r) =>
      r.error ? `error: ${r.error.split('\n')[0]}` : `first call +${fix(r.first.addedMiB)} MiB, second +${fix(r.second.addedMiB)} MiB, process peak ${fix(r.processPeakMiB, 0)} MiB`,
    // The layer's and ORT's outputs, compared on the warm-up call.
    afterWarmup: (runners) => {
      if (!runners.layer || !runners.ort) return;
      diff = maxAbsDiff(runners.layer.out, runners.ort.out);
      const ref = maxAbs(runners.layer.out);
      rel = ref > 0 ? diff / ref : diff;
      progress(`${tag} ORT vs layer: max |diff| ${sci(diff)} (max |out| ${fix(ref, 2)})`);
    },
    afterTimed: async (live) => {
      if (!o.profile || !live.includes('ort')) return;
      try {
        point.ortProfile = await profileRuns(getLayers().tglobal.toOnnx(), threads, ortFeeds(getLx()), 2, 1);
      } catch (err) {
        progress(`${tag} ORT profile failed: ${(err as Error).message}`);
      }
    },
  });

  for (const impl of impls) {
    point.results[impl] = {
      ...m.results[impl]!,
      ...(impl === 'ort' && diff !== undefined ? { maxAbsDiff: diff, maxRelDiff: rel } : {}),
      ...(m.memory[impl] ? { memory: m.memory[impl] } : {}),
    };
  }
  const layerMs = point.results.layer?.medianMs;
  if (layerMs !== undefined && Number.isFinite(layerMs)) {
    const o2 = point.results.ort?.medianMs;
    const d2 = point.results.dense?.medianMs;
    if (o2 !== undefined && Number.isFinite(o2)) point.ortOverLayer = o2 / layerMs;
    if (d2 !== undefined && Number.isFinite(d2)) point.denseOverLayer = d2 / layerMs;
  }
  progress(doneLine(tag, 'layer', point.results.layer, point.ortOverLayer !== null ? `, ${point.ortOverLayer.toFixed(2)}x faster than ORT` : ''));
  return point;
}

// ---------------------------------------------------------------------------------------------
// Analysis: FLOP-model fit, thread scaling, targets

export interface ModelFit {
  impl: 'layer' | 'core';
  threads: number;
  /** N the fraction was fitted on and the check covers. */
  ns: number[];
  /** Fitted efficiency: the median over `ns` of GFLOP/s / (peak × T). */
  fraction: number;
  /** Measured / predicted time per N (all N of the run), predicted = FLOPs / (fraction × peak × T). */
  ratios: Record<string, number>;
  /** Largest max(ratio, 1/ratio) over `ns`. */
  worst: number;
  /** slowest / fastest time-per-FLOP over `ns`. */
  spread: number;
  met: boolean | null;
}

export interface Scaling {
  N: number;
  /** Threads compared: T / 1. */
  threads: number;
  layer: number | null;
  core: number | null;
  ort: number | null;
  dense: number | null;
  /** The core probe at T threads (worse of before/after). */
  coreProbe: number | null;
  sharedCores: boolean | null;
  busy: boolean;
}

export interface Target {
  name: string;
  /** The measured figure(s), in words. */
  measured: string;
  /** true met, false not met, null not measured / inconclusive. */
  met: boolean | null;
}

function fitModel(points: Point[], impl: 'layer' | 'core', threads: number, peak: number): ModelFit | null {
  const ps = points.filter((p) => p.threads === threads && Number.isFinite(p.results[impl]?.gflops));
  if (!ps.length) return null;
  let inRange = ps.filter((p) => p.N >= MODEL_RANGE[0] && p.N <= MODEL_RANGE[1]);
  const fullRange = inRange.length >= 2;
  if (!fullRange) inRange = ps;
  const frac = (p: Point) => p.results[impl]!.gflops / (peak * threads);
  const fraction = median(inRange.map(frac));
  const ratios: Record<string, number> = {};
  for (const p of ps) {
    ratios[p.N] = fraction / frac(p);
    p.results[impl]!.predRatio = ratios[p.N];
  }
  const rs = inRange.map((p) => ratios[p.N]);
  const worst = Math.max(...rs.map((r) => Math.max(r, 1 / r)));
  const spread = Math.max(...rs) / Math.min(...rs);
  // A miss only at points where other processes used the CPUs or the cores were shared says nothing about the code.
  const disturbed = (p: Point) => !!p.sharedCores || !!(p.load && p.load.otherCpus > BUSY_CPUS);
  const missed = inRange.filter((p) => Math.max(ratios[p.N], 1 / ratios[p.N]) > MODEL_TOLERANCE);
  const met = !fullRange ? null : missed.length === 0 ? true : missed.every(disturbed) ? null : false;
  return { impl, threads, ns: inRange.map((p) => p.N), fraction, ratios, worst, spread, met };
}

function scalings(points: Point[]): Scaling[] {
  const ts = [...new Set(points.map((p) => p.threads))].sort((a, b) => a - b);
  if (ts.length < 2 || ts[0] !== 1) return [];
  const out: Scaling[] = [];
  for (const T of ts.slice(1))
    for (const p of points.filter((q) => q.threads === T)) {
      const one = points.find((q) => q.N === p.N && q.threads === 1);
      if (!one) continue;
      const s = (impl: Impl) => {
        const a = one.results[impl]?.medianMs;
        const b = p.results[impl]?.medianMs;
        return a !== undefined && b !== undefined && Number.isFinite(a / b) ? a / b : null;
      };
      const cs = coreScaling(p);
      out.push({
        N: p.N, threads: T, layer: s('layer'), core: s('core'), ort: s('ort'), dense: s('dense'), coreProbe: Number.isFinite(cs) ? cs : null,
        sharedCores: p.sharedCores, busy: !!(p.load && p.load.otherCpus > BUSY_CPUS) || !!(one.load && one.load.otherCpus > BUSY_CPUS),
      });
    }
  return out;
}

const MiB = 2 ** 20;

function targets(points: Point[], fits: ModelFit[], scal: Scaling[]): Target[] {
  const out: Target[] = [];
  const at = (N: number, T: number) => points.find((p) => p.N === N && p.threads === T);
  for (const ref of HF_ORT_REFERENCE) {
    const p = at(ref.N, 1);
    const big = ref.N === 16384;
    const lm = p?.results.layer?.medianMs;
    if (lm === undefined || !Number.isFinite(lm)) {
      if (big) out.push({ name: `N=${ref.N}, 1 thread: >= ${HF_SPEED_TARGET}x faster than HF's layer in ORT (${ref.secondsLow}-${ref.secondsHigh} s)`, measured: 'not measured in this run', met: null });
      continue;
    }
    const lo = (1000 * ref.secondsLow) / lm, hi = (1000 * ref.secondsHigh) / lm;
    const one = ref.secondsLow === ref.secondsHigh;
    const sp = `${ms(lm)} ms: ${one ? `${lo.toFixed(1)}x faster than ~${ref.secondsLow}` : `${lo.toFixed(1)}x-${hi.toFixed(1)}x faster than ${ref.secondsLow}-${ref.secondsHigh}`} s`;
    out.push({
      name: `N=${ref.N}, 1 thread: ${big ? `>= ${HF_SPEED_TARGET}x ` : ''}faster than HF's layer in ORT 1.30 (reference figure, not measured here)`,
      measured: sp + (p!.results.ort?.medianMs !== undefined ? `; our own graph in ORT here: ${ms(p!.results.ort.medianMs)} ms` : ''),
      met: big ? lo >= HF_SPEED_TARGET : null,
    });
    const m = p!.results.layer?.memory;
    if (m && !m.error) {
      // Judged on the process's RSS at the call's peak (Node, weights, input, output and the call's
      // scratch): the child's lifetime peak also holds the bench's own setup garbage (seeded inputs
      // generated in JS), which varies from run to run and says nothing about the layer.
      const hfBytes = ref.peakRssGB * 1e9;
      const x = (mib: number) => (hfBytes / (mib * MiB)).toFixed(0);
      const procX = hfBytes / (m.first.peakMiB * MiB);
      const ortMem = p!.results.ort?.memory;
      out.push({
        name: `N=${ref.N}, 1 thread: ${big ? `>= ${HF_RSS_TARGET}x ` : ''}less peak RSS than HF's layer in ORT (${ref.peakRssGB} GB)`,
        measured:
          `process RSS at the call's peak ${fix(m.first.peakMiB, 0)} MiB (${x(m.first.peakMiB)}x less); the call itself adds ${fix(m.first.addedMiB, 0)} MiB (${x(m.first.addedMiB)}x); ` +
          `the child's lifetime peak, bench setup included, ${fix(m.processPeakMiB, 0)} MiB (${x(m.processPeakMiB)}x)` +
          (ortMem && !ortMem.error ? `; our graph in ORT: ${fix(ortMem.first.peakMiB, 0)} MiB at the call's peak, the call adds ${fix(ortMem.first.addedMiB, 0)} MiB` : ''),
        met: big ? procX >= HF_RSS_TARGET : null,
      });
    } else if (big) out.push({ name: `N=${ref.N}, 1 thread: >= ${HF_RSS_TARGET}x less peak RSS than HF (${ref.peakRssGB} GB)`, measured: 'not measured (--no-mem)', met: null });
  }
  for (const f of fits.filter((x) => x.impl === 'layer')) {
    const rs = f.ns.map((N) => `${N}: ${f.ratios[N].toFixed(2)}`).join(', ');
    out.push({
      name: `layer time follows the FLOP model within ${MODEL_TOLERANCE}x, N=${MODEL_RANGE[0]}-${MODEL_RANGE[1]}, ${f.threads} thread(s)`,
      measured:
        `measured/predicted at ${(100 * f.fraction).toFixed(0)}% of peak: ${rs} (worst ${f.worst.toFixed(2)}x, slowest/fastest ${f.spread.toFixed(2)})` +
        (f.met === null && f.worst > MODEL_TOLERANCE ? '; inconclusive: the misses were at points with a busy machine or shared cores' : ''),
      met: f.met,
    });
  }
  const sl = scal.filter((s) => s.layer !== null);
  if (sl.length) {
    const fails = sl.filter((s) => s.layer! < SPEEDUP_TARGET);
    const explained = fails.every((s) => s.sharedCores || s.busy);
    out.push({
      name: `${sl[0].threads} threads >= ${SPEEDUP_TARGET}x one thread (layer)`,
      measured:
        sl.map((s) => `${s.N}: ${s.layer!.toFixed(2)}x${s.sharedCores ? ' (SHARED cores)' : s.busy ? ' (busy)' : ''}`).join(', ') +
        (fails.length && explained ? '; inconclusive: every miss was at a point with shared cores or a busy machine' : ''),
      met: fails.length === 0 ? true : explained ? null : false,
    });
  }
  return out;
}

/** FLOP-model fits, thread scaling and the targets of a run's points (also sets each result's predRatio). */
export function analyzeTGlobal(points: Point[], peak1: number): { fits: ModelFit[]; scaling: Scaling[]; targets: Target[] } {
  const fits: ModelFit[] = [];
  for (const T of [...new Set(points.map((p) => p.threads))].sort((a, b) => a - b))
    for (const impl of ['layer', 'core'] as const) {
      const f = fitModel(points, impl, T, peak1);
      if (f) fits.push(f);
    }
  const scaling = scalings(points);
  return { fits, scaling, targets: targets(points, fits, scaling) };
}

/**
 * The printed tables (at most 120 columns: the core's GF/s, dense/ours, the core's and dense's RSS
 * and the reps are in the JSON), the notes, and the targets as lines (JSON only). Exported for the
 * tests, which feed it worst-case points.
 */
export function report(
  points: Point[], impls: Impl[], machine: MachineInfo, o: Pick<TGlobalOptions, 'mem' | 'ns' | 'denseMax'>, fits: ModelFit[], scal: Scaling[], tg: Target[],
) {
  const has = (i: Impl) => impls.includes(i);
  const headers = ['N', 'T', 'layer', 'core'];
  if (has('dense')) headers.push('dense');
  if (has('ort')) headers.push('ORT');
  headers.push('GF/s', '%pk', 't/pred');
  if (has('ort')) headers.push('ORT/ours', 'diff');
  if (o.mem) {
    headers.push('RSS');
    if (has('ort')) headers.push('RSS-ORT');
  }
  headers.push('other', 'fma1', 'cores');
  const rss = (p: Point, i: Impl) => {
    const m = p.results[i]?.memory;
    return !m || m.error ? '-' : fix(m.first.addedMiB);
  };
  const rows = points.map((p) => {
    const r = p.results;
    const row = [String(p.N), String(p.threads), ms(r.layer?.medianMs), ms(r.core?.medianMs)];
    if (has('dense')) row.push(ms(r.dense?.medianMs));
    if (has('ort')) row.push(ms(r.ort?.medianMs));
    row.push(fix(r.layer?.gflops), pctCell(r.layer?.pctPeak), fix(r.layer?.predRatio, 2));
    if (has('ort')) {
      const d = r.ort?.maxAbsDiff;
      row.push(p.ortOverLayer === null ? '-' : `${p.ortOverLayer.toFixed(2)}x`, d === undefined ? '-' : `${sci(d)}${!(d <= TOLERANCE) ? '!' : ''}`);
    }
    if (o.mem) {
      row.push(rss(p, 'layer'));
      if (has('ort')) row.push(rss(p, 'ort'));
    }
    row.push(...conditionCells(p, machine.fmaPeak1T));
    return row;
  });
  const table = formatTable(headers, rows);

  let scalingTable = '';
  if (scal.length) {
    const h2 = ['N', `T`, 'layer', 'core'];
    if (has('dense')) h2.push('dense');
    if (has('ort')) h2.push('ORT');
    h2.push('FMA probe', 'flag');
    const x = (v: number | null) => (v === null ? '-' : `${v.toFixed(2)}x`);
    scalingTable = formatTable(
      h2,
      scal.map((s) => {
        const row = [String(s.N), `${s.threads}/1`, x(s.layer), x(s.core)];
        if (has('dense')) row.push(x(s.dense));
        if (has('ort')) row.push(x(s.ort));
        row.push(x(s.coreProbe), `${s.layer !== null && s.layer < SPEEDUP_TARGET ? '<1.8x' : ''}${s.sharedCores ? ' SHARED' : ''}${s.busy ? ' busy' : ''}`.trim() || 'ok');
        return row;
      }),
    );
  }

  const notes: string[] = [];
  notes.push(
    `layer, core, dense, ORT = median ms of one call: layer = ${IMPL_LABEL.layer}; core = ${IMPL_LABEL.core} on random q, k, v, ` +
      `global k, v [B,H,·,D] with both bias tables; dense = ${IMPL_LABEL.dense}${o.denseMax < Math.max(...o.ns) ? ` (only N <= ${o.denseMax}: O(N²))` : ''}; ` +
      `ORT = ${IMPL_LABEL.ort} (intra-op threads T, output preallocated).`,
  );
  notes.push(
    `Shape: B=${B}, d_model=${D_MODEL}, H=${H}, d_kv=${D}, r=${R}, g=${G_BLOCK}, G=floor(N/${G_BLOCK}); no padding. ` +
      `FLOP model: core 4·B·H·N·D·(min(2r+1, N)+G); layer = core + 4 projections 2·N·d_model·H·D (q, k, v, o) + 2 of the G global tokens; ` +
      `dense = 4·B·H·N²·D + 4 projections. GF/s = the layer's; %pk = GF/s / (${machine.fmaPeak1T.toFixed(1)} GFLOP/s × T), ` +
      'the best one-thread FMA rate measured in this run. The core\'s GF/s, every RSS figure and the reps are in the JSON.',
  );
  const fitText = fits.map((f) => `${f.impl} T=${f.threads}: ${(100 * f.fraction).toFixed(0)}% over N=${f.ns.join(',')}`).join('; ');
  if (fits.length)
    notes.push(`t/pred = layer's measured / predicted time, predicted = FLOPs / (fraction × peak × T), fraction fitted per T as the median efficiency (${fitText}).`);
  if (has('ort'))
    notes.push(`ORT/ours = ORT median / layer median (> 1: ours faster); diff = max |layer - ORT| over the output (tolerance ${TOLERANCE}; '!' = above it).`);
  if (o.mem)
    notes.push(
      'RSS, RSS-ORT = MiB of peak RSS one call of the layer / of ORT adds above its inputs, weights and output (first call in a fresh process; ' +
        'ORT: after session creation). The JSON also has each child\'s whole-process peak (processPeakMiB).',
    );
  if (points.some((p) => (p.results.layer?.pctPeak ?? 0) > 100)) notes.push(PEAK_NOTE);
  notes.push(...conditionColumnNotes());
  const bad = points.filter((p) => p.results.ort?.maxAbsDiff !== undefined && !(p.results.ort.maxAbsDiff <= TOLERANCE));
  if (bad.length) notes.push(`WRONG RESULTS: layer and ORT disagree beyond ${TOLERANCE}: ${bad.map((p) => `N=${p.N} T=${p.threads}`).join(', ')}.`);
  const errs = points.flatMap((p) => impls.filter((i) => p.results[i]?.error).map((i) => `${i} at N=${p.N} T=${p.threads}: ${p.results[i]!.error!.split('\n')[0]}`));
  const memErrs = points.flatMap((p) => impls.filter((i) => p.results[i]?.memory?.error).map((i) => `${i} at N=${p.N} T=${p.threads}: ${p.results[i]!.memory!.error!.split('\n')[0].slice(0, 200)}`));
  if (errs.length) notes.push(`Errors: ${errs.join('; ')}`);
  if (memErrs.length) notes.push(`Memory measurement errors: ${memErrs.join('; ')}`);
  notes.push(...conditionWarnings(points));
  const skipped = has('dense') ? [...new Set(points.filter((p) => p.N > o.denseMax).map((p) => p.N))] : [];
  if (skipped.length) notes.push(`dense skipped at N = ${skipped.join(', ')} (above --dense-max ${o.denseMax}).`);
  const prof = points.filter((p) => p.ortProfile);
  for (const p of prof) {
    const r = p.ortProfile!;
    const top = Object.entries(r.byOp).sort((a, b) => b[1] - a[1]).slice(0, 5).map(([k, v]) => `${k} ${ms(v)}`).join(', ');
    notes.push(`ORT profile N=${p.N} T=${p.threads}: model_run ${ms(r.modelRunMs)} ms of ${ms(r.jsMs)} ms; top ops (ms): ${top}.`);
  }
  const targetLines = tg.map((t) => `${t.met === true ? 'MET' : t.met === false ? 'NOT MET' : 'n/a'}: ${t.name} — ${t.measured}`);
  return { table, scalingTable, notes, targetLines };
}

export interface TGlobalRun {
  result: Record<string, unknown> & { points: Point[]; table: string; notes: string[]; targets: Target[] };
  title: string;
  table: string;
  scalingTable: string;
  notes: string[];
  targetLines: string[];
  points: Point[];
  /** Some point's layer and ORT outputs disagree beyond the tolerance. */
  wrong: boolean;
  /** The same run with %peak (tables, notes, fits, JSON) against another one-thread peak: a later bench of the same run may have seen a higher one. */
  rebase(bestPeak: number): TGlobalRun;
}

/**
 * Runs the TGlobal bench with `o` (progress on stderr, nothing on stdout); `ctx` shares the FMA
 * peak, machine description and core probes with other benches of the same run (default: its own).
 */
export async function runTGlobal(o: TGlobalOptions, ctx?: BenchContext, argv: string[] = []): Promise<TGlobalRun> {
  const i = info();
  for (const t of o.threads)
    if (t > i.hardwareThreads) progress(`warning: ${t} threads > ${i.hardwareThreads} hardware threads; results will be oversubscribed`);
  const impls: Impl[] = ['layer', 'core'];
  if (o.dense && o.ns.some((N) => N <= o.denseMax)) impls.push('dense');
  if (o.ort) {
    if (loadOrt()) impls.push('ort');
    else progress(`tglobal: ONNX Runtime skipped: onnxruntime-node cannot be loaded (${ortLoadError().split('\n')[0]})`);
  }
  const own = ctx === undefined;
  const c = ctx ?? createContext();
  const title =
    `TGlobal bench: B=${B} d_model=${D_MODEL} H=${H} d_kv=${D} r=${R} g=${G_BLOCK}, N in {${o.ns.join(', ')}}, threads {${o.threads.join(', ')}}, reps ${o.reps}` +
    `; ${impls.join(', ')}`;
  const t0 = nowMs();
  const points: Point[] = [];
  for (const N of o.ns)
    for (const T of o.threads) {
      points.push(await benchPoint(o, N, T, c, impls));
    }
  if (own) await closeContext(c);
  const wallS = (nowMs() - t0) / 1000;
  const finish = (bestPeak: number): TGlobalRun => {
    // %peak against the best one-thread FMA rate seen in the whole run (see rebasePctPeak).
    const machine: MachineInfo = { ...c.machine, fmaPeak1T: bestPeak };
    rebasePctPeak(points, bestPeak);
    const { fits, scaling: scal, targets: tg } = analyzeTGlobal(points, bestPeak);
    const { table, scalingTable, notes, targetLines } = report(points, impls, machine, o, fits, scal, tg);
    const result = {
      bench: 'tglobal',
      schema: 1,
      config: {
        B, dModel: D_MODEL, H, dKv: D, localRadius: R, globalBlockSize: G_BLOCK, numBuckets: NUM_BUCKETS, maxDistance: MAX_DISTANCE,
        ns: o.ns, threads: o.threads, reps: o.reps, quick: o.quick, impls, denseMax: o.dense ? o.denseMax : 0, seed: SEED, gapMs: GAP_MS, tolerance: TOLERANCE,
        flopModel: {
          core: '4*B*H*N*D*(min(2r+1,N)+G)', layer: 'core + 4*(2*B*N*d_model*H*D) + 2*(2*B*G*d_model*H*D)', dense: '4*B*H*N*N*D + 4*(2*B*N*d_model*H*D)',
        },
        inputs: 'hidden ~ N(0,1) [B,N,d_model], no padding; weights ~ N(0, 1/fan_in) (seeded); core: q ~ N(0,1/D), k, v, global k, v ~ N(0,1), [B,H,.,D]',
        calls: IMPL_LABEL,
        ortSession: { intraOpNumThreads: 'T', interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential', outputPreallocated: true },
        modelCheck: { range: MODEL_RANGE, tolerance: MODEL_TOLERANCE },
        hfOrtReference: HF_ORT_REFERENCE,
        argv,
      },
      machine,
      fmaPeak: { startup: c.startupPeak, best: bestPeak, rule: FMA_PEAK_RULE },
      wallSeconds: wallS,
      points,
      modelFits: fits,
      scaling: scal,
      targets: tg,
      table,
      scalingTable,
      notes,
    };
    return { result, title, table, scalingTable, notes, targetLines, points, wrong: notes.some((n) => n.startsWith('WRONG RESULTS')), rebase: finish };
  };
  return finish(c.bestPeak);
}

/** The run as text: title, table, scaling table, notes (the targets are in the JSON). */
export function formatTGlobal(run: TGlobalRun): string {
  const parts = [wrapText(run.title, undefined, '  '), run.table, ''];
  if (run.scalingTable) parts.push('Threads: speedup over one thread (median times), with the FMA core probe at that point', run.scalingTable, '');
  parts.push(wrapNotes(run.notes));
  return `${parts.join('\n')}\n`;
}

async function main(argv: string[]): Promise<void> {
  const o = parseTGlobalArgs(argv);
  if (o === 'help') {
    process.stdout.write(TGLOBAL_USAGE);
    return;
  }
  const ctx = createContext();
  process.stdout.write(`${formatMachine(ctx.machine)}\n\n`);
  const run = await runTGlobal(o, ctx, argv);
  await closeContext(ctx);
  process.stdout.write(formatTGlobal(run));
  const file = writeJson(o.json, run.result);
  const svg = writeChartFor(file.replace(/\.json$/, '') + '.svg', { tglobal: run.result });
  progress(`wrote ${path.relative(process.cwd(), file)} and ${path.relative(process.cwd(), svg)} (${(run.result.wallSeconds as number).toFixed(0)} s)`);
  if (run.wrong) process.exitCode = 1;
}

if (require.main === module && !memChildMain(memChild)) {
  main(process.argv.slice(2)).catch((err) => {
    process.stderr.write(`${(err as Error).stack ?? err}\n`);
    process.exit(1);
  });
}

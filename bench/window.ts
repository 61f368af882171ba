// Sliding-window attention bench: attention(q, k, v, { causal, window: [left, right] }) against its FLOP
// model, against the same window on float16 tensors, and against the dense call on the same inputs,
// interleaved in one run (the harness: waits, FMA probes, warm-up, medians; bench/common/harness.ts).
//
//   npm run bench:window -- [--n 16384] [--window 255,0] [--threads 1] [--reps K] [--json FILE] [--no-dense]
//                           [--no-half] [--max-wait S]
//
// Shape B=1, H=8, D=64, Nq = Nk = N, causal (the diagonal bottom-right). FLOP model: 4·D FLOPs per
// admissible (i, j) pair, counted exactly (pairsOf), so the window's first rows, which see fewer
// keys, are not charged for keys they cannot attend. `model` = that count at the best one-thread
// FMA rate of the run × T; `t/model` = median / model (1.0 = every FMA unit busy on useful work).
// `f16/f32` = the float16 call's median / the float32 window's (both write into a preallocated out).
// `floor` = the lowest t/model the products allow on this core: the kernel's own Q·Kᵀ and P·V
// micro-kernels, timed on operands in L1 (native.measureMicrokernels), against the same FMA peak.
import * as path from 'path';
import { parseArgs } from 'util';
import { attention, info } from '../lib/index';
import { float32ToHalf, halfToFloat32 } from '../lib/half';
import { parseIntList, parsePositiveInt, progress } from './common/cli';
import { MicrokernelRates, microkernelRates } from './common/fma';
import { closeContext, conditionCells, conditionColumnNotes, conditionWarnings, createContext, FMA_PEAK_RULE, PointConditions } from './common/conditions';
import { doneLine, measurePoint, rebasePctPeak, Runner, Timed } from './common/harness';
import { formatMachine } from './common/machine';
import { randomNormal } from './common/random';
import { defaultResultPath, writeJson } from './common/results';
import { nowMs } from './common/stats';
import { fix, formatTable, ms, wrapNotes, wrapText } from './common/table';

const B = 1;
const H = 8;
const D = 64;
const GAP_MS = 100;
const SEED = 20261207;

type Impl = 'window' | 'float16' | 'dense';

/** Admissible (i, j) pairs of one head: causal, key j in [i - left, i + right], Nq = Nk = N. */
export function pairsOf(N: number, left: number, right: number): number {
  let pairs = 0;
  for (let i = 0; i < N; i++) {
    const lo = Math.max(0, i - left);
    const hi = Math.min(i, i + right, N - 1);
    if (hi >= lo) pairs += hi - lo + 1;
  }
  return pairs;
}

export interface WindowOptions {
  ns: number[];
  window: [number, number];
  threads: number[];
  reps: number;
  json: string;
  dense: boolean;
  half: boolean;
  maxWaitS: number;
}

export const WINDOW_USAGE = `usage: node dist/bench/window.js [options]
  --n LIST         sequence lengths (default 16384)
  --window L,R     window sides (default 255,0: each query attends itself and the 255 keys before it)
  --threads LIST   thread counts (default 1)
  --reps K         timed calls per implementation and point (default 7; 3 when a call takes > 2 s)
  --json FILE      result file (default ./global-attention-window-<date>.json in the current folder)
  --no-dense       skip the dense call (it takes seconds at N = 16384)
  --no-half        skip the float16 window call
  --max-wait S     before each point, wait up to S seconds (default 15; 0 = never) for a quiet machine
`;

export function parseWindowArgs(argv: string[]): WindowOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      n: { type: 'string' }, window: { type: 'string' }, threads: { type: 'string' }, reps: { type: 'string' },
      json: { type: 'string' }, 'no-dense': { type: 'boolean' }, 'no-half': { type: 'boolean' }, 'max-wait': { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const w = values.window !== undefined ? values.window.split(',').map((x) => (/^\d+$/.test(x.trim()) ? Number(x) : NaN)) : [255, 0];
  if (w.length !== 2 || !w.every(Number.isSafeInteger)) throw new RangeError(`--window: expected two integers >= 0 as L,R, got '${values.window}'`);
  const maxWaitS = values['max-wait'] !== undefined ? Number(values['max-wait']) : 15;
  if (!(maxWaitS >= 0 && Number.isFinite(maxWaitS))) throw new RangeError(`--max-wait: '${values['max-wait']}' is not a number >= 0`);
  return {
    ns: values.n ? parseIntList('--n', values.n) : [16384],
    window: [w[0], w[1]],
    threads: values.threads ? parseIntList('--threads', values.threads) : [1],
    reps: values.reps ? parsePositiveInt('--reps', values.reps) : 7,
    json: values.json ?? defaultResultPath('window'),
    dense: !(values['no-dense'] ?? false),
    half: !(values['no-half'] ?? false),
    maxWaitS,
  };
}

export interface Point extends PointConditions {
  reps: number;
  pairs: number;
  flops: number;
  results: Partial<Record<Impl, Timed>>;
  /** The FLOP model's time at the run's best one-thread peak × T, ms. */
  modelMs: number;
  /** window median / modelMs. */
  overModel: number;
  /** The products' own bound on overModel: the peak over the micro-kernels' L1 rates (equal QK and PV FLOPs). */
  floor: number;
  /** dense median / window median. */
  denseOverWindow: number | null;
  /** float16 window median / float32 window median. */
  halfOverFloat: number | null;
  /** max |window - reference| on rows sampled from the output (float64 reference). */
  maxAbsDiff: number;
  /** The same for the float16 call (reference on the float16-rounded inputs; output rounded to float16). */
  maxAbsDiffHalf: number | null;
}

/** A float64 reference of rows `rows` of head 0 (the check that the timed call computes the window). */
function referenceRows(q: Float32Array, k: Float32Array, v: Float32Array, N: number, left: number, right: number, rows: number[], out: Float32Array): number {
  let worst = 0;
  const scale = 1 / Math.sqrt(D);
  for (const i of rows) {
    const lo = Math.max(0, i - left);
    const hi = Math.min(i, i + right, N - 1);
    const s: number[] = [];
    let m = -Infinity;
    for (let j = lo; j <= hi; j++) {
      let dot = 0;
      for (let d = 0; d < D; d++) dot += q[i * D + d] * k[j * D + d];
      s.push(dot * scale);
      m = Math.max(m, dot * scale);
    }
    let l = 0;
    const o = new Float64Array(D);
    s.forEach((x, t) => {
      const p = Math.exp(x - m);
      l += p;
      for (let d = 0; d < D; d++) o[d] += p * v[(lo + t) * D + d];
    });
    for (let d = 0; d < D; d++) worst = Math.max(worst, Math.abs(o[d] / l - out[i * D + d]));
  }
  return worst;
}

async function benchPoint(o: WindowOptions, N: number, threads: number, ctx: ReturnType<typeof createContext>, impls: Impl[]): Promise<Point> {
  const [left, right] = o.window;
  const tag = `[window N=${N} w=${left},${right} T=${threads}]`;
  const pairs = pairsOf(N, left, right);
  const flops = 4 * B * H * pairs * D;
  const n = B * H * N * D;
  const dims = [B, H, N, D];
  const q = randomNormal(n, SEED + 3 * N), k = randomNormal(n, SEED + 3 * N + 1), v = randomNormal(n, SEED + 3 * N + 2);
  const point: Point = {
    N, threads, reps: 0, pairs, flops, results: {}, modelMs: NaN, overModel: NaN, floor: NaN, denseOverWindow: null, halfOverFloat: null,
    maxAbsDiff: NaN, maxAbsDiffHalf: null, sharedCores: null, load: null, waitedS: 0,
  };
  // float16 copies of the inputs and the float16 output, made once (n is even: 4-byte views of
  // them serve the harness).
  const half = impls.includes('float16') ? [q, k, v].map((x) => float32ToHalf('float16', x)) : [];
  const out16 = new Uint16Array(half.length ? n : 0);
  const asFloat32 = (h: Uint16Array) => new Float32Array(h.buffer, h.byteOffset, h.length / 2);
  const runner = (impl: Impl): Runner => {
    if (impl === 'float16') {
      const [qh, kh, vh] = half.map((data) => ({ type: 'float16' as const, data, dims }));
      const opts = { causal: true, window: [left, right] as [number, number], out: out16, threads };
      return { out: asFloat32(out16), arrays: half.map(asFloat32), run: () => attention(qh, kh, vh, opts), release: async () => {} };
    }
    const out = new Float32Array(n);
    const opts = impl === 'window' ? { causal: true, window: [left, right] as [number, number] } : {};
    return { out, arrays: [q, k, v], run: () => attention({ data: q, dims }, { data: k, dims }, { data: v, dims }, { ...opts, out, threads }), release: async () => {} };
  };
  const m = await measurePoint<Impl, never>({
    tag, impls, reps: o.reps, gapMs: GAP_MS, maxWaitS: o.maxWaitS, ctx, point,
    flops: (impl) => (impl === 'dense' ? 4 * B * H * N * N * D : flops),
    makeRunner: async (impl) => runner(impl),
    afterWarmup: (runners) => {
      const rows = [0, 1, left, left + 1, Math.floor(N / 2), N - 1].filter((i) => i >= 0 && i < N);
      point.maxAbsDiff = referenceRows(q, k, v, N, left, right, rows, runners.window!.out);
      if (runners.float16) {
        const [qr, kr, vr] = half.map((h) => halfToFloat32('float16', h));
        point.maxAbsDiffHalf = referenceRows(qr, kr, vr, N, left, right, rows, halfToFloat32('float16', out16));
      }
    },
  });
  point.results = m.results;
  progress(doneLine(tag, 'window', m.results.window));
  return point;
}

/** The lowest t/model the products allow: half the FLOPs at each micro-kernel's rate, against `peak`. */
export function productsFloor(peak: number, mk: MicrokernelRates): number {
  return 0.5 * (peak / mk.qk) + 0.5 * (peak / mk.pv);
}

function finishPoints(points: Point[], peak: number, mk: MicrokernelRates): void {
  rebasePctPeak(points, peak);
  for (const p of points) {
    p.floor = productsFloor(peak, mk);
    const w = p.results.window?.medianMs ?? NaN;
    p.modelMs = (p.flops / (peak * 1e9 * p.threads)) * 1e3;
    p.overModel = w / p.modelMs;
    const d = p.results.dense?.medianMs;
    p.denseOverWindow = d !== undefined && Number.isFinite(d) ? d / w : null;
    const h = p.results.float16?.medianMs;
    p.halfOverFloat = h !== undefined && Number.isFinite(h) ? h / w : null;
  }
}

export function report(points: Point[], o: Pick<WindowOptions, 'window'>, peak: number, mk: MicrokernelRates): { table: string; notes: string[] } {
  const headers = ['N', 'T', 'window', 'model', 't/model', 'floor', 'GF/s', 'float16', 'f16/f32', 'dense', 'dense/win', 'diff', 'diff16', 'other', 'fma1', 'cores'];
  const rows = points.map((p) => [
    String(p.N), String(p.threads), ms(p.results.window?.medianMs), ms(p.modelMs), fix(p.overModel, 2), fix(p.floor, 2), fix(p.results.window?.gflops),
    ms(p.results.float16?.medianMs), p.halfOverFloat === null ? '-' : fix(p.halfOverFloat, 3),
    ms(p.results.dense?.medianMs), p.denseOverWindow === null ? '-' : `${fix(p.denseOverWindow)}x`, p.maxAbsDiff.toExponential(1),
    p.maxAbsDiffHalf === null ? '-' : p.maxAbsDiffHalf.toExponential(1),
    ...conditionCells(p, peak),
  ]);
  const notes = [
    `window = median ms of attention(q, k, v, { causal: true, window: [${o.window.join(', ')}] }), B=${B} H=${H} D=${D}; ` +
      'float16 = the same window on the inputs rounded to float16 ({ type: \'float16\' } tensors, a Uint16Array out); ' +
      'f16/f32 = float16 / window (at most 1: float16 no slower than float32). ' +
      `dense = the same inputs without causal or window. model = 4·D FLOPs per admissible (i, j) pair (counted exactly) ` +
      `at ${peak.toFixed(1)} GFLOP/s × T (the run's best one-thread FMA rate); t/model = window / model. ` +
      'diff = max |window - float64 reference| over six sampled rows of head 0; diff16 the same for the float16 call ' +
      '(reference on the rounded inputs; its output is rounded to float16, ~5e-4 at these magnitudes).',
    `floor = the t/model the products alone allow: the kernel's Q·Kᵀ and P·V micro-kernels on operands in L1, one thread, ` +
      `${mk.qk.toFixed(1)} and ${mk.pv.toFixed(1)} GFLOP/s (${((100 * mk.qk) / peak).toFixed(0)} % and ${((100 * mk.pv) / peak).toFixed(0)} % ` +
      'of the peak; the best of probes before and after the points), each doing half the FLOPs. The softmax, tile edges ' +
      'and block set-up come on top; t/model - floor is what the kernel loses around its micro-kernels.',
    ...conditionColumnNotes(),
    ...conditionWarnings(points),
  ];
  return { table: formatTable(headers, rows), notes };
}

async function main(argv: string[]): Promise<void> {
  const o = parseWindowArgs(argv);
  if (o === 'help') {
    process.stdout.write(WINDOW_USAGE);
    return;
  }
  const ctx = createContext(false);
  process.stdout.write(`${formatMachine(ctx.machine)}\n\n`);
  const hw = info().hardwareThreads;
  for (const t of o.threads) if (t > hw) progress(`warning: ${t} threads > ${hw} hardware threads; results will be oversubscribed`);
  const impls: Impl[] = ['window', ...(o.half ? ['float16' as const] : []), ...(o.dense ? ['dense' as const] : [])];
  const t0 = nowMs();
  const mkBefore = microkernelRates();
  const points: Point[] = [];
  for (const N of o.ns) for (const T of o.threads) points.push(await benchPoint(o, N, T, ctx, impls));
  const mkAfter = microkernelRates();
  await closeContext(ctx);
  const mk = { qk: Math.max(mkBefore.qk, mkAfter.qk), pv: Math.max(mkBefore.pv, mkAfter.pv) };
  finishPoints(points, ctx.bestPeak, mk);
  const { table, notes } = report(points, o, ctx.bestPeak, mk);
  const title = `Sliding-window bench: B=${B} H=${H} D=${D}, window [${o.window.join(', ')}], N in {${o.ns.join(', ')}}, threads {${o.threads.join(', ')}}`;
  process.stdout.write(`${wrapText(title)}\n${table}\n\n${wrapNotes(notes)}\n`);
  const result = {
    bench: 'window', schema: 1,
    config: { B, H, D, ns: o.ns, window: o.window, threads: o.threads, reps: o.reps, impls, seed: SEED, gapMs: GAP_MS, flopModel: '4*B*H*pairs*D', argv },
    machine: ctx.machine, fmaPeak: { startup: ctx.startupPeak, best: ctx.bestPeak, rule: FMA_PEAK_RULE },
    microkernels: { ...mk, before: mkBefore, after: mkAfter, rule: 'best of 3 probes of 0.2 s each, before and after the points; one thread, operands in L1' },
    wallSeconds: (nowMs() - t0) / 1000, points, table, notes,
  };
  const file = writeJson(o.json, result);
  progress(`wrote ${path.relative(process.cwd(), file)}`);
  if (points.some((p) => !(p.maxAbsDiff <= 1e-4) || (p.maxAbsDiffHalf !== null && !(p.maxAbsDiffHalf <= 5e-3)))) process.exitCode = 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err) => {
    process.stderr.write(`${(err as Error).stack ?? err}\n`);
    process.exit(1);
  });
}

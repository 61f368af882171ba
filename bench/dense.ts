// Dense attention bench (DESIGN §4): ours vs ONNX Runtime's `Attention` (opset 23) and
// com.microsoft `MultiHeadAttention`, same inputs, interleaved in one run.
//
//   npm run bench:dense -- [--n 512,4096] [--threads 1,2] [--reps K] [--json FILE] [--quick]
//                          [--no-ort] [--no-mem] [--max-wait S]
//
// Shape B=1, H=8, D=64, Nq = Nk = N. Per point (N, threads):
//   - wait (up to --max-wait s) until other processes leave the CPUs alone;
//   - a one-thread FMA probe before and after; T >= 2: also T threads of FMA at once vs one
//     alone (two vCPUs sometimes share one physical core for a while: "shared cores");
//   - peak RSS one call adds, each implementation in a fresh child process (--no-mem skips);
//   - one warm-up call each, their outputs compared (max |ours - ORT|);
//   - `reps` rounds of ours, ORT Attention, ORT MHA (3 when a call takes > 2 s), 100 ms apart
//     (see GAP_MS); medians reported; the CPU time other processes used meanwhile is recorded;
//   - ORT's own profile of each op (separate session): attention kernel vs layout nodes vs the
//     Node binding's share of the wall time.
// Progress goes to stderr, the table to stdout, everything to bench/results/dense-<date>.json.
import * as path from 'path';
import { parseArgs } from 'util';
import type * as Ort from 'onnxruntime-node';
import { attention, info } from '../lib/index';
import { buildDenseAttentionModel } from '../lib/onnx/dense';
import { runJsonChild } from './common/child';
import { parseIntList, parsePositiveInt, progress } from './common/cli';
import {
  BenchContext, BUSY_CPUS, closeContext, conditionCells, conditionColumnNotes, conditionWarnings, createContext, FMA_PEAK_RULE, notePeak, PointConditions,
  probeAfter, probeBefore, waitForQuietPoint,
} from './common/conditions';
import { CoreProbe } from './common/fma';
import { LoadMeter } from './common/load';
import { formatMachine, MachineInfo } from './common/machine';
import { measureRss, RssDelta } from './common/memory';
import { createSession, f32, loadOrt, ortLoadError, profileRuns, RunProfile } from './common/ort';
import { maxAbsDiff, randomNormal, touch } from './common/random';
import { defaultResultPath, writeJson } from './common/results';
import { gflops, median, min, nowMs, repsFor, sleep, timeCall } from './common/stats';
import { fix, formatTable, ms, sci } from './common/table';

const B = 1;
const H = 8;
const D = 64;
const DEFAULT_NS = [256, 512, 1024, 2048, 4096, 8192];
const QUICK_NS = [256, 512, 1024];
/**
 * Pause after every call. ORT's intra-op pool threads keep spinning for ~50 ms after a run
 * (session.intra_op.allow_spinning, on by default): on a 2-vCPU machine that takes a whole CPU
 * from whatever runs next (measured: our 2-thread call at N=256 went from 1.3 ms to 6-12 ms).
 */
const GAP_MS = 100;
const SEED = 20240601;
/** |ours - ORT| above this fails the point (float32, D = 64, inputs ~ N(0, 1)). */
const TOLERANCE = 1e-4;
/** The issue's memory target: one call at N = 8192 adds less than this. */
const RSS_TARGET_MIB = 64;

type Impl = 'ours' | 'ortAttention' | 'ortMHA';
const ORT_OP: Record<Exclude<Impl, 'ours'>, 'Attention' | 'MultiHeadAttention'> = {
  ortAttention: 'Attention',
  ortMHA: 'MultiHeadAttention',
};

const flopsOf = (N: number) => 4 * B * H * N * N * D;

// ---------------------------------------------------------------------------------------------
// Inputs

interface Inputs {
  dims: number[];
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
}

function makeInputs(N: number): Inputs {
  const n = B * H * N * D;
  return { dims: [B, H, N, D], q: randomNormal(n, SEED + 3 * N), k: randomNormal(n, SEED + 3 * N + 1), v: randomNormal(n, SEED + 3 * N + 2) };
}

/** A runnable implementation: one call computes `out` from the inputs. */
interface Runner {
  run(): unknown;
  out: Float32Array;
  release(): Promise<void>;
}

function oursRunner(x: Inputs, threads: number): Runner {
  const out = new Float32Array(x.q.length);
  const q = { data: x.q, dims: x.dims };
  const k = { data: x.k, dims: x.dims };
  const v = { data: x.v, dims: x.dims };
  return { out, run: () => attention(q, k, v, { out, threads }), release: async () => {} };
}

/** lib/onnx's model of our dense attention around ORT's op; inputs q, k, v in our layout, output out. */
function ortModel(impl: Exclude<Impl, 'ours'>): Uint8Array {
  return buildDenseAttentionModel({ op: ORT_OP[impl], numHeads: H, headSize: D });
}

function ortFeeds(x: Inputs): Record<string, Ort.Tensor> {
  return { q: f32(x.q, x.dims), k: f32(x.k, x.dims), v: f32(x.v, x.dims) };
}

/** An ORT session for `impl`, its output preallocated (ORT writes into `out`, as ours does). */
async function ortRunner(impl: Exclude<Impl, 'ours'>, x: Inputs, threads: number): Promise<Runner> {
  const session = await createSession(ortModel(impl), threads);
  const feeds = ortFeeds(x);
  const out = new Float32Array(x.q.length);
  const fetches = { out: f32(out, x.dims) };
  return { out, run: () => session.run(feeds, fetches), release: () => session.release() };
}

// ---------------------------------------------------------------------------------------------
// Memory: one call's added RSS, measured in a fresh process per implementation

interface MemChildSpec {
  impl: Impl;
  N: number;
  threads: number;
}

export interface MemResult {
  /** The first call in a fresh process (with inputs and output resident, ORT's session created). */
  first: RssDelta;
  /** A second call right after: what a steady-state call adds. */
  second: RssDelta;
  /** RSS that creating the ORT session added (model, arena setup, thread pool), MiB. */
  sessionMiB: number | null;
  /** Inputs + output, MiB. */
  tensorsMiB: number;
  error?: string;
}

async function memChild(spec: MemChildSpec): Promise<MemResult> {
  const x = makeInputs(spec.N);
  let runner: Runner;
  let sessionMiB: number | null = null;
  if (spec.impl === 'ours') {
    runner = oursRunner(x, spec.threads);
  } else {
    loadOrt();
    const before = process.memoryUsage().rss;
    runner = await ortRunner(spec.impl, x, spec.threads);
    sessionMiB = (process.memoryUsage().rss - before) / 2 ** 20;
  }
  for (const a of [x.q, x.k, x.v, runner.out]) touch(a);
  const first = await measureRss(() => runner.run());
  const second = await measureRss(() => runner.run());
  await runner.release();
  return { first, second, sessionMiB, tensorsMiB: (4 * x.q.length * 4) / 2 ** 20 };
}

// ---------------------------------------------------------------------------------------------
// The bench

export interface ImplResult {
  /** Times of the timed calls, ms, in order. */
  times: number[];
  medianMs: number;
  minMs: number;
  /** The warm-up call (first call of this process at this shape), ms. */
  warmupMs: number;
  gflops: number;
  /** gflops / (one-thread FMA peak × threads), percent. */
  pctPeak: number;
  /** max |out - ours| (ORT only). */
  maxAbsDiff?: number;
  memory?: MemResult;
  error?: string;
}

export interface Point extends PointConditions {
  flops: number;
  reps: number;
  results: Partial<Record<Impl, ImplResult>>;
  /** ORT's faster op at this point. */
  ortBest: Impl | null;
  /** ours GFLOP/s / ORT best GFLOP/s (= ORT best ms / ours ms); > 1: ours is faster. */
  speedupVsOrtBest: number | null;
  /**
   * ORT's own per-op breakdown (a separate profiling session, after the timed rounds): how much
   * of each ORT figure is the attention kernel, layout nodes (Transpose/Reshape of the MHA
   * model), and the Node binding (JS wall time minus ORT's model_run).
   */
  ortProfile?: Partial<Record<Impl, RunProfile>>;
}

export interface DenseOptions {
  ns: number[];
  threads: number[];
  reps: number;
  json: string;
  quick: boolean;
  ort: boolean;
  mem: boolean;
  maxWaitS: number;
  /** Skip N above this (run.ts: the dense points of a shared --n list); default: none. */
  maxN?: number;
}

export const DENSE_USAGE = `usage: node dist/bench/dense.js [options]
  --n LIST         sequence lengths (default ${DEFAULT_NS.join(',')}; --quick: ${QUICK_NS.join(',')})
  --threads LIST   thread counts (default 1,<hardware threads>)
  --reps K         timed calls per implementation and point (default 5, --quick 3; at most 3 when a call takes > 2 s)
  --json FILE      result file (default bench/results/dense-<date>[-quick].json)
  --quick          smoke run: small N, fewer reps
  --no-ort         ours only
  --no-mem         skip the peak-RSS measurement (child processes)
  --max-wait S     before each point, wait up to S seconds (default 15, --quick 5; 0 = never) for other processes to
                   use < ${BUSY_CPUS} CPU
`;

function nonNegative(flag: string, s: string): number {
  const x = Number(s);
  if (!(x >= 0 && Number.isFinite(x))) throw new RangeError(`${flag}: '${s}' is not a number >= 0`);
  return x;
}

/** Parses the CLI; 'help' for --help/-h (throws RangeError/TypeError on bad arguments). */
export function parseDenseArgs(argv: string[]): DenseOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      n: { type: 'string' }, threads: { type: 'string' }, reps: { type: 'string' }, json: { type: 'string' },
      'max-wait': { type: 'string' }, quick: { type: 'boolean' }, 'no-ort': { type: 'boolean' }, 'no-mem': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const quick = values.quick ?? false;
  const hw = info().hardwareThreads;
  const threads = values.threads ? parseIntList('--threads', values.threads) : [...new Set([1, hw])];
  const suffix = quick ? '-quick' : '';
  return {
    ns: values.n ? parseIntList('--n', values.n) : quick ? QUICK_NS : DEFAULT_NS,
    threads,
    reps: values.reps ? parsePositiveInt('--reps', values.reps) : quick ? 3 : 5,
    json: values.json ?? defaultResultPath('dense').replace(/\.json$/, `${suffix}.json`),
    quick,
    ort: !(values['no-ort'] ?? false),
    mem: !(values['no-mem'] ?? false),
    maxWaitS: values['max-wait'] !== undefined ? nonNegative('--max-wait', values['max-wait']) : quick ? 5 : 15,
  };
}

async function measureMemory(impl: Impl, N: number, threads: number): Promise<MemResult> {
  const spec: MemChildSpec = { impl, N, threads };
  try {
    return await runJsonChild<MemResult>(__filename, ['--mem-child', JSON.stringify(spec)]);
  } catch (err) {
    const nan: RssDelta = { beforeMiB: NaN, peakMiB: NaN, addedMiB: NaN, keptMiB: NaN, exact: false };
    return { first: nan, second: nan, sessionMiB: null, tensorsMiB: NaN, error: (err as Error).message };
  }
}

async function benchPoint(o: DenseOptions, N: number, threads: number, peak1: number, probe: CoreProbe | undefined, impls: Impl[]): Promise<Point> {
  const tag = `[N=${N} T=${threads}]`;
  const flops = flopsOf(N);
  const point: Point = { N, threads, flops, reps: 0, results: {}, ortBest: null, speedupVsOrtBest: null, sharedCores: null, load: null, waitedS: 0 };

  point.waitedS = await waitForQuietPoint(tag, o.maxWaitS);
  await probeBefore(tag, point, probe);

  const memory: Partial<Record<Impl, MemResult>> = {};
  if (o.mem) {
    for (const impl of impls) {
      memory[impl] = await measureMemory(impl, N, threads);
      const m = memory[impl]!;
      progress(`${tag} memory ${impl}: ${m.error ? `error: ${m.error.split('\n')[0]}` : `first call +${fix(m.first.addedMiB)} MiB, second +${fix(m.second.addedMiB)} MiB`}`);
    }
  }

  const x = makeInputs(N);
  const runners: Partial<Record<Impl, Runner>> = {};
  const errors: Partial<Record<Impl, string>> = {};
  for (const impl of impls) {
    try {
      runners[impl] = impl === 'ours' ? oursRunner(x, threads) : await ortRunner(impl, x, threads);
    } catch (err) {
      errors[impl] = (err as Error).message;
    }
  }
  const live = () => impls.filter((i) => runners[i] && !errors[i]);
  const times: Partial<Record<Impl, number[]>> = {};
  const warm: Partial<Record<Impl, number>> = {};
  const call = async (impl: Impl): Promise<number> => {
    try {
      const t = await timeCall(() => runners[impl]!.run());
      await sleep(GAP_MS);
      return t;
    } catch (err) {
      errors[impl] = (err as Error).message;
      progress(`${tag} ${impl} failed: ${errors[impl]}`);
      return NaN;
    }
  };

  // Warm-up, and the check that ORT and ours agree.
  await sleep(GAP_MS);
  const meter = new LoadMeter();
  meter.start();
  for (const impl of live()) warm[impl] = await call(impl);
  progress(`${tag} warm-up: ${live().map((i) => `${i} ${ms(warm[i])} ms`).join(', ')}`);
  const diffs: Partial<Record<Impl, number>> = {};
  if (runners.ours && !errors.ours)
    for (const impl of live()) if (impl !== 'ours') diffs[impl] = maxAbsDiff(runners.ours.out, runners[impl]!.out);

  // Interleaved rounds.
  let reps = o.reps;
  for (let r = 0; r < reps; r++) {
    let slowest = 0;
    for (const impl of live()) {
      const t = await call(impl);
      (times[impl] ??= []).push(t);
      if (t > slowest) slowest = t;
    }
    if (r === 0) reps = repsFor(o.reps, slowest);
    progress(`${tag} round ${r + 1}/${reps}: ${live().map((i) => `${i} ${ms(times[i]![r])}`).join(', ')} ms`);
  }
  point.reps = reps;
  point.load = meter.stop();

  for (const impl of impls) await runners[impl]?.release();

  // ORT's per-op breakdown, in separate profiling sessions.
  for (const impl of live()) {
    if (impl === 'ours') continue;
    try {
      (point.ortProfile ??= {})[impl] = await profileRuns(ortModel(impl), threads, ortFeeds(x), 2, 1);
    } catch (err) {
      progress(`${tag} ORT profile of ${impl} failed: ${(err as Error).message}`);
    }
  }

  await probeAfter(tag, point, probe);

  for (const impl of impls) {
    const ts = times[impl] ?? [];
    const med = median(ts);
    const g = gflops(flops, med);
    point.results[impl] = {
      times: ts, medianMs: med, minMs: min(ts), warmupMs: warm[impl] ?? NaN, gflops: g, pctPeak: (100 * g) / (peak1 * threads),
      ...(diffs[impl] !== undefined ? { maxAbsDiff: diffs[impl] } : {}),
      ...(memory[impl] ? { memory: memory[impl] } : {}),
      ...(errors[impl] ? { error: errors[impl] } : {}),
    };
  }
  const ortImpls = impls.filter((i) => i !== 'ours' && Number.isFinite(point.results[i]?.medianMs));
  if (ortImpls.length) {
    const best = ortImpls.reduce((a, b) => (point.results[a]!.medianMs <= point.results[b]!.medianMs ? a : b));
    point.ortBest = best;
    const ours = point.results.ours?.medianMs;
    if (ours !== undefined && Number.isFinite(ours)) point.speedupVsOrtBest = point.results[best]!.medianMs / ours;
  }
  const ours = point.results.ours;
  progress(
    `${tag} done: ours ${ms(ours?.medianMs)} ms (${fix(ours?.gflops)} GFLOP/s, ${fix(ours?.pctPeak, 0)}% of the peak so far)` +
      (point.speedupVsOrtBest !== null ? `, ${point.speedupVsOrtBest.toFixed(2)}x ORT's best (${point.ortBest})` : ''),
  );
  return point;
}

function report(points: Point[], impls: Impl[], machine: MachineInfo, o: DenseOptions): { table: string; notes: string[] } {
  const hasOrt = impls.length > 1;
  const headers = ['N', 'T', 'ours ms'];
  if (hasOrt) headers.push('ORT-A ms', 'ORT-MHA ms');
  headers.push('ours GF/s', '%peak');
  if (hasOrt) headers.push('ORT-A GF/s', 'ORT-MHA GF/s', 'ours/best', 'diff A', 'diff MHA');
  if (o.mem) headers.push('RSS ours', ...(hasOrt ? ['RSS A', 'RSS MHA'] : []));
  headers.push('reps', 'other', 'fma1', 'cores');
  const notes: string[] = [];
  const rows = points.map((p) => {
    const r = p.results;
    const diff = (i: Impl) => {
      const d = r[i]?.maxAbsDiff;
      if (d === undefined) return '-';
      return `${sci(d)}${!(d <= TOLERANCE) ? '!' : ''}`;
    };
    const rss = (i: Impl) => {
      const m = r[i]?.memory;
      return !m || m.error ? '-' : fix(m.first.addedMiB);
    };
    const row = [String(p.N), String(p.threads), ms(r.ours?.medianMs)];
    if (hasOrt) row.push(ms(r.ortAttention?.medianMs), ms(r.ortMHA?.medianMs));
    row.push(fix(r.ours?.gflops), fix(r.ours?.pctPeak, 0));
    if (hasOrt)
      row.push(
        fix(r.ortAttention?.gflops), fix(r.ortMHA?.gflops),
        p.speedupVsOrtBest === null ? '-' : `${p.speedupVsOrtBest.toFixed(2)}x${p.ortBest === 'ortMHA' ? 'M' : p.ortBest === 'ortAttention' ? 'A' : ''}`,
        diff('ortAttention'), diff('ortMHA'),
      );
    if (o.mem) row.push(rss('ours'), ...(hasOrt ? [rss('ortAttention'), rss('ortMHA')] : []));
    row.push(String(p.reps), ...conditionCells(p, machine.fmaPeak1T));
    return row;
  });
  const table = formatTable(headers, rows);

  notes.push(
    `FLOP model 4·B·H·N²·D (B=${B}, H=${H}, D=${D}); GF/s from the median; %peak = ours GF/s / (${machine.fmaPeak1T.toFixed(1)} GFLOP/s × T), ` +
      'the best one-thread FMA rate measured in this run.',
  );
  if (hasOrt)
    notes.push(
      "ours/best = ORT's best median ms / ours median ms (> 1: ours faster); A/M = which ORT op was best. diff = max |ours - ORT| over the whole output (tolerance " +
        `${TOLERANCE}; '!' = above it).`,
    );
  if (o.mem)
    notes.push(
      'RSS = MiB of peak RSS one call adds above its inputs and output (first call in a fresh process; ORT: after session creation, around session.run, output preallocated).',
    );
  notes.push(...conditionColumnNotes());
  const bad = points.flatMap((p) =>
    (['ortAttention', 'ortMHA'] as Impl[]).filter((i) => p.results[i]?.maxAbsDiff !== undefined && !(p.results[i]!.maxAbsDiff! <= TOLERANCE)).map((i) => `${i} at N=${p.N} T=${p.threads}`),
  );
  if (bad.length) notes.push(`WRONG RESULTS: ours and ORT disagree beyond ${TOLERANCE}: ${bad.join(', ')}.`);
  const errs = points.flatMap((p) => impls.filter((i) => p.results[i]?.error).map((i) => `${i} at N=${p.N} T=${p.threads}: ${p.results[i]!.error!.split('\n')[0]}`));
  if (errs.length) notes.push(`Errors: ${errs.join('; ')}`);
  notes.push(...conditionWarnings(points));
  const profiled = points.filter((p) => p.ortProfile);
  const share = (p: Point, impl: Impl, part: (r: RunProfile) => number) => {
    const r = p.ortProfile?.[impl];
    return r ? part(r) / r.jsMs : NaN;
  };
  const layoutMs = (r: RunProfile) => (r.byOp.Transpose ?? 0) + (r.byOp.Reshape ?? 0);
  const bindingMs = (r: RunProfile) => Math.max(0, r.jsMs - r.modelRunMs);
  // Shares at the smallest and the largest N (fewest threads), where layout and binding costs matter most and least.
  const tMin = Math.min(...points.map((p) => p.threads));
  const ends = (impl: Impl) => {
    const ps = profiled.filter((p) => p.threads === tMin && p.ortProfile?.[impl]).sort((a, b) => a.N - b.N);
    return ps.length ? [...new Set([ps[0], ps[ps.length - 1]])] : [];
  };
  const mha = ends('ortMHA');
  if (mha.length) {
    const parts = mha.map((p) => {
      const r = p.ortProfile!.ortMHA!;
      return `${(100 * share(p, 'ortMHA', layoutMs)).toFixed(0)}% at N=${p.N} (${ms(layoutMs(r))} of ${ms(r.jsMs)} ms; MHA kernel ${ms(r.byOp.MultiHeadAttention)} ms)`;
    });
    const dominated = mha.some((p) => share(p, 'ortMHA', layoutMs) > 0.25);
    notes.push(
      `ORT MHA's model transposes q, k, v to [B,N,H·D] and the output back; per ORT's profiler those Transpose/Reshape nodes take ` +
        `${parts.join(', ')}, T=${tMin}` + (dominated ? ' — dominated by layout there, not attention.' : ' — not dominant.'),
    );
  }
  for (const impl of ['ortAttention', 'ortMHA'] as Impl[]) {
    const ps = ends(impl);
    if (!ps.length) continue;
    const parts = ps.map((p) => `${ms(bindingMs(p.ortProfile![impl]!))} ms = ${(100 * share(p, impl, bindingMs)).toFixed(0)}% at N=${p.N}`);
    notes.push(
      `${impl}: the Node binding (JS wall time minus ORT's model_run: feeds, output copy, event-loop hop) costs ${parts.join(', ')} (T=${tMin}); ` +
        'it is part of ORT\'s figures, as every Node user pays it.',
    );
  }
  const big = points.filter((p) => p.N >= 8192 && p.results.ours?.memory && !p.results.ours.memory.error);
  for (const p of big) {
    const a = p.results.ours!.memory!.first.addedMiB;
    notes.push(`Memory target (N=8192 call adds < ${RSS_TARGET_MIB} MiB): ours at T=${p.threads} adds ${fix(a)} MiB — ${a < RSS_TARGET_MIB ? 'met' : 'NOT met'}.`);
  }
  return { table, notes };
}

export interface DenseRun {
  /** The result file's content (bench/results/dense-<date>.json). */
  result: Record<string, unknown> & { points: Point[]; table: string; notes: string[] };
  /** One line naming the bench and its parameters. */
  title: string;
  table: string;
  notes: string[];
  /** Some point's outputs disagree with ORT beyond the tolerance. */
  wrong: boolean;
}

/**
 * Runs the dense bench with `o` (progress on stderr, nothing on stdout); `ctx` shares the FMA peak,
 * machine description and core probes with other benches of the same run (default: its own).
 */
export async function runDense(o: DenseOptions, ctx?: BenchContext, argv: string[] = []): Promise<DenseRun> {
  const i = info();
  for (const t of o.threads)
    if (t > i.hardwareThreads) progress(`warning: ${t} threads > ${i.hardwareThreads} hardware threads; results will be oversubscribed`);
  const impls: Impl[] = ['ours'];
  if (o.ort) {
    if (loadOrt()) impls.push('ortAttention', 'ortMHA');
    else progress(`warning: onnxruntime-node not available (${ortLoadError()}); ours only`);
  }
  const own = ctx === undefined;
  const c = ctx ?? createContext();
  const ns = o.maxN === undefined ? o.ns : o.ns.filter((N) => N <= o.maxN!);
  const skipped = o.ns.filter((N) => !ns.includes(N));
  if (skipped.length) progress(`dense: skipping N = ${skipped.join(', ')} (above --dense-max ${o.maxN})`);
  const title = `Dense attention bench: B=${B} H=${H} D=${D}, N in {${ns.join(', ')}}, threads {${o.threads.join(', ')}}, reps ${o.reps}`;

  const t0 = nowMs();
  const points: Point[] = [];
  for (const N of ns)
    for (const T of o.threads) {
      const p = await benchPoint(o, N, T, c.bestPeak, c.probes.get(T), impls);
      points.push(p);
      notePeak(c, p);
    }
  // %peak against the best one-thread FMA rate seen in the whole run: a probe taken while
  // another process shared the core would understate the machine.
  const bestPeak = c.bestPeak;
  const machine: MachineInfo = { ...c.machine, fmaPeak1T: bestPeak };
  for (const p of points) for (const r of Object.values(p.results)) if (r) r.pctPeak = (100 * r.gflops) / (bestPeak * p.threads);
  if (own) await closeContext(c);
  const wallS = (nowMs() - t0) / 1000;

  const { table, notes } = report(points, impls, machine, o);
  if (skipped.length) notes.push(`Skipped N = ${skipped.join(', ')} (above the dense limit ${o.maxN}).`);
  const result = {
    bench: 'dense',
    schema: 1,
    config: {
      B, H, D, ns, threads: o.threads, reps: o.reps, quick: o.quick, impls, seed: SEED, gapMs: GAP_MS, tolerance: TOLERANCE,
      flopModel: '4*B*H*N*N*D', inputs: 'q, k, v ~ N(0,1), scale 1/sqrt(D), no mask/bias',
      ortSession: { intraOpNumThreads: 'T', interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential', outputPreallocated: true },
      oursCall: 'attention(q, k, v, { out, threads: T }) (sync)',
      argv,
    },
    machine,
    fmaPeak: { startup: c.startupPeak, best: bestPeak, rule: FMA_PEAK_RULE },
    wallSeconds: wallS,
    points,
    table,
    notes,
  };
  return { result, title, table, notes, wrong: notes.some((n) => n.startsWith('WRONG RESULTS')) };
}

async function main(argv: string[]): Promise<void> {
  const o = parseDenseArgs(argv);
  if (o === 'help') {
    process.stdout.write(DENSE_USAGE);
    return;
  }
  const ctx = createContext();
  process.stdout.write(`${formatMachine(ctx.machine)}\n\n`);
  const run = await runDense(o, ctx, argv);
  await closeContext(ctx);
  process.stdout.write(`${run.title}\n${run.table}\n\n${run.notes.map((n) => `- ${n}`).join('\n')}\n`);
  const file = writeJson(o.json, run.result);
  progress(`wrote ${path.relative(process.cwd(), file)} (${(run.result.wallSeconds as number).toFixed(0)} s)`);
  if (run.wrong) process.exitCode = 1;
}

if (require.main === module) {
  const childAt = process.argv.indexOf('--mem-child');
  if (childAt >= 0) {
    memChild(JSON.parse(process.argv[childAt + 1]) as MemChildSpec).then(
      (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
      (err) => {
        process.stderr.write(`${(err as Error).stack ?? err}\n`);
        process.exit(1);
      },
    );
  } else {
    main(process.argv.slice(2)).catch((err) => {
      process.stderr.write(`${(err as Error).stack ?? err}\n`);
      process.exit(1);
    });
  }
}

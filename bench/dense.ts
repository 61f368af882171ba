// Dense attention bench (how speed is judged: docs/ARCHITECTURE.md): ours vs ONNX Runtime's `Attention` (opset 23) and
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
// Progress goes to stderr, the table to stdout, everything to ./global-attention-dense-<date>.json.
import * as path from 'path';
import { parseArgs } from 'util';
import type * as Ort from 'onnxruntime-node';
import { attention, info } from '../lib/index';
import { buildDenseAttentionModel } from '../lib/onnx/dense';
import { parseIntList, parsePositiveInt, progress } from './common/cli';
import {
  BenchContext, BUSY_CPUS, closeContext, conditionCells, conditionColumnNotes, conditionWarnings, createContext, FMA_PEAK_RULE, PointConditions,
} from './common/conditions';
import {
  CallRss, doneLine, measureInChild, measurePoint, memChildMain, PEAK_NOTE, pctCell, rebasePctPeak, Runner, runnerRss, Timed,
} from './common/harness';
import { formatMachine, MachineInfo } from './common/machine';
import { createSession, f32, loadOrt, ortLoadError, profileRuns, RunProfile } from './common/ort';
import { maxAbsDiff, randomNormal } from './common/random';
import { defaultResultPath, writeJson } from './common/results';
import { nowMs } from './common/stats';
import { fix, formatTable, ms, sci, wrapNotes, wrapText } from './common/table';

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

function oursRunner(x: Inputs, threads: number): Runner {
  const out = new Float32Array(x.q.length);
  const q = { data: x.q, dims: x.dims };
  const k = { data: x.k, dims: x.dims };
  const v = { data: x.v, dims: x.dims };
  return { out, arrays: [x.q, x.k, x.v], run: () => attention(q, k, v, { out, threads }), release: async () => {} };
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
  return { out, arrays: [x.q, x.k, x.v], run: () => session.run(feeds, fetches), release: () => session.release() };
}

// ---------------------------------------------------------------------------------------------
// Memory: one call's added RSS, measured in a fresh process per implementation

interface MemChildSpec {
  impl: Impl;
  N: number;
  threads: number;
}

export interface MemResult extends CallRss {
  /** first: the first call in a fresh process (with inputs and output resident, ORT's session created); second: a call right after. */
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
  const { first, second } = await runnerRss(runner);
  return { first, second, sessionMiB, tensorsMiB: (4 * x.q.length * 4) / 2 ** 20 };
}

// ---------------------------------------------------------------------------------------------
// The bench

export interface ImplResult extends Timed {
  /** max |out - ours| (ORT only). */
  maxAbsDiff?: number;
  memory?: MemResult;
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
  --json FILE      result file (default ./global-attention-dense-<date>[-quick].json in the current folder)
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
  return {
    ns: values.n ? parseIntList('--n', values.n) : quick ? QUICK_NS : DEFAULT_NS,
    threads,
    reps: values.reps ? parsePositiveInt('--reps', values.reps) : quick ? 3 : 5,
    json: values.json ?? defaultResultPath('dense', quick),
    quick,
    ort: !(values['no-ort'] ?? false),
    mem: !(values['no-mem'] ?? false),
    maxWaitS: values['max-wait'] !== undefined ? nonNegative('--max-wait', values['max-wait']) : quick ? 5 : 15,
  };
}

function measureMemory(impl: Impl, N: number, threads: number): Promise<MemResult> {
  return measureInChild<MemChildSpec, MemResult>(__filename, { impl, N, threads }, (error, nan) => ({ first: nan, second: nan, sessionMiB: null, tensorsMiB: NaN, error }));
}

async function benchPoint(o: DenseOptions, N: number, threads: number, ctx: BenchContext, impls: Impl[]): Promise<Point> {
  const tag = `[dense N=${N} T=${threads}]`;
  const flops = flopsOf(N);
  const point: Point = { N, threads, flops, reps: 0, results: {}, ortBest: null, speedupVsOrtBest: null, sharedCores: null, load: null, waitedS: 0 };
  let x: Inputs | undefined;
  const inputs = () => (x ??= makeInputs(N));
  const diffs: Partial<Record<Impl, number>> = {};

  const m = await measurePoint<Impl, MemResult>({
    tag, impls, reps: o.reps, gapMs: GAP_MS, maxWaitS: o.maxWaitS, ctx, point,
    flops: () => flops,
    makeRunner: async (impl) => (impl === 'ours' ? oursRunner(inputs(), threads) : ortRunner(impl, inputs(), threads)),
    memory: o.mem ? (impl) => measureMemory(impl, N, threads) : undefined,
    describeMemory: (r) => (r.error ? `error: ${r.error.split('\n')[0]}` : `first call +${fix(r.first.addedMiB)} MiB, second +${fix(r.second.addedMiB)} MiB`),
    // The check that ORT and ours agree, on the warm-up outputs.
    afterWarmup: (runners) => {
      if (runners.ours) for (const impl of impls) if (impl !== 'ours' && runners[impl]) diffs[impl] = maxAbsDiff(runners.ours.out, runners[impl]!.out);
    },
    // ORT's per-op breakdown, in separate profiling sessions.
    afterTimed: async (live) => {
      for (const impl of live) {
        if (impl === 'ours') continue;
        try {
          (point.ortProfile ??= {})[impl] = await profileRuns(ortModel(impl), threads, ortFeeds(inputs()), 2, 1);
        } catch (err) {
          progress(`${tag} ORT profile of ${impl} failed: ${(err as Error).message}`);
        }
      }
    },
  });

  for (const impl of impls) {
    point.results[impl] = {
      ...m.results[impl]!,
      ...(diffs[impl] !== undefined ? { maxAbsDiff: diffs[impl] } : {}),
      ...(m.memory[impl] ? { memory: m.memory[impl] } : {}),
    };
  }
  const ortImpls = impls.filter((i) => i !== 'ours' && Number.isFinite(point.results[i]?.medianMs));
  if (ortImpls.length) {
    const best = ortImpls.reduce((a, b) => (point.results[a]!.medianMs <= point.results[b]!.medianMs ? a : b));
    point.ortBest = best;
    const ours = point.results.ours?.medianMs;
    if (ours !== undefined && Number.isFinite(ours)) point.speedupVsOrtBest = point.results[best]!.medianMs / ours;
  }
  progress(doneLine(tag, 'ours', point.results.ours, point.speedupVsOrtBest !== null ? `, ${point.speedupVsOrtBest.toFixed(2)}x ORT's best (${point.ortBest})` : ''));
  return point;
}

/**
 * The printed table (at most 120 columns: the per-op GFLOP/s, both diffs and the reps are in the
 * JSON) and its notes. Exported for the tests, which feed it worst-case points.
 */
export function report(points: Point[], impls: Impl[], machine: MachineInfo, o: Pick<DenseOptions, 'mem'>): { table: string; notes: string[] } {
  const hasOrt = impls.length > 1;
  const headers = ['N', 'T', 'ours'];
  if (hasOrt) headers.push('ORT-A', 'ORT-MHA');
  headers.push('GF/s', '%pk');
  if (hasOrt) headers.push('ORT/ours', 'diff');
  if (o.mem) headers.push('RSS', ...(hasOrt ? ['RSS-A', 'RSS-MHA'] : []));
  headers.push('other', 'fma1', 'cores');
  const notes: string[] = [];
  const rows = points.map((p) => {
    const r = p.results;
    // The larger of the two ORT diffs ('!' above the tolerance); each is in the JSON.
    const ds = (['ortAttention', 'ortMHA'] as Impl[]).map((i) => r[i]?.maxAbsDiff).filter((d): d is number => d !== undefined);
    const d = ds.length ? ds.reduce((a, b) => (!(b <= a) ? b : a)) : undefined;
    const diff = d === undefined ? '-' : `${sci(d)}${!(d <= TOLERANCE) ? '!' : ''}`;
    const rss = (i: Impl) => {
      const m = r[i]?.memory;
      return !m || m.error ? '-' : fix(m.first.addedMiB);
    };
    const row = [String(p.N), String(p.threads), ms(r.ours?.medianMs)];
    if (hasOrt) row.push(ms(r.ortAttention?.medianMs), ms(r.ortMHA?.medianMs));
    row.push(fix(r.ours?.gflops), pctCell(r.ours?.pctPeak));
    if (hasOrt)
      row.push(p.speedupVsOrtBest === null ? '-' : `${p.speedupVsOrtBest.toFixed(2)}x${p.ortBest === 'ortMHA' ? 'M' : p.ortBest === 'ortAttention' ? 'A' : ''}`, diff);
    if (o.mem) row.push(rss('ours'), ...(hasOrt ? [rss('ortAttention'), rss('ortMHA')] : []));
    row.push(...conditionCells(p, machine.fmaPeak1T));
    return row;
  });
  const table = formatTable(headers, rows);

  notes.push(
    `ours, ORT-A (ONNX Attention), ORT-MHA (com.microsoft MultiHeadAttention) = median ms of one call. ` +
      `FLOP model 4·B·H·N²·D (B=${B}, H=${H}, D=${D}); GF/s = ours, from the median; %pk = ours GF/s / (${machine.fmaPeak1T.toFixed(1)} GFLOP/s × T), ` +
      'the best one-thread FMA rate measured in this run. Each ORT op\'s GF/s and the reps are in the JSON.',
  );
  if (hasOrt)
    notes.push(
      "ORT/ours = ORT's best median / ours (> 1: ours faster); A/M = which ORT op was best. diff = the larger max |ours - ORT| " +
        `over the whole output of the two ops (tolerance ${TOLERANCE}; '!' = above it; each in the JSON).`,
    );
  if (o.mem)
    notes.push(
      'RSS, RSS-A, RSS-MHA = MiB of peak RSS one call adds above its inputs and output (first call in a fresh process; ' +
        'ORT: after session creation, around session.run, output preallocated).',
    );
  if (points.some((p) => (p.results.ours?.pctPeak ?? 0) > 100)) notes.push(PEAK_NOTE);
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
  return { table, notes };
}

export interface DenseRun {
  /** The result file's content. */
  result: Record<string, unknown> & { points: Point[]; table: string; notes: string[] };
  /** One line naming the bench and its parameters. */
  title: string;
  table: string;
  notes: string[];
  /** Some point's outputs disagree with ORT beyond the tolerance. */
  wrong: boolean;
  /** The same run with %peak (table, notes, JSON) against another one-thread peak: a later bench of the same run may have seen a higher one. */
  rebase(bestPeak: number): DenseRun;
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
      points.push(await benchPoint(o, N, T, c, impls));
    }
  if (own) await closeContext(c);
  const wallS = (nowMs() - t0) / 1000;
  const finish = (bestPeak: number): DenseRun => {
    // %peak against the best one-thread FMA rate seen in the whole run: a probe taken while
    // another process shared the core would understate the machine.
    const machine: MachineInfo = { ...c.machine, fmaPeak1T: bestPeak };
    rebasePctPeak(points, bestPeak);
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
    return { result, title, table, notes, wrong: notes.some((n) => n.startsWith('WRONG RESULTS')), rebase: finish };
  };
  return finish(c.bestPeak);
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
  process.stdout.write(`${wrapText(run.title)}\n${run.table}\n\n${wrapNotes(run.notes)}\n`);
  const file = writeJson(o.json, run.result);
  progress(`wrote ${path.relative(process.cwd(), file)} (${(run.result.wallSeconds as number).toFixed(0)} s)`);
  if (run.wrong) process.exitCode = 1;
}

if (require.main === module && !memChildMain(memChild)) {
  main(process.argv.slice(2)).catch((err) => {
    process.stderr.write(`${(err as Error).stack ?? err}\n`);
    process.exit(1);
  });
}

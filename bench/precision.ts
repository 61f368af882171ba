// Reduced-precision bench (lib/precision.ts): precision 'bf16' against our float32, same inputs,
// interleaved in one run, one thread and all threads, measured by the shared harness
// (bench/common/harness.ts: quiet wait, FMA probes, warm-up, interleaved rounds, medians).
//
//   npm run bench:precision -- [--n 4096] [--threads 1,T] [--reps K] [--json FILE] [--quick]
//                              [--emulated] [--max-wait S]
//
// Points: dense attention B=1, H=8, D=64, Nq = Nk = N (the point: N = 4096), and the
// layers' projection shape, linear x [N, 512] · w [512, 512]ᵀ. Implementations: fp32; bf16 on the
// kernels info().reducedPrecisionIsa names (a native set where the CPU has one), and where that is
// amxbf16 also the avx512bf16 set it supersedes; with --emulated also bf16 on the emulated kernels.
// '% peak' is against T threads at the float32 FMA peak (the harness's); a native bf16 dot-pair
// does twice an FMA's work, so its own ceiling is 200 %, and an AMX tile product (amxbf16) sixteen
// times a core's 512-bit FMAs.
// Timings on a loaded or shared machine mean little: the table says what the probes saw.
import { parseArgs } from 'util';
import { attention, info, linear, setReducedPrecisionIsa } from '../lib/index';
import type { Precision } from '../lib/precision';
import { parseIntList, parsePositiveInt, progress } from './common/cli';
import { BenchContext, closeContext, createContext } from './common/conditions';
import { doneLine, HarnessPoint, measurePoint, pctCell, rebasePctPeak, Runner, Timed } from './common/harness';
import { formatMachine } from './common/machine';
import { maxAbsDiff, randomNormal } from './common/random';
import { defaultResultPath, writeJson } from './common/results';
import { fix, formatTable, ms, sci } from './common/table';

const B = 1;
const H = 8;
const D = 64;
const LINEAR_K = 512;
const LINEAR_N = 512;
const SEED = 20261207;
const GAP_MS = 50;

type Impl = 'fp32' | 'bf16' | 'bf16-avx512bf16' | 'bf16-emulated';
const VARIANT: Record<Impl, { precision: Precision; kernels: string }> = {
  fp32: { precision: 'fp32', kernels: 'auto' },
  bf16: { precision: 'bf16', kernels: 'auto' },
  // Where 'auto' takes amxbf16, the vdpbf16ps set it supersedes, side by side.
  'bf16-avx512bf16': { precision: 'bf16', kernels: 'avx512bf16' },
  'bf16-emulated': { precision: 'bf16', kernels: 'emulated' },
};

interface Point extends HarnessPoint {
  op: 'attention' | 'linear';
  results: Partial<Record<Impl, Timed & { kernels: string; relErrVsFp32: number }>>;
}

function maxAbs(a: Float32Array): number {
  let m = 0;
  for (const x of a) m = Math.max(m, Math.abs(x));
  return m;
}

async function measure(ctx: BenchContext, op: Point['op'], N: number, T: number, impls: Impl[], reps: number, maxWaitS: number): Promise<Point> {
  const n = B * H * N * D;
  const dims = [B, H, N, D];
  const q = { data: randomNormal(n, SEED), dims };
  const k = { data: randomNormal(n, SEED + 1), dims };
  const v = { data: randomNormal(n, SEED + 2), dims };
  const x = { data: randomNormal(N * LINEAR_K, SEED + 3), dims: [N, LINEAR_K] };
  const w = { data: randomNormal(LINEAR_N * LINEAR_K, SEED + 4, 1 / Math.sqrt(LINEAR_K)), dims: [LINEAR_N, LINEAR_K] };
  const flops = op === 'attention' ? 4 * B * H * N * N * D : 2 * N * LINEAR_K * LINEAR_N;
  const point: Point = { op, N, threads: T, reps: 0, waitedS: 0, sharedCores: null, load: null, results: {} };
  const kernels: Partial<Record<Impl, string>> = {};
  const outputs: Partial<Record<Impl, Float32Array>> = {};

  const makeRunner = async (impl: Impl): Promise<Runner> => {
    const { precision, kernels: choice } = VARIANT[impl];
    setReducedPrecisionIsa(choice);
    kernels[impl] = precision === 'fp32' ? info().isa : info().reducedPrecisionIsa;
    const out = new Float32Array(op === 'attention' ? n : N * LINEAR_N);
    outputs[impl] = out;
    // The kernel choice is process-wide: each call sets its own (the rounds run one call at a time).
    const run =
      op === 'attention'
        ? () => (setReducedPrecisionIsa(choice), attention(q, k, v, { precision, threads: T, out }))
        : () => (setReducedPrecisionIsa(choice), linear(x, w, { precision, threads: T, out }));
    return { run, out, arrays: op === 'attention' ? [q.data, k.data, v.data] : [x.data, w.data], release: async () => undefined };
  };

  const tag = `[${op} N=${N} T=${T}]`;
  const m = await measurePoint<Impl, never>({ tag, impls, reps, gapMs: GAP_MS, maxWaitS, ctx, point, flops: () => flops, makeRunner });
  setReducedPrecisionIsa('auto');
  const fp32 = outputs.fp32;
  for (const impl of impls) {
    const r = m.results[impl];
    if (!r) continue;
    const out = outputs[impl];
    const relErrVsFp32 = fp32 && out ? maxAbsDiff(out, fp32) / maxAbs(fp32) : NaN;
    point.results[impl] = { ...r, kernels: kernels[impl] ?? '?', relErrVsFp32 };
    progress(doneLine(tag, impl, r));
  }
  return point;
}

const USAGE = `usage: npm run bench:precision -- [options]     (or: node dist/bench/precision.js [options])

Dense attention and the projection GEMM in float32 and bfloat16 on this CPU, side by side.

  --n N           sequence length (default 4096; --quick: 1024)
  --threads LIST  thread counts (default 1 and all hardware threads)
  --reps K        timed rounds per point (default 5; --quick: 3)
  --emulated      also time the emulated bf16 kernels
  --max-wait S    before each point, wait up to S seconds for other processes to leave the CPUs
  --quick         a short smoke run
  --json FILE     also write the results as JSON`;

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        n: { type: 'string' }, threads: { type: 'string' }, reps: { type: 'string' }, json: { type: 'string' },
        quick: { type: 'boolean' }, emulated: { type: 'boolean' }, 'max-wait': { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    console.error(`bench:precision: ${(e as Error).message.split('\n')[0]}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const quick = values.quick ?? false;
  const hw = info().hardwareThreads;
  const N = values.n ? parsePositiveInt('--n', values.n) : quick ? 1024 : 4096;
  const threadList = values.threads ? parseIntList('--threads', values.threads) : [...new Set([1, hw])];
  const reps = values.reps ? parsePositiveInt('--reps', values.reps) : quick ? 3 : 5;
  const maxWaitS = values['max-wait'] !== undefined ? Number(values['max-wait']) : quick ? 5 : 15;
  const impls: Impl[] = ['fp32', 'bf16'];
  if (info().reducedPrecision.includes('amxbf16') && info().reducedPrecision.includes('avx512bf16')) impls.push('bf16-avx512bf16');
  if (values.emulated) impls.push('bf16-emulated');

  const ctx = createContext(false);
  progress(`bf16 kernels: ${info().reducedPrecisionIsa} (offered: ${info().reducedPrecision.join(', ') || 'none'})`);
  const points: Point[] = [];
  try {
    for (const T of threadList)
      for (const op of ['attention', 'linear'] as const) points.push(await measure(ctx, op, N, T, impls, reps, maxWaitS));
  } finally {
    await closeContext(ctx);
  }
  rebasePctPeak(points, ctx.bestPeak);

  console.log(formatMachine(ctx.machine));
  console.log(`Dense attention B=${B} H=${H} D=${D} N=${N}; linear [${N}, ${LINEAR_K}] x [${LINEAR_N}, ${LINEAR_K}]ᵀ; medians of ${reps}.`);
  console.log(`% peak: against T x the best one-thread float32 FMA peak (${fix(ctx.bestPeak)} GFLOP/s); native bf16 can reach 200 % (vdpbf16ps), AMX tiles far more ('!' marks fp32 only).`);
  const rows: string[][] = [];
  // Above 100 % flags a low probe for float32 only (pctCell); the 16-bit kernels may exceed it.
  const pctOf = (impl: Impl, pct: number | null | undefined): string =>
    impl === 'fp32' ? pctCell(pct) : pct === null || pct === undefined || !Number.isFinite(pct) ? '-' : pct.toFixed(0);
  for (const p of points)
    for (const impl of impls) {
      const r = p.results[impl];
      if (!r) continue;
      const fp32 = p.results.fp32;
      rows.push([p.op, impl, r.kernels, String(p.threads), ms(r.medianMs), fix(r.gflops), pctOf(impl, r.pctPeak), fp32 ? fix(fp32.medianMs / r.medianMs, 2) : '-', sci(r.relErrVsFp32),
        p.sharedCores ? 'shared' : p.load ? `${fix(p.load.otherCpus ?? NaN)}` : '-']);
    }
  console.log(formatTable(['op', 'impl', 'kernels', 'T', 'median ms', 'GFLOP/s', '% peak', 'x fp32', 'err/max|fp32|', 'other CPUs'], rows,
    ['l', 'l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r']));
  const file = writeJson(values.json ?? defaultResultPath('precision', quick), { machine: ctx.machine, N, reps, bestPeak: ctx.bestPeak, points });
  progress(`wrote ${file}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

// Reduced-precision bench (lib/precision.ts): precision 'bf16' against our float32, same inputs,
// interleaved in one run, one thread and all threads.
//
//   npm run bench:precision -- [--n 4096] [--threads 1,T] [--reps K] [--json FILE] [--quick] [--emulated]
//
// Dense attention B=1, H=8, D=64, Nq = Nk = N (the issue's point: N = 4096), and the layers'
// projection shape linear x [N, 512] · w [512, 512]ᵀ. Per point (threads T):
//   - a one-thread FMA probe (float32, active ISA) before and after: the float32 peak of T threads
//     is T x the probe; bf16 dot-pair instructions (vdpbf16ps) do twice the float32 FMA's work,
//     so the bf16 peak is 2 x that;
//   - one warm-up call each, bf16 compared with float32 (max |bf16 - fp32| / max |fp32|);
//   - `reps` interleaved rounds (fp32, bf16 on the active kernels, and with --emulated bf16 on the
//     emulated kernels), medians reported with GFLOP/s and % of the peak.
// Timings on a loaded or shared machine mean little: the report says what the probe saw.
// Progress goes to stderr, the table to stdout, everything to bench/results/precision-<date>.json.
import { parseArgs } from 'util';
import { attention, info, linear, setReducedPrecisionIsa } from '../lib/index';
import type { Precision } from '../lib/precision';
import { parseIntList, parsePositiveInt, progress } from './common/cli';
import { oneThreadPeak } from './common/fma';
import { describeMachine, formatMachine } from './common/machine';
import { maxAbsDiff, randomNormal } from './common/random';
import { defaultResultPath, writeJson } from './common/results';
import { gflops, median, sleep, timeCall } from './common/stats';
import { fix, formatTable, ms, sci } from './common/table';

const B = 1;
const H = 8;
const D = 64;
const LINEAR_K = 512;
const LINEAR_N = 512;
const SEED = 20261207;
const GAP_MS = 50;

interface Variant {
  name: string;
  precision: Precision;
  /** setReducedPrecisionIsa() choice while it runs. */
  kernels: 'auto' | 'emulated';
}

interface Row {
  op: 'attention' | 'linear';
  variant: string;
  kernels: string;
  threads: number;
  medianMs: number;
  timesMs: number[];
  gflops: number;
  peakGflops: number;
  pctOfPeak: number;
  speedupVsFp32: number;
  relErrVsFp32: number;
}

function maxAbs(a: Float32Array): number {
  let m = 0;
  for (const x of a) m = Math.max(m, Math.abs(x));
  return m;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      n: { type: 'string' }, threads: { type: 'string' }, reps: { type: 'string' }, json: { type: 'string' },
      quick: { type: 'boolean' }, emulated: { type: 'boolean' },
    },
  });
  const hw = info().hardwareThreads;
  const N = values.n ? parsePositiveInt('--n', values.n) : values.quick ? 1024 : 4096;
  const threadList = values.threads ? parseIntList('--threads', values.threads) : [...new Set([1, hw])];
  const reps = values.reps ? parsePositiveInt('--reps', values.reps) : values.quick ? 3 : 5;
  const variants: Variant[] = [
    { name: 'fp32', precision: 'fp32', kernels: 'auto' },
    { name: 'bf16', precision: 'bf16', kernels: 'auto' },
  ];
  if (values.emulated) variants.push({ name: 'bf16 emulated', precision: 'bf16', kernels: 'emulated' });

  const n = B * H * N * D;
  const dims = [B, H, N, D];
  const q = { data: randomNormal(n, SEED), dims };
  const k = { data: randomNormal(n, SEED + 1), dims };
  const v = { data: randomNormal(n, SEED + 2), dims };
  const x = { data: randomNormal(N * LINEAR_K, SEED + 3), dims: [N, LINEAR_K] };
  const w = { data: randomNormal(LINEAR_N * LINEAR_K, SEED + 4, 1 / Math.sqrt(LINEAR_K)), dims: [LINEAR_N, LINEAR_K] };
  const ops = {
    attention: { flops: 4 * B * H * N * N * D, run: (p: Precision, t: number) => attention(q, k, v, { precision: p, threads: t }).data },
    linear: { flops: 2 * N * LINEAR_K * LINEAR_N, run: (p: Precision, t: number) => linear(x, w, { precision: p, threads: t }).data },
  };

  const peakBefore = oneThreadPeak();
  progress(`float32 FMA peak, one thread (${info().isa}): ${fix(peakBefore)} GFLOP/s; bf16 kernels: ${info().reducedPrecisionIsa}`);
  const rows: Row[] = [];
  for (const T of threadList) {
    for (const [opName, op] of Object.entries(ops) as [keyof typeof ops, (typeof ops)[keyof typeof ops]][]) {
      const outputs = new Map<string, Float32Array>();
      const kernelsOf = new Map<string, string>();
      for (const vr of variants) {  // warm-up, and the outputs compared
        setReducedPrecisionIsa(vr.kernels);
        kernelsOf.set(vr.name, vr.precision === 'fp32' ? info().isa : info().reducedPrecisionIsa);
        outputs.set(vr.name, op.run(vr.precision, T));
      }
      const times = new Map<string, number[]>(variants.map((vr) => [vr.name, []]));
      for (let r = 0; r < reps; r++)
        for (const vr of variants) {
          setReducedPrecisionIsa(vr.kernels);
          times.get(vr.name)!.push(await timeCall(() => op.run(vr.precision, T)));
          await sleep(GAP_MS);
        }
      setReducedPrecisionIsa('auto');
      const fp32 = outputs.get('fp32')!;
      const fp32Ms = median(times.get('fp32')!);
      for (const vr of variants) {
        const t = median(times.get(vr.name)!);
        const g = gflops(op.flops, t);
        const peak = peakBefore * T * (vr.precision === 'bf16' && kernelsOf.get(vr.name) !== 'emulated' ? 2 : 1);
        rows.push({
          op: opName, variant: vr.name, kernels: kernelsOf.get(vr.name)!, threads: T, medianMs: t, timesMs: times.get(vr.name)!,
          gflops: g, peakGflops: peak, pctOfPeak: (100 * g) / peak, speedupVsFp32: fp32Ms / t,
          relErrVsFp32: maxAbsDiff(outputs.get(vr.name)!, fp32) / maxAbs(fp32),
        });
        progress(`${opName} T=${T} ${vr.name}: ${ms(t)} ms`);
      }
    }
  }
  const peakAfter = oneThreadPeak();

  const machine = describeMachine(peakBefore, null);
  console.log(formatMachine(machine));
  console.log(`Dense attention B=${B} H=${H} D=${D} N=${N}; linear [${N}, ${LINEAR_K}] x [${LINEAR_N}, ${LINEAR_K}]ᵀ; median of ${reps}.`);
  console.log(`FMA probe (one thread, float32): ${fix(peakBefore)} before, ${fix(peakAfter)} after GFLOP/s. Peak column: T x probe, x2 for native bf16.`);
  console.log(
    formatTable(
      ['op', 'variant', 'kernels', 'threads', 'median ms', 'GFLOP/s', 'peak', '% peak', 'x fp32', 'err/max|fp32|'],
      rows.map((r) => [r.op, r.variant, r.kernels, String(r.threads), ms(r.medianMs), fix(r.gflops), fix(r.peakGflops), fix(r.pctOfPeak), fix(r.speedupVsFp32, 2), sci(r.relErrVsFp32)]),
      ['l', 'l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
    ),
  );
  const file = writeJson(values.json ?? defaultResultPath('precision'), { machine, N, reps, peakBefore, peakAfter, rows });
  progress(`wrote ${file}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

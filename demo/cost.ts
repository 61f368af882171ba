// The cost section: FLOPs (the project's FLOP model, docs/ARCHITECTURE.md) and wall time of dense attention vs the TGlobal core
// on a LongT5-sized head configuration, for a range of sequence lengths. Points that would take too
// long to time on this machine (dense at large N) are PREDICTED from the FLOP model, calibrated on
// the largest measured point of the same kernel, and labelled so.
import { attention, info, transientGlobalAttention, type Tensor } from '../lib';
import { mulberry32, uniform } from '../lib/random';

/** LongT5's defaults for r and g (local_radius 127, global_block_size 16), d_kv 64, 4 heads, batch 1. */
export const COST_CONFIG = { B: 1, H: 4, D: 64, radius: 127, blockSize: 16 } as const;
export type CostConfig = typeof COST_CONFIG;

/** Dense: 4·B·H·N²·D (q·k and p·v, a multiply and an add each). */
export const denseFlops = (N: number, c: CostConfig = COST_CONFIG): number => 4 * c.B * c.H * N * N * c.D;

/** Keys per query of TGlobal: the local window (2r+1, at most N) plus G = floor(N/g) global tokens. */
export const tglobalKeys = (N: number, c: CostConfig = COST_CONFIG): number =>
  Math.min(2 * c.radius + 1, N) + Math.floor(N / c.blockSize);

/** TGlobal core: 4·B·H·N·D·((2r+1)+G). */
export const tglobalFlops = (N: number, c: CostConfig = COST_CONFIG): number => 4 * c.B * c.H * N * c.D * tglobalKeys(N, c);

export interface Timing {
  /** Median wall time of one call, ms. */
  ms: number;
  /** true: timed here; false: predicted = FLOPs / (GFLOP/s of the largest measured N). */
  measured: boolean;
  /** Calls timed (0 when predicted). */
  calls: number;
}

export interface CostPoint {
  N: number;
  denseFlops: number;
  tglobalFlops: number;
  dense: Timing;
  tglobal: Timing;
}

export interface CostResult {
  config: CostConfig;
  points: CostPoint[];
  /** GFLOP/s the predictions use (of the largest measured point), per kernel; NaN if nothing was measured. */
  denseGflops: number;
  tglobalGflops: number;
  isa: string;
  threads: number;
  /** A point is timed when its predicted time is at most this (ms), unless measureAll. */
  measureLimitMs: number;
  totalMs: number;
}

export interface CostOptions {
  /** Time every point, however long it takes. */
  measureAll?: boolean;
  /** Time a point when its predicted single-call time is at most this many ms (default 1000). */
  measureLimitMs?: number;
  /** Progress lines (e.g. to stderr). */
  log?: (line: string) => void;
}

const now = () => Number(process.hrtime.bigint()) / 1e6;

/**
 * Median time of one call: at least 3 calls (2 when one takes over 400 ms), more (up to 7) while
 * the total stays under 250 ms. With 2 calls, the faster one (the first may pay page faults).
 */
function time(call: () => void): { ms: number; calls: number } {
  const times: number[] = [];
  let total = 0;
  for (;;) {
    const t = now();
    call();
    const dt = now() - t;
    times.push(dt);
    total += dt;
    const enough = times.length >= 3 || (times.length >= 2 && times[0] > 400);
    if (times.length >= 7 || (enough && total >= 250)) break;
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor((times.length - 1) / 2)], calls: times.length };
}

const randomTensor = (r: () => number, dims: number[]): Tensor => ({ data: uniform(r, dims.reduce((a, b) => a * b, 1), 1), dims });

export function measureCost(ns: readonly number[], options: CostOptions = {}): CostResult {
  const c = COST_CONFIG;
  const limit = options.measureLimitMs ?? 1000;
  const log = options.log ?? (() => {});
  const start = now();
  const r = mulberry32(12345);
  const rates = { dense: NaN, tglobal: NaN }; // GFLOP/s = FLOPs / (ms · 1e6)
  const warmed = { dense: false, tglobal: false };
  const points: CostPoint[] = [];
  for (const N of [...ns].sort((a, b) => a - b)) {
    const G = Math.floor(N / c.blockSize);
    const shape = [c.B, c.H, N, c.D];
    let inputs: { q: Tensor; k: Tensor; v: Tensor; gk: Tensor; gv: Tensor } | undefined;
    const get = () =>
      (inputs ??= {
        q: randomTensor(r, shape), k: randomTensor(r, shape), v: randomTensor(r, shape),
        gk: randomTensor(r, [c.B, c.H, G, c.D]), gv: randomTensor(r, [c.B, c.H, G, c.D]),
      });
    const run = {
      dense: () => {
        const x = get();
        attention(x.q, x.k, x.v);
      },
      tglobal: () => {
        const x = get();
        transientGlobalAttention(x.q, x.k, x.v, x.gk, x.gv, { localRadius: c.radius, globalBlockSize: c.blockSize });
      },
    };
    const flops = { dense: denseFlops(N), tglobal: tglobalFlops(N) };
    const timing = {} as Record<'dense' | 'tglobal', Timing>;
    for (const kind of ['dense', 'tglobal'] as const) {
      const predicted = flops[kind] / (rates[kind] * 1e6);
      if (options.measureAll || !(predicted > limit)) {
        if (!warmed[kind]) {
          run[kind]();
          warmed[kind] = true;
        }
        const t = time(run[kind]);
        timing[kind] = { ms: t.ms, measured: true, calls: t.calls };
        rates[kind] = flops[kind] / (t.ms * 1e6);
        log(`  ${kind.padEnd(7)} N=${String(N).padStart(5)}: ${t.ms.toFixed(1)} ms (median of ${t.calls})`);
      } else {
        timing[kind] = { ms: predicted, measured: false, calls: 0 };
        log(`  ${kind.padEnd(7)} N=${String(N).padStart(5)}: ~${predicted.toFixed(0)} ms predicted (would take too long here)`);
      }
    }
    points.push({ N, denseFlops: flops.dense, tglobalFlops: flops.tglobal, dense: timing.dense, tglobal: timing.tglobal });
    inputs = undefined;
  }
  const i = info();
  return {
    config: c, points, denseGflops: rates.dense, tglobalGflops: rates.tglobal, isa: i.isa, threads: i.threads,
    measureLimitMs: limit, totalMs: now() - start,
  };
}

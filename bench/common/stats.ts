// Timing and statistics helpers shared by the benches.

/** Milliseconds from a monotonic clock. */
export function nowMs(): number {
  return performance.now();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Median of the finite values (NaN when there are none). */
export function median(xs: readonly number[]): number {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function min(xs: readonly number[]): number {
  return xs.length ? Math.min(...xs) : NaN;
}

export function max(xs: readonly number[]): number {
  return xs.length ? Math.max(...xs) : NaN;
}

/** GFLOP/s of `flops` floating-point operations done in `ms` milliseconds. */
export function gflops(flops: number, ms: number): number {
  return flops / (ms * 1e6);
}

/** Times one call (sync or async) in milliseconds. */
export async function timeCall(fn: () => unknown): Promise<number> {
  const t0 = nowMs();
  const r = fn();
  if (r && typeof (r as Promise<unknown>).then === 'function') await r;
  return nowMs() - t0;
}

/**
 * Repetition policy of the benches: `reps` repetitions (default 5),
 * fewer when one repetition takes longer than `slowMs` (2 s), but never fewer than `floor` (3)
 * unless the caller asked for fewer.
 */
export function repsFor(requested: number, slowestMs: number, slowMs = 2000, floor = 3): number {
  return slowestMs > slowMs ? Math.min(requested, floor) : requested;
}

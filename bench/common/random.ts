// Seeded pseudo-random inputs, so every run (and every child process) sees the same data. Built on the
// project's one generator, lib/random.ts (mulberry32).
import { mulberry32 } from '../../lib/random';

/** Fills `out` with standard normal samples (Box-Muller) from `seed`; returns it. */
export function fillNormal(out: Float32Array, seed: number, stddev = 1): Float32Array {
  const r = mulberry32(seed);
  const n = out.length;
  for (let i = 0; i < n; i += 2) {
    const u = 1 - r(); // (0, 1]
    const v = r();
    const m = stddev * Math.sqrt(-2 * Math.log(u));
    out[i] = m * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = m * Math.sin(2 * Math.PI * v);
  }
  return out;
}

export function randomNormal(n: number, seed: number, stddev = 1): Float32Array {
  return fillNormal(new Float32Array(n), seed, stddev);
}

/** Writes every page of `a` so it is resident before a memory measurement. */
export function touch(a: Float32Array): void {
  const step = 1024; // 4 KiB of float32
  for (let i = 0; i < a.length; i += step) a[i] = a[i] + 0;
  if (a.length) a[a.length - 1] = a[a.length - 1] + 0;
}

/** Largest |a[i] - b[i]| (NaN anywhere gives NaN). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return NaN;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = d; // also catches NaN
    if (Number.isNaN(m)) return NaN;
  }
  return m;
}

// Seeded pseudo-random inputs, so every run (and every child process) sees the same data.

/** mulberry32: a small, fast 32-bit generator; returns floats in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fills `out` with standard normal samples (Box-Muller) from `seed`; returns it. */
export function fillNormal(out: Float32Array, seed: number, stddev = 1): Float32Array {
  const r = rng(seed);
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

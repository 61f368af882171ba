// Test helpers for precision 'bf16' (lib/precision.ts): an independent bfloat16 rounding in plain
// JavaScript, and every (ISA, reduced-precision kernel set) pair this CPU runs.
import { info, setIsa, setReducedPrecisionIsa } from '../../lib/index';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** x rounded to the nearest bfloat16 (ties to even; subnormals to a signed zero; NaN stays NaN). */
export function bf16(x: number): number {
  f32[0] = x;
  const u = u32[0];
  if ((u & 0x7fffffff) > 0x7f800000) return NaN;
  if ((u & 0x7f800000) === 0) return u >>> 31 ? -0 : 0;
  const lower = u & 0xffff;
  let upper = u >>> 16;
  if (lower > 0x8000 || (lower === 0x8000 && (upper & 1))) upper += 1;
  u32[0] = upper << 16;
  return f32[0];
}

/** A copy of a with every value rounded to bfloat16. */
export const roundBf16 = (a: ArrayLike<number>): Float32Array => Float32Array.from(a, bf16);

export interface PrecisionPath {
  isa: string;
  /** What info().reducedPrecisionIsa reports while the path is active: native sets (several joined by '+') or 'emulated'. */
  kernels: string;
  label: string;
}

/**
 * Every distinct (float32 ISA, 16-bit kernels) pair: each ISA with 'emulated', with each native set that extends it,
 * and with 'auto' where that differs (every set at once, e.g. 'neonbf16+neonfp16' on arm64 with BF16 and FHM).
 */
export function precisionPaths(): PrecisionPath[] {
  const keepIsa = info().isa;
  const keepRp = info().reducedPrecisionIsa;
  const paths: PrecisionPath[] = [];
  try {
    for (const isa of info().availableIsas)
      for (const rp of ['emulated', ...info().reducedPrecision, 'auto']) {
        setIsa(isa);
        setReducedPrecisionIsa(rp);
        const kernels = info().reducedPrecisionIsa;
        if (!paths.some((p) => p.isa === isa && p.kernels === kernels)) paths.push({ isa, kernels, label: `${isa}/${kernels}` });
      }
  } finally {
    setIsa(keepIsa);
    setReducedPrecisionIsa(keepRp === 'emulated' ? 'emulated' : 'auto');
  }
  return paths;
}

/** Whether a path's kernels include a native float16 set (sets are named <base><type>: 'neonfp16'). */
export const nativeFp16 = (p: PrecisionPath): boolean => p.kernels.split('+').some((s) => s.endsWith('fp16'));

/**
 * The paths that differ for precision 'fp16': each ISA emulated, and each path with a native float16 set
 * (neonfp16 on arm64 with FEAT_FHM; none on x86). Native bfloat16 sets leave fp16 emulated, so those paths
 * would repeat the emulated one.
 */
export const fp16Paths = (paths: PrecisionPath[]): PrecisionPath[] => paths.filter((p) => p.kernels === 'emulated' || nativeFp16(p));

/** Runs fn with the path active, restoring the ISA and the kernel choice afterwards (even on failure). */
export function withPath<T>(p: PrecisionPath, fn: () => T): T {
  const keepIsa = info().isa;
  const keepRp = info().reducedPrecisionIsa;
  setIsa(p.isa);
  setReducedPrecisionIsa(p.kernels);
  try {
    if (info().reducedPrecisionIsa !== p.kernels) throw new Error(`${p.label}: could not select ${p.kernels}`);
    return fn();
  } finally {
    setIsa(keepIsa);
    setReducedPrecisionIsa(keepRp === 'emulated' ? 'emulated' : 'auto');
  }
}

export async function withPathAsync<T>(p: PrecisionPath, fn: () => Promise<T>): Promise<T> {
  const keepIsa = info().isa;
  const keepRp = info().reducedPrecisionIsa;
  setIsa(p.isa);
  setReducedPrecisionIsa(p.kernels);
  try {
    return await fn();
  } finally {
    setIsa(keepIsa);
    setReducedPrecisionIsa(keepRp === 'emulated' ? 'emulated' : 'auto');
  }
}

/**
 * x rounded to the nearest IEEE float16 (ties to even, float16 subnormals kept, overflow to
 * infinity), computed in float64 arithmetic: independent of the kernels' bit manipulation.
 */
export function fp16(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  const e = Math.max(Math.floor(Math.log2(a)), -14);
  // log2 can be off by one at exact powers of two: fix the exponent so that 2^e <= a < 2^(e+1).
  let ee = e;
  if (ee > -14 && 2 ** ee > a) ee--;
  if (2 ** (ee + 1) <= a) ee++;
  const ulp = 2 ** (Math.max(ee, -14) - 10);
  const t = a / ulp;
  let r = Math.floor(t);
  const frac = t - r;
  if (frac > 0.5 || (frac === 0.5 && r % 2 === 1)) r++;
  const y = r * ulp;
  return Math.sign(x) * (y >= 65520 || y > 65504 ? Infinity : y);
}

/** The float16 bit pattern of fp16(x). */
export function fp16Bits(x: number): number {
  const y = fp16(x);
  const sign = y < 0 || Object.is(y, -0) ? 0x8000 : 0;
  const a = Math.abs(y);
  if (Number.isNaN(y)) return 0x7e00;
  if (a === Infinity) return sign | 0x7c00;
  if (a < 2 ** -14) return sign | (a / 2 ** -24);
  let e = -14;
  while (2 ** (e + 1) <= a) e++;
  return sign | ((e + 15) << 10) | ((a / 2 ** e - 1) * 1024);
}

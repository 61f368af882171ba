// Compute precision (options.precision on attention(), linear() and transientGlobalAttention()): 'fp32' (default, float32
// throughout), 'bf16' (products of bfloat16-rounded inputs, softmax and accumulation in
// float32) or 'fp16' (the same with IEEE float16 rounding; products of float16 values are exact in
// float32 too). Each runs on a native reduced-precision kernel set where the CPU has one
// (info().reducedPrecision: bf16 on 'avx512bf16' (vdpbf16ps, twice the float32 FMA rate on AMD
// Zen 4/5), 'amxbf16' (dense attention on AMX tiles) or 'neonbf16', fp16 on 'neonfp16' (arm64 FMLAL)) and emulated elsewhere (for fp16 that is every x86
// CPU: slower than float32): the same rounding (to nearest even), products exact in float32, so
// both give the same results up to float32 summation order.
//
// Accuracy of 'bf16' (bfloat16 keeps 8 significant bits, relative rounding error <= 2^-9):
// attention outputs stay within 2e-2 x max|out| of float32 on the test fixtures (typically a few
// 1e-3); the probabilities still sum to 1 (the running sum adds the rounded P) and masked or
// causally excluded keys still get weight exactly 0. 'fp16' (10 explicit significand bits,
// relative rounding error <= 2^-11): within 5e-3 x max|out| on the fixtures; float16 overflows
// past 65504, so inputs (and q·scale·log2 e) must stay below that.
import { native } from './native';
import { checkDims, checkTensor, checkedProduct, isDetached } from './tensor';

export type Precision = 'fp32' | 'bf16' | 'fp16';

const PRECISIONS: readonly Precision[] = ['fp32', 'bf16', 'fp16'];

/** Validates options.precision; undefined means 'fp32'. */
export function checkPrecision(name: string, x: unknown): Precision {
  if (x === undefined) return 'fp32';
  if (typeof x !== 'string') throw new TypeError(`${name} must be 'fp32', 'bf16' or 'fp16', got ${typeof x}`);
  if (!(PRECISIONS as readonly string[]).includes(x)) throw new RangeError(`${name} must be 'fp32', 'bf16' or 'fp16', got '${x}'`);
  return x as Precision;
}

/**
 * Chooses the kernels precisions 'bf16' and 'fp16' run on: 'auto' (default: every native set that extends
 * the active ISA), 'emulated', or native sets from info().reducedPrecision (one, or several joined by '+',
 * e.g. 'neonbf16+neonfp16'; a set covers one 16-bit type, the other runs emulated). The environment variable
 * GLOBAL_ATTENTION_REDUCED_PRECISION does the same at load; GLOBAL_ATTENTION_ISA and setIsa() also accept a
 * native set's name (its float32 ISA, e.g. 'avx512', with that set). A native set runs only while the ISA it
 * extends is active: after setIsa('scalar'), bf16 and fp16 run emulated. Returns info().reducedPrecisionIsa.
 */
export function setReducedPrecisionIsa(name: string): string {
  if (typeof name !== 'string') throw new TypeError(`reduced-precision isa must be a string, got ${typeof name}`);
  const offered = native.info().reducedPrecision;
  if (name !== 'auto' && name !== 'emulated' && !name.split('+').every((s) => offered.includes(s)))
    throw new RangeError(`reduced-precision isa '${name}' is not available here (available: auto, emulated${offered.map((s) => `, ${s}`).join('')})`);
  return native.setReducedPrecisionIsa(name);
}

/**
 * A tensor of bfloat16 values kept as their 16-bit patterns, e.g. a weight from a BF16 checkpoint
 * (readSafetensors returns BF16 data as a Uint16Array: `{ data: t.data, dims: t.shape, dtype: 'bfloat16' }`),
 * or one converted once with toBf16(). linear() takes one as its weight: half the memory of float32,
 * no conversion per call, and precision 'bf16' implied.
 */
export interface Bf16Tensor {
  data: Uint16Array;
  dims: readonly number[];
  dtype: 'bfloat16';
}

/** The same for IEEE float16 (an F16 checkpoint's tensor, dtype 'float16'): precision 'fp16' implied. */
export interface Fp16Tensor {
  data: Uint16Array;
  dims: readonly number[];
  dtype: 'float16';
}

const tag = (x: unknown): string => Object.prototype.toString.call(x).slice(8, -1);

/** The precision a 16-bit tensor implies ('bf16' for dtype 'bfloat16', 'fp16' for 'float16'), or undefined for any other value. */
export function halfTensorPrecision(t: unknown): 'bf16' | 'fp16' | undefined {
  if (typeof t !== 'object' || t === null) return undefined;
  const dtype = (t as { dtype?: unknown }).dtype;
  return dtype === 'bfloat16' ? 'bf16' : dtype === 'float16' ? 'fp16' : undefined;
}

/** Validates a Bf16Tensor or Fp16Tensor (after halfTensorPrecision said which). */
export function checkHalfTensor(name: string, t: unknown, rank?: number): { data: Uint16Array; dims: number[] } {
  const o = t as { data?: unknown; dims?: unknown; dtype?: string };
  if (tag(o.data) !== 'Uint16Array')
    throw new TypeError(`${name} is a ${o.dtype} tensor: its data must be a Uint16Array of bit patterns, got ${tag(o.data)}`);
  const data = o.data as Uint16Array;
  const dims = checkDims(name, o.dims, rank);
  const n = checkedProduct(name, dims);
  if (data.length !== n) {
    if (isDetached(data)) throw new TypeError(`${name} is backed by a detached ArrayBuffer`);
    throw new RangeError(`${name} has ${data.length} elements but its dims say ${n}`);
  }
  return { data, dims };
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * t rounded to bfloat16 once (the kernels' rule: to nearest even, subnormals to zero, NaN quiet), for
 * weights used many times: linear(x, toBf16(w)) equals linear(x, w, { precision: 'bf16' }) bit for bit.
 */
export function toBf16(t: { data: Float32Array; dims: readonly number[] }): Bf16Tensor {
  const { data, dims } = checkTensor('t', t);
  const out = new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) {
    f32[0] = data[i];
    const u = u32[0];
    if ((u & 0x7fffffff) > 0x7f800000) out[i] = (u >>> 16) | 0x40;
    else if ((u & 0x7f800000) === 0) out[i] = (u >>> 16) & 0x8000;
    else out[i] = ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
  }
  return { data: out, dims, dtype: 'bfloat16' };
}

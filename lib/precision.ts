// Compute precision (options.precision on attention() and linear()): 'fp32' (default, float32
// throughout) or 'bf16' (products of bfloat16-rounded inputs, softmax and accumulation in
// float32). bf16 runs on a native reduced-precision kernel set where the CPU has one
// (info().reducedPrecision, e.g. ['avx512bf16']: vdpbf16ps, twice the float32 FMA rate) and
// emulated elsewhere: the same rounding (to nearest even), products exact in float32, so both give
// the same results up to float32 summation order.
//
// Accuracy of 'bf16' (bfloat16 keeps 8 significant bits, relative rounding error <= 2^-9):
// attention outputs stay within 2e-2 x max|out| of float32 on the test fixtures (typically a few
// 1e-3); the probabilities still sum to 1 (the running sum adds the rounded P) and masked or
// causally excluded keys still get weight exactly 0.
import { native } from './native';

export type Precision = 'fp32' | 'bf16';

const PRECISIONS: readonly Precision[] = ['fp32', 'bf16'];

/** Validates options.precision; undefined means 'fp32'. */
export function checkPrecision(name: string, x: unknown): Precision {
  if (x === undefined) return 'fp32';
  if (typeof x !== 'string') throw new TypeError(`${name} must be 'fp32' or 'bf16', got ${typeof x}`);
  if (!(PRECISIONS as readonly string[]).includes(x)) throw new RangeError(`${name} must be 'fp32' or 'bf16', got '${x}'`);
  return x as Precision;
}

/**
 * Chooses the kernels precision 'bf16' runs on: 'auto' (default: a native set whenever one extends the
 * active ISA), 'emulated', or a native set from info().reducedPrecision. The environment variable
 * GLOBAL_ATTENTION_REDUCED_PRECISION does the same at load; GLOBAL_ATTENTION_ISA and setIsa() also accept a
 * native set's name (its float32 ISA, e.g. 'avx512', with that set). A native set runs only while the ISA it
 * extends is active: after setIsa('scalar'), bf16 runs emulated. Returns info().reducedPrecisionIsa.
 */
export function setReducedPrecisionIsa(name: string): string {
  if (typeof name !== 'string') throw new TypeError(`reduced-precision isa must be a string, got ${typeof name}`);
  const offered = native.info().reducedPrecision;
  if (name !== 'auto' && name !== 'emulated' && !offered.includes(name))
    throw new RangeError(`reduced-precision isa '${name}' is not available here (available: auto, emulated${offered.map((s) => `, ${s}`).join('')})`);
  return native.setReducedPrecisionIsa(name);
}

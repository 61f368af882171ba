// linear(x, w): y = x · wᵀ with a PyTorch nn.Linear weight [out, in], on the native packed SIMD GEMM
// the layers use for their projections.
import { AbortOptions, runCancellableOut, takeSignal } from './abort';
import { native } from './native';
import { Bf16Tensor, Fp16Tensor, Precision, checkHalfTensor, checkPrecision, halfTensorPrecision } from './precision';
import { Tensor, checkOptions, checkOut, checkTensor, checkThreads, checkedProduct } from './tensor';

export interface LinearOptions {
  out?: Float32Array;
  threads?: number;
  /**
   * 'fp32' (default; 'bf16' for a bfloat16 w), 'bf16' (bfloat16 products, float32 accumulation) or 'fp16'
   * (float16 products: native on arm64 with FEAT_FHM, emulated elsewhere, for accuracy, not speed) (lib/precision.ts).
   */
  precision?: Precision;
}

// lazyOut (linearAsync): without options.out the addon allocates the output (checkOut's ADDON_OUT,
// runCancellableOut); `n` = the output's length.
function prepare(x: Tensor, w: Tensor | Bf16Tensor | Fp16Tensor, options?: LinearOptions, lazyOut = false) {
  const xt = checkTensor('x', x);
  const wHalf = halfTensorPrecision(w);  // a 16-bit weight implies its precision
  const wt = wHalf ? checkHalfTensor('w', w, 2) : checkTensor('w', w, 2);
  if (xt.dims.length < 1) throw new RangeError('x must have at least 1 dim');
  const K = xt.dims[xt.dims.length - 1];
  const [N, Kw] = wt.dims;
  if (Kw !== K) throw new RangeError(`w must be [out, in] with in = ${K} (x's last dim), got [${wt.dims.join(', ')}]`);
  const o = checkOptions<LinearOptions>('options', options, ['out', 'threads', 'precision']);
  const precision = o.precision === undefined && wHalf ? wHalf : checkPrecision('options.precision', o.precision);
  if (wHalf && precision !== wHalf)
    throw new RangeError(`w is a ${(w as Bf16Tensor | Fp16Tensor).dtype} tensor: options.precision must be '${wHalf}' (or absent), got '${precision}'`);
  const M = checkedProduct('x', xt.dims.slice(0, -1));
  const dims = [...xt.dims.slice(0, -1), N];
  const n = checkedProduct('output', dims);
  const out = checkOut('options.out', o.out, n, [xt.data, wt.data], lazyOut);
  const threads = checkThreads('options.threads', o.threads);
  const base = { x: xt.data, out, M, K, N, threads, ...(precision === 'fp16' ? { precision } : {}) };
  if (wHalf) return { args: { ...base, w16: wt.data as Uint16Array }, n, dims, precision };
  return { args: { ...base, w: wt.data as Float32Array }, n, dims, precision };
}

/** y = x · wᵀ: x [..., in], w [out, in] → [..., out]. w may be a bfloat16 or float16 tensor (lib/precision.ts). */
export function linear(x: Tensor, w: Tensor | Bf16Tensor | Fp16Tensor, options?: LinearOptions): Tensor {
  const { args, dims, precision } = prepare(x, w, options);
  if (args.out.length > 0) {
    if (precision !== 'fp32') native.linearReduced(args);
    else native.linear(args as typeof args & { w: Float32Array });
  }
  return { data: args.out, dims };
}

/** linear() off the event loop; options.signal aborts it (AbortError). */
export async function linearAsync(x: Tensor, w: Tensor | Bf16Tensor | Fp16Tensor, options?: LinearOptions & AbortOptions): Promise<Tensor> {
  const [o, signal] = takeSignal('options', options);
  const { args, n, dims, precision } = prepare(x, w, o, true);
  const data = precision !== 'fp32'
    ? await runCancellableOut(signal, args, (a) => native.linearReducedAsync(a), n > 0)
    : await runCancellableOut(signal, args as typeof args & { w: Float32Array }, (a) => native.linearAsync(a), n > 0);
  return { data, dims };
}

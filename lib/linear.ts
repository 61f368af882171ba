// linear(x, w): y = x · wᵀ with a PyTorch nn.Linear weight [out, in], on the native packed SIMD GEMM
// the layers use for their projections.
import { native } from './native';
import { Bf16Tensor, Precision, checkBf16Tensor, checkPrecision, isBf16Tensor } from './precision';
import { Tensor, checkOptions, checkOut, checkTensor, checkThreads, checkedProduct } from './tensor';

export interface LinearOptions {
  out?: Float32Array;
  threads?: number;
  /**
   * 'fp32' (default; 'bf16' for a bfloat16 w), 'bf16' (bfloat16 products, float32 accumulation) or 'fp16'
   * (float16 products, emulated: for accuracy, not speed) (lib/precision.ts).
   */
  precision?: Precision;
}

function prepare(x: Tensor, w: Tensor | Bf16Tensor, options?: LinearOptions) {
  const xt = checkTensor('x', x);
  const wBf16 = isBf16Tensor(w);
  const wt = wBf16 ? checkBf16Tensor('w', w, 2) : checkTensor('w', w, 2);
  if (xt.dims.length < 1) throw new RangeError('x must have at least 1 dim');
  const K = xt.dims[xt.dims.length - 1];
  const [N, Kw] = wt.dims;
  if (Kw !== K) throw new RangeError(`w must be [out, in] with in = ${K} (x's last dim), got [${wt.dims.join(', ')}]`);
  const o = checkOptions<LinearOptions>('options', options, ['out', 'threads', 'precision']);
  const precision = o.precision === undefined && wBf16 ? 'bf16' : checkPrecision('options.precision', o.precision);
  if (wBf16 && precision !== 'bf16')
    throw new RangeError(`w is a bfloat16 tensor: options.precision must be 'bf16' (or absent), got '${precision}'`);
  const M = checkedProduct('x', xt.dims.slice(0, -1));
  const dims = [...xt.dims.slice(0, -1), N];
  const out = checkOut('options.out', o.out, checkedProduct('output', dims), [xt.data, wt.data]);
  const threads = checkThreads('options.threads', o.threads);
  if (wBf16) return { args: { x: xt.data, w16: wt.data as Uint16Array, out, M, K, N, threads }, dims, precision };
  if (precision === 'fp16') return { args: { x: xt.data, w: wt.data as Float32Array, out, M, K, N, threads, precision }, dims, precision };
  return { args: { x: xt.data, w: wt.data as Float32Array, out, M, K, N, threads }, dims, precision };
}

/** y = x · wᵀ: x [..., in], w [out, in] → [..., out]. w may be a bfloat16 tensor (lib/precision.ts). */
export function linear(x: Tensor, w: Tensor | Bf16Tensor, options?: LinearOptions): Tensor {
  const { args, dims, precision } = prepare(x, w, options);
  if (args.out.length > 0) {
    if (precision !== 'fp32') native.linearReduced(args);
    else native.linear(args as typeof args & { w: Float32Array });
  }
  return { data: args.out, dims };
}

export async function linearAsync(x: Tensor, w: Tensor | Bf16Tensor, options?: LinearOptions): Promise<Tensor> {
  const { args, dims, precision } = prepare(x, w, options);
  if (args.out.length > 0) {
    if (precision !== 'fp32') await native.linearReducedAsync(args);
    else await native.linearAsync(args as typeof args & { w: Float32Array });
  }
  return { data: args.out, dims };
}

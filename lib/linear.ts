// linear(x, w): y = x · wᵀ with a PyTorch nn.Linear weight [out, in], on the native packed SIMD GEMM
// the layers use for their projections.
import { native } from './native';
import { Precision, checkPrecision } from './precision';
import { Tensor, checkOptions, checkOut, checkTensor, checkThreads, checkedProduct } from './tensor';

export interface LinearOptions {
  out?: Float32Array;
  threads?: number;
  /** 'fp32' (default) or 'bf16': bfloat16 products, float32 accumulation (lib/precision.ts). */
  precision?: Precision;
}

function prepare(x: Tensor, w: Tensor, options?: LinearOptions) {
  const xt = checkTensor('x', x);
  const wt = checkTensor('w', w, 2);
  if (xt.dims.length < 1) throw new RangeError('x must have at least 1 dim');
  const K = xt.dims[xt.dims.length - 1];
  const [N, Kw] = wt.dims;
  if (Kw !== K) throw new RangeError(`w must be [out, in] with in = ${K} (x's last dim), got [${wt.dims.join(', ')}]`);
  const o = checkOptions<LinearOptions>('options', options, ['out', 'threads', 'precision']);
  const precision = checkPrecision('options.precision', o.precision);
  const M = checkedProduct('x', xt.dims.slice(0, -1));
  const dims = [...xt.dims.slice(0, -1), N];
  const out = checkOut('options.out', o.out, checkedProduct('output', dims), [xt.data, wt.data]);
  return { args: { x: xt.data, w: wt.data, out, M, K, N, threads: checkThreads('options.threads', o.threads) }, dims, precision };
}

/** y = x · wᵀ: x [..., in], w [out, in] → [..., out]. */
export function linear(x: Tensor, w: Tensor, options?: LinearOptions): Tensor {
  const { args, dims, precision } = prepare(x, w, options);
  if (args.out.length > 0) (precision === 'bf16' ? native.linearBf16 : native.linear)(args);
  return { data: args.out, dims };
}

export async function linearAsync(x: Tensor, w: Tensor, options?: LinearOptions): Promise<Tensor> {
  const { args, dims, precision } = prepare(x, w, options);
  if (args.out.length > 0) await (precision === 'bf16' ? native.linearBf16Async : native.linearAsync)(args);
  return { data: args.out, dims };
}

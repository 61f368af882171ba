// Dense multi-head attention (docs/ARCHITECTURE.md §1.1): attention() and attentionAsync().
import type { NativeDenseArgs } from '../binding';
import { native } from './native';
import { Precision, checkPrecision } from './precision';
import {
  AttentionResult, AttentionResultWithWeights, Layout, WithWeights, MaskInput, attentionResult, Tensor, checkBoolean, checkFiniteNumber, checkLayout, checkMask, checkOptions,
  checkOut, checkTensor, checkThreads, checkedProduct, weightsBuffer,
} from './tensor';

export interface AttentionOptions {
  /** Multiplies q·k before bias and softmax. Default 1/sqrt(D); T5 uses 1. */
  scale?: number;
  /** Key j is excluded for query i when j > i + (Nk - Nq) (bottom-right aligned). */
  causal?: boolean;
  /** [B, Nk]: 1 = attend, 0 = excluded. */
  keyMask?: MaskInput;
  /** Additive bias broadcastable (NumPy rules) to [B, H, Nq, Nk]. */
  bias?: Tensor;
  /** Preallocated output, B·H·Nq·Dv floats; must not overlap an input. */
  out?: Float32Array;
  /** Threads for this call (default: the budget set by setThreads). */
  threads?: number;
  /** Also return the probabilities, weights [B, H, Nq, Nk] (an Nq x Nk result: for small inputs and pictures). */
  returnWeights?: boolean;
  /**
   * 'bhnd' (default): q [B,H,Nq,D], k [B,Hk,Nk,D], v [B,Hk,Nk,Dv], output [B,H,Nq,Dv].
   * 'bnhd' (Hugging Face / ORT MultiHeadAttention order, no transpose needed): q [B,Nq,H,D],
   * k [B,Nk,Hk,D], v [B,Nk,Hk,Dv], output [B,Nq,H,Dv]. keyMask, bias and weights are unchanged.
   */
  layout?: Layout;
  /**
   * 'fp32' (default), 'bf16' (q·kᵀ and p·v in bfloat16, softmax and accumulation in float32) or 'fp16' (the
   * same in float16, emulated: for accuracy, not speed) (lib/precision.ts).
   */
  precision?: Precision;
}

const OPTION_NAMES = ['scale', 'causal', 'keyMask', 'bias', 'out', 'threads', 'returnWeights', 'layout', 'precision'] as const;

/** Checks every argument and builds the native call; throws TypeError/RangeError naming the culprit. */
function prepare(q: Tensor, k: Tensor, v: Tensor, options?: AttentionOptions): { args: NativeDenseArgs; dims: number[]; weights?: Tensor } {
  const qt = checkTensor('q', q, 4);
  const kt = checkTensor('k', k, 4);
  const vt = checkTensor('v', v, 4);
  const o = checkOptions<AttentionOptions>('options', options, OPTION_NAMES);
  const layout = checkLayout('options.layout', o.layout);
  const bnhd = layout === 'bnhd';
  const split = (d: number[]) => (bnhd ? [d[0], d[2], d[1], d[3]] : d);  // -> [B, heads, rows, D]
  const [B, H, Nq, D] = split(qt.dims);
  const [Bk, Hk, Nk, Dk] = split(kt.dims);
  const [Bv, Hv, Nv, Dv] = split(vt.dims);
  if (Bk !== B || Bv !== B) throw new RangeError(`batch sizes differ: q has ${B}, k has ${Bk}, v has ${Bv}`);
  if (Hv !== Hk) throw new RangeError(`k and v must have the same number of heads: k has ${Hk}, v has ${Hv}`);
  if (Nv !== Nk) throw new RangeError(`k and v must have the same sequence length: k has ${Nk}, v has ${Nv}`);
  if (Dk !== D) throw new RangeError(`q and k must have the same head size D: q has ${D}, k has ${Dk}`);
  if (Hk === 0 ? H !== 0 : H % Hk !== 0)
    throw new RangeError(`q heads (${H}) must be a multiple of k/v heads (${Hk}) for grouped-query attention`);
  const scale = o.scale === undefined ? (D > 0 ? 1 / Math.sqrt(D) : 1) : checkFiniteNumber('options.scale', o.scale);
  const causal = o.causal === undefined ? false : checkBoolean('options.causal', o.causal);
  const threads = checkThreads('options.threads', o.threads);
  const args: NativeDenseArgs = {
    q: qt.data, k: kt.data, v: vt.data, out: undefined as unknown as Float32Array,
    B, H, Hk, Nq, Nk, D, Dv, scale, causal, threads,
  };
  if (bnhd) args.layout = layout;
  const precision = checkPrecision('options.precision', o.precision);
  if (precision !== 'fp32') args.precision = precision;
  if (o.keyMask !== undefined) args.keyMask = checkMask('options.keyMask', o.keyMask, B, Nk);
  if (o.bias !== undefined) {
    const bt = checkTensor('options.bias', o.bias);
    if (bt.dims.length > 4) throw new RangeError(`options.bias must have at most 4 dims, got ${bt.dims.length}`);
    const bd = [...Array(4 - bt.dims.length).fill(1), ...bt.dims] as [number, number, number, number];
    const full = [B, H, Nq, Nk];
    const names = ['B', 'H', 'Nq', 'Nk'];
    bd.forEach((d, i) => {
      if (d !== 1 && d !== full[i])
        throw new RangeError(`options.bias dims [${bt.dims.join(', ')}] do not broadcast to [B, H, Nq, Nk] = [${full.join(', ')}] (${names[i]})`);
    });
    args.bias = bt.data;
    args.biasDims = bd;
  }
  const dims = bnhd ? [B, Nq, H, Dv] : [B, H, Nq, Dv];
  const inputs: Float32Array[] = [qt.data, kt.data, vt.data];
  if (args.bias) inputs.push(args.bias);
  args.out = checkOut('options.out', o.out, checkedProduct('output', dims), inputs);
  const weights = weightsBuffer('options.returnWeights', o.returnWeights, [B, H, Nq, Nk]);
  if (weights) args.weights = weights.data;
  return { args, dims, weights };
}

/**
 * Dense attention: softmax(scale·q·kᵀ + bias, masked)·v per head. q [B,H,Nq,D], k [B,Hk,Nk,D], v [B,Hk,Nk,Dv] → [B,H,Nq,Dv]
 * (with options.layout 'bnhd': q [B,Nq,H,D], k [B,Nk,Hk,D], v [B,Nk,Hk,Dv] → [B,Nq,H,Dv]).
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, options: WithWeights<AttentionOptions>): AttentionResultWithWeights;
/** (Without `returnWeights: true` the result's `weights` may be absent.) */
export function attention(q: Tensor, k: Tensor, v: Tensor, options?: AttentionOptions): AttentionResult;
export function attention(q: Tensor, k: Tensor, v: Tensor, options?: AttentionOptions): AttentionResult {
  const { args, dims, weights } = prepare(q, k, v, options);
  if (args.out.length > 0) native.denseAttention(args);
  return attentionResult(args.out, dims, weights);
}

/** attention() off the event loop; rejects (never throws) on bad input. */
export function attentionAsync(q: Tensor, k: Tensor, v: Tensor, options: WithWeights<AttentionOptions>): Promise<AttentionResultWithWeights>;
/** (Without `returnWeights: true` the result's `weights` may be absent.) */
export function attentionAsync(q: Tensor, k: Tensor, v: Tensor, options?: AttentionOptions): Promise<AttentionResult>;
export async function attentionAsync(q: Tensor, k: Tensor, v: Tensor, options?: AttentionOptions): Promise<AttentionResult> {
  const { args, dims, weights } = prepare(q, k, v, options);
  if (args.out.length > 0) await native.denseAttentionAsync(args);
  return attentionResult(args.out, dims, weights);
}

// Dense multi-head attention (docs/ARCHITECTURE.md §1.1): attention() and attentionAsync().
import type { NativeDenseArgs } from '../binding';
import { AbortOptions, runCancellableOut, takeSignal } from './abort';
import { KVCacheView, checkCacheViews } from './kv-cache';
import { native } from './native';
import { PackedAttentionOptions, isPackedOptions, preparePacked } from './packed';
import { Precision, checkPrecision } from './precision';
import { HalfTensor, HalfType, checkHalfTensor, halfInputs, halfOutput, isHalfTensor } from './half';
import {
  STANDARD_OPTION_NAMES, StandardAttentionOptions, StandardAttentionOutputs, WithStandardOutputs, prepareStandardOptions,
} from './attention-options';
import {
  AttentionResult, AttentionResultWithWeights, Layout, WithWeights, MaskInput, attentionResult, Tensor, checkBoolean, checkFiniteNumber, checkLayout, checkMask, checkOptions,
  checkOut, checkTensor, checkThreads, checkedProduct, overlaps, weightsBuffer,
} from './tensor';

export interface AttentionOptions extends StandardAttentionOptions {
  /** Multiplies q·k before bias and softmax. Default 1/sqrt(D); T5 uses 1. */
  scale?: number;
  /** Key j is excluded for query i when j > i + (Nk - Nq) (bottom-right aligned; options.causalOffset moves the diagonal). */
  causal?: boolean;
  /** [B, Nk]: 1 = attend, 0 = excluded. */
  keyMask?: MaskInput;
  /** Additive bias broadcastable (NumPy rules) to [B, H, Nq, Nk] (float32, or a float16/bfloat16 tensor). */
  bias?: Tensor | HalfTensor;
  /** Preallocated output, B·H·Nq·Dv floats (a Uint16Array for float16/bfloat16 inputs); must not overlap an input. */
  out?: Float32Array | Uint16Array;
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
   * same in float16: native on arm64 with FEAT_FHM, emulated elsewhere, for accuracy, not speed) (lib/precision.ts).
   */
  precision?: Precision;
}

const OPTION_NAMES = ['scale', 'causal', 'keyMask', 'bias', 'out', 'threads', 'returnWeights', 'layout', 'precision', ...STANDARD_OPTION_NAMES] as const;

function notPacked(options: unknown): void {
  if (options === null || typeof options !== 'object') return;
  for (const n of ['seqStarts', 'keySeqStarts'])
    if ((options as Record<string, unknown>)[n] !== undefined) throw new RangeError(`options.${n} needs options.layout 'packed'`);
}

/**
 * Checks every argument and builds the native call; throws TypeError/RangeError naming the culprit.
 * lazyOut (async calls): without options.out, a float32 output is left to the addon (args.out is
 * ADDON_OUT until runCancellableOut hands the array over); `n` = the output's length.
 */
function prepare(
  q: Tensor | HalfTensor, k: Tensor | HalfTensor | KVCacheView, v: Tensor | HalfTensor | KVCacheView, options?: AttentionOptions, lazyOut = false,
): { args: NativeDenseArgs; n: number; dims: number[]; weights?: Tensor; extra: StandardAttentionOutputs; half?: HalfOut } {
  // k and v may be KVCache views (cache.keys / cache.values): read in place, with the capacity's
  // strides; 16-bit views hold Uint16Array storage (typed as float32 here, passed with kvFormat below).
  const views = checkCacheViews(k, v);
  // float16 / bfloat16 q, k, v go to the addon as bits (converted there, off the event loop).
  const half = views ? undefined : halfInputs(q, k, v);
  const NONE = new Float32Array(0);
  const [qt, kt, vt] = half
    ? half.dims.map((dims) => ({ data: NONE, dims }))
    : views
      ? [checkTensor('q', q, 4), { data: views.k.data as Float32Array, dims: views.k.dims.slice() }, { data: views.v.data as Float32Array, dims: views.v.dims.slice() }]
      : [checkTensor('q', q, 4), checkTensor('k', k, 4), checkTensor('v', v, 4)];
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
  if (precision !== 'fp32') {
    // The reduced-precision kernels implement the classic options only (scale, causal, keyMask, bias, layouts, GQA).
    const newer = STANDARD_OPTION_NAMES.filter((n) => (o as Record<string, unknown>)[n] !== undefined);
    if (newer.length)
      throw new RangeError(`options.precision '${precision}' cannot be combined with ${newer.join(', ')} yet: use precision 'fp32' for those`);
    args.precision = precision;
  }
  if (views) {
    if (bnhd) throw new RangeError("KVCache views (k, v) are [B, Hk, N, D]: they need options.layout 'bhnd'");
    args.kvCapacity = views.k.capacity;
    if (views.k.dtype !== 'float32') {
      const refused = ['returnWeights', 'precision', ...STANDARD_OPTION_NAMES].filter((n) => (o as Record<string, unknown>)[n] !== undefined);
      if (refused.length) throw new RangeError(`options.${refused[0]} is not supported with a 16-bit KVCache (it takes scale, causal, keyMask, bias)`);
      args.kvFormat = views.k.dtype;
    }
  }
  if (o.keyMask !== undefined) args.keyMask = checkMask('options.keyMask', o.keyMask, B, Nk);
  if (o.bias !== undefined) {
    const hb = isHalfTensor(o.bias) ? checkHalfTensor('options.bias', o.bias) : undefined;
    const bt = checkTensor('options.bias', hb ? { data: hb.data, dims: hb.dims } : o.bias);
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
  const n = checkedProduct('output', dims);
  const out = half && o.out !== undefined ? halfOutput('options.out', half.type, o.out, n) : undefined;
  if (half) Object.assign(args, { halfType: half.type, qHalf: half.bits[0], kHalf: half.bits[1], vHalf: half.bits[2] });
  else args.out = checkOut('options.out', o.out, n, inputs, lazyOut);
  const weights = weightsBuffer('options.returnWeights', o.returnWeights, [B, H, Nq, Nk]);
  if (weights) args.weights = weights.data;
  const standard = prepareStandardOptions(o, { B, H, Nq, Nk });
  Object.assign(args, standard.args);
  let halfOut: HalfOut | undefined;
  if (half) {
    // The addon writes the n half results into the bytes of a Float32Array of ceil(n / 2): those
    // of options.out itself where they can be viewed so (n even, 4-byte aligned, sharing no byte
    // with any array the call reads or writes), else a new buffer copied into options.out after
    // the call (the copy and the zeroed buffer measured ~8% of a float16 window call of
    // 8 x 16384 x 64).
    const arrays = Object.values(args).filter((x): x is ArrayBufferView => ArrayBuffer.isView(x));
    const direct = out !== undefined && n % 2 === 0 && out.byteOffset % 4 === 0 && !arrays.some((x) => overlaps(out, x));
    const packed = direct ? out : new Uint16Array(n + (n & 1));
    halfOut = { type: half.type, n, packed, out: direct ? undefined : out };
    args.out = new Float32Array(packed.buffer, packed.byteOffset, Math.ceil(n / 2));
  }
  return { args, n, dims, weights, extra: standard.outputs, half: halfOut };
}

/** A half call's output: the packed buffer the addon fills (options.out itself when it could be), and
 * options.out when the result must be copied into it. */
interface HalfOut {
  type: HalfType;
  n: number;
  packed: Uint16Array;
  out?: Uint16Array;
}

/** Whether the native call has anything to write (an empty output may still come with scores or logSumExp). */
function hasWork(p: { args: NativeDenseArgs; n: number }): boolean {
  const { args } = p;
  return p.n > 0 || (args.weights?.length ?? 0) > 0 || (args.scores?.length ?? 0) > 0 || (args.lse?.length ?? 0) > 0;
}

/** The result object: float32, or converted back to the inputs' half type. */
function finish(p: ReturnType<typeof prepare>): AttentionResult & StandardAttentionOutputs {
  const r = Object.assign(attentionResult(p.args.out, p.dims, p.weights), p.extra);
  if (!p.half) return r;
  const { packed, n, out } = p.half;
  const bits = packed.length === n ? packed : packed.subarray(0, n);
  const data = out ? (out.set(bits), out) : bits;
  return Object.assign(r, { type: p.half.type, data }) as unknown as AttentionResult & StandardAttentionOutputs;
}

/** A float16/bfloat16 call's result: data in the inputs' type; weights, scores and logSumExp stay float32. */
export interface HalfAttentionResult extends StandardAttentionOutputs {
  type: HalfType;
  data: Uint16Array;
  dims: number[];
  weights?: Tensor;
}

/**
 * Dense attention: softmax(scale·q·kᵀ + bias, masked)·v per head. q [B,H,Nq,D], k [B,Hk,Nk,D], v [B,Hk,Nk,Dv] → [B,H,Nq,Dv]
 * (with options.layout 'bnhd': q [B,Nq,H,D], k [B,Nk,Hk,D], v [B,Nk,Hk,Dv] → [B,Nq,H,Dv]).
 */
export function attention(
  q: Tensor, k: Tensor | KVCacheView, v: Tensor | KVCacheView, options: WithWeights<WithStandardOutputs<AttentionOptions>>,
): AttentionResultWithWeights & StandardAttentionOutputs;
export function attention(q: Tensor, k: Tensor | KVCacheView, v: Tensor | KVCacheView, options: WithWeights<AttentionOptions>): AttentionResultWithWeights;
/** returnScores / returnLogSumExp: the result has `scores` / `logSumExp`. */
export function attention(
  q: Tensor, k: Tensor | KVCacheView, v: Tensor | KVCacheView, options: WithStandardOutputs<AttentionOptions>,
): AttentionResult & StandardAttentionOutputs;
/** (Without `returnWeights: true` the result's `weights` may be absent.) With options.layout 'packed': see PackedAttentionOptions. */
export function attention(q: Tensor, k: Tensor | KVCacheView, v: Tensor | KVCacheView, options?: AttentionOptions | PackedAttentionOptions): AttentionResult;
/** float16 / bfloat16 q, k, v (ORT's form): computed in float32, output in their type. */
export function attention(q: HalfTensor, k: HalfTensor, v: HalfTensor, options?: AttentionOptions): HalfAttentionResult;
export function attention(
  q: Tensor | HalfTensor, k: Tensor | HalfTensor | KVCacheView, v: Tensor | HalfTensor | KVCacheView, options?: AttentionOptions | PackedAttentionOptions,
): (AttentionResult & StandardAttentionOutputs) | HalfAttentionResult {
  if (isPackedOptions(options)) {
    const { args, dims } = preparePacked(q as Tensor, k as Tensor, v as Tensor, options);
    if (args.out.length > 0) native.denseAttentionPacked(args);
    return { data: args.out, dims };
  }
  notPacked(options);
  const p = prepare(q, k, v, options);
  if (hasWork(p)) native.denseAttention(p.args);
  return finish(p);
}

/** attention() off the event loop; rejects (never throws) on bad input. options.signal aborts it (AbortError). */
export function attentionAsync(
  q: Tensor, k: Tensor | KVCacheView, v: Tensor | KVCacheView, options: WithWeights<WithStandardOutputs<AttentionOptions>> & AbortOptions,
): Promise<AttentionResultWithWeights & StandardAttentionOutputs>;
export function attentionAsync(q: Tensor, k: Tensor | KVCacheView, v: Tensor | KVCacheView, options: WithWeights<AttentionOptions> & AbortOptions): Promise<AttentionResultWithWeights>;
export function attentionAsync(
  q: Tensor, k: Tensor | KVCacheView, v: Tensor | KVCacheView, options: WithStandardOutputs<AttentionOptions> & AbortOptions,
): Promise<AttentionResult & StandardAttentionOutputs>;
/** (Without `returnWeights: true` the result's `weights` may be absent.) With options.layout 'packed': see PackedAttentionOptions. */
export function attentionAsync(q: Tensor, k: Tensor | KVCacheView, v: Tensor | KVCacheView, options?: (AttentionOptions | PackedAttentionOptions) & AbortOptions): Promise<AttentionResult>;
export function attentionAsync(q: HalfTensor, k: HalfTensor, v: HalfTensor, options?: AttentionOptions & AbortOptions): Promise<HalfAttentionResult>;
export async function attentionAsync(
  q: Tensor | HalfTensor, k: Tensor | HalfTensor | KVCacheView, v: Tensor | HalfTensor | KVCacheView,
  options?: (AttentionOptions | PackedAttentionOptions) & AbortOptions,
): Promise<(AttentionResult & StandardAttentionOutputs) | HalfAttentionResult> {
  const [o, signal] = takeSignal('options', options);
  if (isPackedOptions(o)) {
    const { args, n, dims } = preparePacked(q as Tensor, k as Tensor, v as Tensor, o, true);
    return { data: await runCancellableOut(signal, args, (a) => native.denseAttentionPackedAsync(a), n > 0), dims };
  }
  notPacked(o);
  const p = prepare(q, k, v, o as AttentionOptions | undefined, true);
  p.args.out = await runCancellableOut(signal, p.args, (a) => native.denseAttentionAsync(a), hasWork(p));
  return finish(p);
}

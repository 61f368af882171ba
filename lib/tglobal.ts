// LongT5 transient-global attention (docs/ARCHITECTURE.md §1.2): globalBlockIds, the fused TGlobal core, the
// seed's block-global variant, and T5's relative-position bias tables.
import type { NativeBlockGlobalArgs, NativeTGlobalArgs, NativeTGlobalBatchArgs } from '../binding';
import { AbortOptions, runCancellable, runCancellableOut, takeSignal } from './abort';
import { native } from './native';
import { hasSeqStarts, preparePackedTGlobal } from './packed';
import { Precision, checkPrecision } from './precision';
import {
  AttentionResult, AttentionResultWithWeights, MaskInput, WithWeights, attentionResult, Tensor, checkDims, describe, checkFiniteNumber, checkMask, checkOptions, checkOut, checkSize, checkTensor,
  checkLayout, checkThreads, checkedProduct, isDetached, isMaskObject, notAMask, weightsBuffer,
} from './tensor';

export interface GlobalBlockIdsResult {
  /** [B, N]: global block of each token; -1 for padding (and for every token of a row without a complete block). */
  blockIds: Int32Array;
  /** [B, G]: 1 if global token m is valid for row b (m <= the row's largest block id), else 0. */
  segmentIds: Int32Array;
  B: number;
  N: number;
  /** Number of global tokens, floor(N / g). */
  G: number;
}

/** Reads a [B, N] mask: `{data, dims}` gives B and N; a plain array is one row (B = 1). */
function maskShape(name: string, mask: unknown): [number, number] {
  if (isMaskObject(mask)) {
    const dims = checkDims(name, mask.dims, 2);
    return [dims[0], dims[1]];
  }
  if (!ArrayBuffer.isView(mask)) throw notAMask(name, mask);
  // A plain mask gives N by its length, so a detached one (length 0) must be caught here.
  if (isDetached(mask)) throw new TypeError(`${name} is backed by a detached ArrayBuffer`);
  return [1, (mask as Int32Array).length];
}

/** LongT5's fixed global blocks (Hugging Face `_make_global_fixed_block_ids`), exact integer arithmetic. */
export function globalBlockIds(mask: MaskInput, g: number): GlobalBlockIdsResult {
  const [B, N] = maskShape('mask', mask);
  const data = checkMask('mask', mask, B, N);
  checkSize('g', g, { min: 1 });
  const G = Math.floor(N / g);
  const blockIds = new Int32Array(B * N);
  const segmentIds = new Int32Array(B * G);
  if (B * N > 0) native.globalBlockIds({ mask: data, B, N, g, blockIds, segmentIds });
  return { blockIds, segmentIds, B, N, G };
}

/**
 * LongT5's global aggregates (docs/ARCHITECTURE.md §1.2 step 2): the SUM of each block's hidden states, then T5's RMS layer norm
 * `w · a / sqrt(mean(a²) + eps)` when `normWeight` is given. hidden [B, N, C], mask [B, N] → [B, G, C], G = floor(N / g).
 * Blocks without tokens give zero vectors.
 */
export function globalAggregates(hidden: Tensor, mask: MaskInput | undefined, g: number,
                                 options: { normWeight?: Float32Array | Tensor; eps?: number } = {}): Tensor {
  const h = checkTensor('hidden', hidden, 3);
  const [B, N, C] = h.dims;
  const o = checkOptions<{ normWeight?: Float32Array | Tensor; eps?: number }>('options', options, ['normWeight', 'eps']);
  const m = mask === undefined ? new Uint8Array(B * N).fill(1) : checkMask('mask', mask, B, N);
  const ids = globalBlockIds({ data: m, dims: [B, N] }, g);
  let normWeight: Float32Array | undefined;
  if (o.normWeight !== undefined) {
    const w = ArrayBuffer.isView(o.normWeight) ? { data: o.normWeight as Float32Array, dims: [(o.normWeight as Float32Array).length] } : o.normWeight;
    const wt = checkTensor('options.normWeight', w, 1);
    if (wt.dims[0] !== C) throw new RangeError(`options.normWeight must have ${C} elements (d_model), got ${wt.dims[0]}`);
    normWeight = wt.data;
  }
  const eps = o.eps === undefined ? 1e-6 : checkFiniteNumber('options.eps', o.eps);
  if (eps < 0) throw new RangeError(`options.eps must be >= 0, got ${eps}`);
  const out = new Float32Array(checkedProduct('output', [B, ids.G, C]));
  if (out.length > 0) native.globalAggregates({ x: h.data, B, N, C, blockIds: ids.blockIds, G: ids.G, normWeight, eps, out });
  return { data: out, dims: [B, ids.G, C] };
}

/** T5's bidirectional relative-position bucket of each distance (key − query), exactly as Hugging Face computes it. */
export function relativePositionBuckets(relative: Int32Array | readonly number[], numBuckets = 32, maxDistance = 128): Int32Array {
  checkSize('numBuckets', numBuckets, { min: 2, max: 2 ** 30 });
  checkSize('maxDistance', maxDistance, { min: 1, max: 2 ** 30 });
  let rel: Int32Array;
  if (relative instanceof Int32Array) {
    if (isDetached(relative)) throw new TypeError('relative is backed by a detached ArrayBuffer');
    rel = relative;
  } else if (Array.isArray(relative)) {
    rel = new Int32Array(relative.length);
    relative.forEach((x, i) => {
      if (typeof x !== 'number' || !Number.isInteger(x) || Math.abs(x) > 2 ** 31 - 1)
        throw new RangeError(`relative[${i}] must be a 32-bit integer, got ${x}`);
      rel[i] = x;
    });
  } else throw new TypeError(`relative must be an Int32Array or an array of integers, got ${describe(relative)}`);
  const out = new Int32Array(rel.length);
  native.relativePositionBuckets({ relative: rel, numBuckets, maxDistance, out });
  return out;
}


export interface TransientGlobalAttentionOptions {
  /** Local window: query i sees keys j with |i − j| <= localRadius. Required. */
  localRadius: number;
  /** Global block size g (G = floor(N / g) must match globalK). Required. */
  globalBlockSize: number;
  /** [B, N], 1 = token, 0 = padding: padded keys are excluded, padded queries output 0. */
  mask?: MaskInput;
  /**
   * A packed batch (no mask, layout or returnWeights): q, k [T, H, D], v [T, H, Dv] hold B sequences
   * back to back, seqStarts (Int32Array [B + 1], 0 ... T) says where each starts, and globalK/globalV
   * [Gt, H, ·] hold each sequence's floor(N_b / globalBlockSize) global tokens back to back. Each
   * sequence's rows equal a call with that sequence alone. Output [T, H, Dv].
   */
  seqStarts?: Int32Array;
  /** Hugging Face `relative_attention_bias.weight` [numBuckets, H]: bias of local key j at bucket(j − i). */
  relativeAttentionBias?: Tensor;
  /** Hugging Face `global_relative_attention_bias.weight` [numBuckets, H]: bias of global m at bucket(m − blockId(i)). */
  globalRelativeAttentionBias?: Tensor;
  /** T5 bucket parameters (numBuckets defaults to the tables' first dim). */
  numBuckets?: number;
  maxDistance?: number;
  /** Score scale; LongT5 uses 1 (the default). */
  scale?: number;
  /** 'bhnd' (default): q/k/v [B,H,N,D], globalK/V [B,H,G,D]; 'bnhd' (Hugging Face): [B,N,H,D], [B,G,H,D]. */
  layout?: 'bhnd' | 'bnhd';
  out?: Float32Array;
  threads?: number;
  /** Also return the probabilities, weights [B, H, N, N + G]: columns [0, N) local keys, [N, N + G) globals (precision 'fp32' only). */
  returnWeights?: boolean;
  /**
   * 'fp32' (default), 'bf16' (q·k and p·v products of bfloat16-rounded values, softmax and accumulation in float32) or
   * 'fp16' (the same in float16: native on arm64 with FEAT_FHM, else emulated) (lib/precision.ts). Packed batches (seqStarts) take it too.
   */
  precision?: Precision;
}

const TGLOBAL_OPTIONS = [
  'seqStarts', 'localRadius', 'globalBlockSize', 'mask', 'relativeAttentionBias', 'globalRelativeAttentionBias', 'numBuckets',
  'maxDistance', 'scale', 'layout', 'out', 'threads', 'returnWeights', 'precision',
] as const;

function checkBiasTable(name: string, t: unknown, H: number, numBuckets: number | undefined): { data: Float32Array; buckets: number } {
  const bt = checkTensor(name, t, 2);
  if (bt.dims[1] !== H) throw new RangeError(`${name} must be [numBuckets, H] with H = ${H}, got [${bt.dims.join(', ')}]`);
  if (numBuckets !== undefined && bt.dims[0] !== numBuckets)
    throw new RangeError(`${name} has ${bt.dims[0]} buckets but options.numBuckets is ${numBuckets}`);
  if (bt.dims[0] < 2) throw new RangeError(`${name} needs at least 2 buckets`);
  return { data: bt.data, buckets: bt.dims[0] };
}

// lazyOut (async calls): without options.out the addon allocates the output (checkOut's ADDON_OUT,
// runCancellableOut); `n` = the output's length.
function prepareTGlobal(q: Tensor, k: Tensor, v: Tensor, globalK: Tensor, globalV: Tensor, options: TransientGlobalAttentionOptions, lazyOut = false) {
  if (options === undefined) throw new TypeError('options must be given ({ localRadius, globalBlockSize, ... })');
  const o = checkOptions<TransientGlobalAttentionOptions>('options', options, TGLOBAL_OPTIONS);
  const layout = checkLayout('options.layout', o.layout);
  const bnhd = layout === 'bnhd';
  const qt = checkTensor('q', q, 4), kt = checkTensor('k', k, 4), vt = checkTensor('v', v, 4);
  const gkt = checkTensor('globalK', globalK, 4), gvt = checkTensor('globalV', globalV, 4);
  const split = (d: number[]) => (bnhd ? [d[0], d[2], d[1], d[3]] : d);  // -> [B, H, rows, D]
  const [B, H, N, D] = split(qt.dims);
  const [Bk, Hk, Nk, Dk] = split(kt.dims);
  const [Bv, Hv, Nv, Dv] = split(vt.dims);
  const [Bg, Hg, G, Dg] = split(gkt.dims);
  const [Bgv, Hgv, Gv, Dgv] = split(gvt.dims);
  const want = (name: string, got: number[], exp: number[]) => {
    if (got.some((x, i) => x !== exp[i]))
      throw new RangeError(`${name} has dims [${(bnhd ? [got[0], got[2], got[1], got[3]] : got).join(', ')}], expected [${(bnhd ? [exp[0], exp[2], exp[1], exp[3]] : exp).join(', ')}] (layout '${layout}')`);
  };
  want('k', [Bk, Hk, Nk, Dk], [B, H, N, D]);
  want('v', [Bv, Hv, Nv, Dv], [B, H, N, Dv]);
  want('globalK', [Bg, Hg, G, Dg], [B, H, G, D]);
  want('globalV', [Bgv, Hgv, Gv, Dgv], [B, H, G, Dv]);
  const radius = checkSize('options.localRadius', o.localRadius, { max: 2 ** 30 });
  const g = checkSize('options.globalBlockSize', o.globalBlockSize, { min: 1, max: 2 ** 30 });
  if (Math.floor(N / g) !== G)
    throw new RangeError(`globalK has G = ${G} global tokens but floor(N / globalBlockSize) = floor(${N} / ${g}) = ${Math.floor(N / g)}`);
  const scale = o.scale === undefined ? 1 : checkFiniteNumber('options.scale', o.scale);
  const threads = checkThreads('options.threads', o.threads);
  const numBuckets = o.numBuckets === undefined ? undefined : checkSize('options.numBuckets', o.numBuckets, { min: 2, max: 2 ** 30 });
  const maxDistance = o.maxDistance === undefined ? 128 : checkSize('options.maxDistance', o.maxDistance, { min: 1, max: 2 ** 30 });
  const mask = o.mask === undefined ? undefined : checkMask('options.mask', o.mask, B, N);
  const localTable = o.relativeAttentionBias === undefined ? undefined
    : checkBiasTable('options.relativeAttentionBias', o.relativeAttentionBias, H, numBuckets);
  const globalTable = o.globalRelativeAttentionBias === undefined ? undefined
    : checkBiasTable('options.globalRelativeAttentionBias', o.globalRelativeAttentionBias, H, numBuckets);
  // The capped window (a radius past N - 1 sees no more keys) and the per-head tables by distance
  // come from the native code the layers use: one home for T5's bucket rule. Each table keeps its
  // own bucket count.
  const useGlobal = globalTable !== undefined && G > 0;
  const tables = native.tglobalBiasTables({
    H, N, G: useGlobal ? G : 0, radius, maxDistance,
    numBuckets: localTable?.buckets ?? 2, relativeAttentionBias: localTable?.data,
    globalNumBuckets: globalTable?.buckets, globalRelativeAttentionBias: useGlobal ? globalTable.data : undefined,
  });
  const args: NativeTGlobalArgs = {
    q: qt.data, k: kt.data, v: vt.data, globalK: gkt.data, globalV: gvt.data, out: undefined as unknown as Float32Array,
    B, H, N, D, Dv, G, radius: tables.radius, scale, layout, threads,
  };
  if (mask) args.mask = mask;
  if (tables.localBias) args.localBias = tables.localBias;
  if (G > 0) {
    const ids = globalBlockIds(mask ? { data: mask, dims: [B, N] } : { data: new Uint8Array(B * N).fill(1), dims: [B, N] }, g);
    args.globalValid = ids.segmentIds;
    if (tables.globalBias) {
      args.globalBias = tables.globalBias;
      args.blockIds = ids.blockIds;
    }
  }
  const dims = bnhd ? [B, N, H, Dv] : [B, H, N, Dv];
  const n = checkedProduct('output', dims);
  args.out = checkOut('options.out', o.out, n, [qt.data, kt.data, vt.data, gkt.data, gvt.data], lazyOut);
  const precision = checkPrecision('options.precision', o.precision);
  if (precision !== 'fp32') {
    // The reduced-precision cores compute no probabilities (tglobal_attention_weights is float32).
    if (o.returnWeights) throw new RangeError(`options.returnWeights cannot be combined with options.precision '${precision}' yet: use precision 'fp32' for the weights`);
    args.precision = precision;
  }
  const weights = weightsBuffer('options.returnWeights', o.returnWeights, [B, H, N, N + G]);
  if (weights) args.weights = weights.data;
  return { args, n, dims, weights };
}

/**
 * A packed batch's native calls: one per non-empty sequence, checked and built as a call with that
 * sequence alone ([1, N, H, ·] 'bnhd' views writing its rows of the output), run as one job whose
 * threads take query blocks of every sequence (longest first) instead of one sequence at a time.
 */
function packedBatchArgs(p: ReturnType<typeof preparePackedTGlobal<TransientGlobalAttentionOptions>>): NativeTGlobalBatchArgs {
  const calls = p.slices.map((s) => prepareTGlobal(s.q, s.k, s.v, s.globalK, s.globalV, { ...p.rest, layout: 'bnhd', out: s.out }).args)
    .filter((a) => a.out.length > 0);
  return { calls, threads: calls[0]?.threads };
}

/**
 * The fused TGlobal core (docs/ARCHITECTURE.md §1.2 steps 4–5, before Wo): query i attends to local keys |i − j| <= r and to
 * every valid global token, with T5 relative biases looked up from the small per-head tables. Returns [B,H,N,Dv]
 * (or [B,N,H,Dv] with layout 'bnhd').
 */
export function transientGlobalAttention(q: Tensor, k: Tensor, v: Tensor, globalK: Tensor, globalV: Tensor,
                                         options: WithWeights<TransientGlobalAttentionOptions>): AttentionResultWithWeights;
/** (Without `returnWeights: true` the result's `weights` may be absent.) */
export function transientGlobalAttention(q: Tensor, k: Tensor, v: Tensor, globalK: Tensor, globalV: Tensor,
                                         options: TransientGlobalAttentionOptions): AttentionResult;
export function transientGlobalAttention(q: Tensor, k: Tensor, v: Tensor, globalK: Tensor, globalV: Tensor,
                                         options: TransientGlobalAttentionOptions): AttentionResult {
  if (hasSeqStarts(options)) {  // packed: each sequence a call of its own, all in one native job
    const p = preparePackedTGlobal(q, k, v, globalK, globalV, options);
    const batch = packedBatchArgs(p);
    if (batch.calls.length > 0) native.tglobalAttentionBatch(batch);
    return { data: p.out, dims: p.dims };
  }
  const { args, dims, weights } = prepareTGlobal(q, k, v, globalK, globalV, options);
  if (args.out.length > 0) native.tglobalAttention(args);
  return attentionResult(args.out, dims, weights);
}

/** transientGlobalAttention() off the event loop; rejects (never throws) on bad input. options.signal aborts it (AbortError). */
export function transientGlobalAttentionAsync(q: Tensor, k: Tensor, v: Tensor, globalK: Tensor, globalV: Tensor,
                                              options: WithWeights<TransientGlobalAttentionOptions> & AbortOptions): Promise<AttentionResultWithWeights>;
/** (Without `returnWeights: true` the result's `weights` may be absent.) */
export function transientGlobalAttentionAsync(q: Tensor, k: Tensor, v: Tensor, globalK: Tensor, globalV: Tensor,
                                              options: TransientGlobalAttentionOptions & AbortOptions): Promise<AttentionResult>;
export async function transientGlobalAttentionAsync(q: Tensor, k: Tensor, v: Tensor, globalK: Tensor, globalV: Tensor,
                                                    options: TransientGlobalAttentionOptions & AbortOptions): Promise<AttentionResult> {
  const [o, signal] = takeSignal('options', options);
  if (hasSeqStarts(o)) {
    const p = preparePackedTGlobal(q, k, v, globalK, globalV, o);
    const batch = packedBatchArgs(p);
    if (batch.calls.length > 0) await runCancellable(signal, batch, (a) => native.tglobalAttentionBatchAsync(a));
    return { data: p.out, dims: p.dims };
  }
  const { args, n, dims, weights } = prepareTGlobal(q, k, v, globalK, globalV, o as TransientGlobalAttentionOptions, true);
  const data = await runCancellableOut(signal, args, (a) => native.tglobalAttentionAsync(a), n > 0);
  return attentionResult(data, dims, weights);
}

export interface BlockGlobalAttentionOptions {
  /** Tokens per block (the last block absorbs the N % blockSize orphans). Required, 1 <= blockSize <= N. */
  blockSize: number;
  /** Default 1/sqrt(D). */
  scale?: number;
  out?: Float32Array;
  threads?: number;
  /** Also return the probabilities, weights [B, H, N, N + N/blockSize]: tokens, then block globals. */
  returnWeights?: boolean;
}

function prepareBlockGlobal(q: Tensor, k: Tensor, v: Tensor, options: BlockGlobalAttentionOptions, lazyOut = false) {
  if (options === undefined) throw new TypeError('options must be given ({ blockSize })');
  const o = checkOptions<BlockGlobalAttentionOptions>('options', options, ['blockSize', 'scale', 'out', 'threads', 'returnWeights']);
  const qt = checkTensor('q', q, 4), kt = checkTensor('k', k, 4), vt = checkTensor('v', v, 4);
  const [B, H, N, D] = qt.dims;
  const Dv = vt.dims[3];
  if (kt.dims.some((x, i) => x !== qt.dims[i]))
    throw new RangeError(`k has dims [${kt.dims.join(', ')}], expected [${qt.dims.join(', ')}] (same as q)`);
  if (vt.dims.slice(0, 3).some((x, i) => x !== qt.dims[i]))
    throw new RangeError(`v has dims [${vt.dims.join(', ')}], expected [${[B, H, N].join(', ')}, Dv]`);
  const blockSize = checkSize('options.blockSize', o.blockSize, { min: 1, max: 2 ** 30 });
  if (N > 0 && blockSize > N) throw new RangeError(`options.blockSize (${blockSize}) must be <= N (${N}): no complete block`);
  const scale = o.scale === undefined ? (D > 0 ? 1 / Math.sqrt(D) : 1) : checkFiniteNumber('options.scale', o.scale);
  const threads = checkThreads('options.threads', o.threads);
  const dims = [B, H, N, Dv];
  const n = checkedProduct('output', dims);
  const out = checkOut('options.out', o.out, n, [qt.data, kt.data, vt.data], lazyOut);
  const weights = weightsBuffer('options.returnWeights', o.returnWeights, [B, H, N, N + Math.floor(N / blockSize)]);
  const args: NativeBlockGlobalArgs = { q: qt.data, k: kt.data, v: vt.data, out, B, H, N, D, Dv, blockSize, scale, threads };
  if (weights) args.weights = weights.data;
  return { args, n, dims, weights };
}

/**
 * The seed's block-global attention: each token attends to the tokens of its own block plus its block's global
 * token, whose key and value are the mean of the block's keys and values. q, k, v [B,H,N,D] → [B,H,N,Dv].
 */
export function blockGlobalAttention(q: Tensor, k: Tensor, v: Tensor, options: WithWeights<BlockGlobalAttentionOptions>): AttentionResultWithWeights;
/** (Without `returnWeights: true` the result's `weights` may be absent.) */
export function blockGlobalAttention(q: Tensor, k: Tensor, v: Tensor, options: BlockGlobalAttentionOptions): AttentionResult;
export function blockGlobalAttention(q: Tensor, k: Tensor, v: Tensor, options: BlockGlobalAttentionOptions): AttentionResult {
  const { args, dims, weights } = prepareBlockGlobal(q, k, v, options);
  if (args.out.length > 0) native.blockGlobalAttention(args);
  return attentionResult(args.out, dims, weights);
}

/** blockGlobalAttention() off the event loop; rejects (never throws) on bad input. options.signal aborts it (AbortError). */
export function blockGlobalAttentionAsync(q: Tensor, k: Tensor, v: Tensor, options: WithWeights<BlockGlobalAttentionOptions> & AbortOptions): Promise<AttentionResultWithWeights>;
/** (Without `returnWeights: true` the result's `weights` may be absent.) */
export function blockGlobalAttentionAsync(q: Tensor, k: Tensor, v: Tensor, options: BlockGlobalAttentionOptions & AbortOptions): Promise<AttentionResult>;
export async function blockGlobalAttentionAsync(q: Tensor, k: Tensor, v: Tensor, options: BlockGlobalAttentionOptions & AbortOptions): Promise<AttentionResult> {
  const [o, signal] = takeSignal('options', options);
  const { args, n, dims, weights } = prepareBlockGlobal(q, k, v, o as BlockGlobalAttentionOptions, true);
  const data = await runCancellableOut(signal, args, (a) => native.blockGlobalAttentionAsync(a), n > 0);
  return attentionResult(data, dims, weights);
}

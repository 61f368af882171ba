// Packed mixed-length batches for attention(): `{ layout: 'packed', seqStarts, keySeqStarts? }`
// with q [T, H, D], k [Tk, Hk, D], v [Tk, Hk, Dv] → [T, H, Dv]. The tokens of all sequences are
// stored back to back; seqStarts (length B + 1, FlashAttention's cu_seqlens) gives where each
// sequence's queries start, keySeqStarts its keys (default: seqStarts). No work on padding, and
// each sequence's rows equal a call with that sequence alone (causal: its own bottom-right diagonal).
import type { NativeDensePackedArgs } from '../binding';
import {
  checkBoolean, checkFiniteNumber, checkOptions, checkOut, checkTensor, checkThreads, checkedProduct, describe, isDetached, Tensor,
} from './tensor';
import { KVCacheView } from './kv-cache';

export interface PackedAttentionOptions {
  layout: 'packed';
  /** Int32Array [B + 1]: 0 = seqStarts[0] <= seqStarts[1] <= ... <= seqStarts[B] = T. Sequence b's queries are rows [seqStarts[b], seqStarts[b+1]). */
  seqStarts: Int32Array;
  /** Int32Array [B + 1] over the Tk keys (default: seqStarts, i.e. self-attention). */
  keySeqStarts?: Int32Array;
  scale?: number;
  /** Per sequence, bottom-right aligned: key j excluded for query i when j > i + (Nk_b − Nq_b). */
  causal?: boolean;
  /** Preallocated output, T·H·Dv floats. */
  out?: Float32Array;
  threads?: number;
}

const PACKED_OPTION_NAMES = ['layout', 'seqStarts', 'keySeqStarts', 'scale', 'causal', 'out', 'threads'] as const;
/** Options of attention() that have no meaning for a packed batch (there is no padding and no [B, H, Nq, Nk] grid). */
const NOT_WITH_PACKED = ['keyMask', 'bias', 'returnWeights'];

/** Whether attention()'s options ask for a packed batch. */
export function isPackedOptions(options: unknown): options is PackedAttentionOptions {
  return options !== null && typeof options === 'object' && (options as { layout?: unknown }).layout === 'packed';
}

/** Validates cu_seqlens-style offsets: an Int32Array of `length` (if given) entries from 0 to `total`, never decreasing. */
export function checkSeqStarts(name: string, x: unknown, total: number, length?: number): Int32Array {
  if (Object.prototype.toString.call(x) !== '[object Int32Array]')
    throw new TypeError(`${name} must be an Int32Array of sequence offsets (length B + 1), got ${describe(x)}`);
  const s = x as Int32Array;
  if (s.length === 0 && isDetached(s)) throw new TypeError(`${name} is backed by a detached ArrayBuffer`);
  if (length !== undefined && s.length !== length) throw new RangeError(`${name} must have ${length} entries (like seqStarts), got ${s.length}`);
  if (s.length < 1) throw new RangeError(`${name} must have at least 1 entry (B + 1 offsets), got 0`);
  if (s[0] !== 0) throw new RangeError(`${name}[0] must be 0, got ${s[0]}`);
  for (let i = 1; i < s.length; i++)
    if (s[i] < s[i - 1]) throw new RangeError(`${name} must be non-decreasing: ${name}[${i}] = ${s[i]} < ${name}[${i - 1}] = ${s[i - 1]}`);
  if (s[s.length - 1] !== total)
    throw new RangeError(`${name} must end at ${total} (the number of ${name === 'options.seqStarts' ? 'query' : 'key'} tokens), got ${s[s.length - 1]}`);
  return s;
}

/** Checks a packed call's arguments and builds the native call. */
// lazyOut (async calls): without options.out the addon allocates the output (checkOut's ADDON_OUT,
// runCancellableOut); `n` = the output's length.
export function preparePacked(q: Tensor, k: Tensor | KVCacheView, v: Tensor | KVCacheView, options: PackedAttentionOptions,
                              lazyOut = false): { args: NativeDensePackedArgs; n: number; dims: number[] } {
  for (const n of NOT_WITH_PACKED)
    if ((options as unknown as Record<string, unknown>)[n] !== undefined)
      throw new RangeError(`options.${n} is not supported with layout 'packed' (a packed batch has no padding; call per sequence instead)`);
  const o = checkOptions<PackedAttentionOptions>('options', options, PACKED_OPTION_NAMES);
  if (k instanceof KVCacheView || v instanceof KVCacheView)
    throw new RangeError("KVCache views (cache.keys, cache.values) are [B, Hk, N, D] tensors: they do not go with layout 'packed'");
  const qt = checkTensor('q', q, 3);
  const kt = checkTensor('k', k, 3);
  const vt = checkTensor('v', v, 3);
  const [T, H, D] = qt.dims;
  const [Tk, Hk, Dk] = kt.dims;
  const [Tv, Hv, Dv] = vt.dims;
  if (Dk !== D) throw new RangeError(`q and k must have the same head size D: q has ${D}, k has ${Dk}`);
  if (Tv !== Tk) throw new RangeError(`k and v must have the same number of tokens: k has ${Tk}, v has ${Tv}`);
  if (Hv !== Hk) throw new RangeError(`k and v must have the same number of heads: k has ${Hk}, v has ${Hv}`);
  if (Hk === 0 ? H !== 0 : H % Hk !== 0)
    throw new RangeError(`q heads (${H}) must be a multiple of k/v heads (${Hk}) for grouped-query attention`);
  if (T > 2 ** 31 - 1 || Tk > 2 ** 31 - 1) throw new RangeError('a packed batch holds at most 2^31 - 1 tokens (Int32Array offsets)');
  const seqStarts = checkSeqStarts('options.seqStarts', o.seqStarts, T);
  const keySeqStarts = o.keySeqStarts === undefined ? checkSeqStarts('options.keySeqStarts (default: seqStarts)', seqStarts, Tk)
    : checkSeqStarts('options.keySeqStarts', o.keySeqStarts, Tk, seqStarts.length);
  const scale = o.scale === undefined ? (D > 0 ? 1 / Math.sqrt(D) : 1) : checkFiniteNumber('options.scale', o.scale);
  const causal = o.causal === undefined ? false : checkBoolean('options.causal', o.causal);
  const threads = checkThreads('options.threads', o.threads);
  const dims = [T, H, Dv];
  const n = checkedProduct('output', dims);
  const out = checkOut('options.out', o.out, n, [qt.data, kt.data, vt.data], lazyOut);
  const args: NativeDensePackedArgs = {
    q: qt.data, k: kt.data, v: vt.data, out, T, Tk, H, Hk, D, Dv, seqs: seqStarts.length - 1, seqStarts, keySeqStarts, scale, causal, threads,
  };
  return { args, n, dims };
}

/** One sequence of a packed TGlobal-core batch: [1, N, H, ·] 'bnhd' views of the packed tensors and its output rows. */
export interface PackedTGlobalSlice {
  q: Tensor; k: Tensor; v: Tensor; globalK: Tensor; globalV: Tensor; out: Float32Array;
}

/** Whether transientGlobalAttention()'s options ask for a packed batch. */
export function hasSeqStarts(options: unknown): options is { seqStarts: unknown } {
  return options !== null && typeof options === 'object' && (options as { seqStarts?: unknown }).seqStarts !== undefined;
}

/**
 * A packed TGlobal-core batch: q, k [T, H, D], v [T, H, Dv], globalK [Gt, H, D], globalV [Gt, H, Dv]
 * with Gt = Σ_b floor(N_b / globalBlockSize) (each sequence's global tokens, back to back). Returns
 * per-sequence views (computed as calls of their own: same bits as calling each alone), the output
 * [T, H, Dv] and the options every per-sequence call takes.
 */
export function preparePackedTGlobal<O extends { seqStarts?: Int32Array; globalBlockSize?: number; out?: Float32Array }>(
  q: Tensor, k: Tensor, v: Tensor, globalK: Tensor, globalV: Tensor, options: O,
): { slices: PackedTGlobalSlice[]; out: Float32Array; dims: number[]; rest: Omit<O, 'seqStarts' | 'out'> } {
  const o = options as Record<string, unknown>;
  for (const n of ['mask', 'layout', 'returnWeights'])
    if (o[n] !== undefined) throw new RangeError(`options.${n} is not supported with options.seqStarts (a packed batch is token-major and has no padding)`);
  const qt = checkTensor('q', q, 3), kt = checkTensor('k', k, 3), vt = checkTensor('v', v, 3);
  const gkt = checkTensor('globalK', globalK, 3), gvt = checkTensor('globalV', globalV, 3);
  const [T, H, D] = qt.dims;
  const Dv = vt.dims[2];
  const same = (name: string, got: number[], want: number[]) => {
    if (got.some((x, i) => x !== want[i])) throw new RangeError(`${name} has dims [${got.join(', ')}], expected [${want.join(', ')}]`);
  };
  same('k', kt.dims, [T, H, D]);
  same('v', vt.dims, [T, H, Dv]);
  const seqStarts = checkSeqStarts('options.seqStarts', o.seqStarts, T);
  const g = o.globalBlockSize;
  if (typeof g !== 'number' || !Number.isInteger(g) || g < 1)
    throw new (typeof g === 'number' ? RangeError : TypeError)(`options.globalBlockSize must be an integer >= 1, got ${describe(g)}`);
  let Gt = 0;
  for (let s = 0; s + 1 < seqStarts.length; s++) Gt += Math.floor((seqStarts[s + 1] - seqStarts[s]) / g);
  same('globalK', gkt.dims, [Gt, H, D]);
  same('globalV', gvt.dims, [Gt, H, Dv]);
  const dims = [T, H, Dv];
  const out = checkOut('options.out', o.out, checkedProduct('output', dims), [qt.data, kt.data, vt.data, gkt.data, gvt.data]);
  const slices: PackedTGlobalSlice[] = [];
  let g0 = 0;
  for (let s = 0; s + 1 < seqStarts.length; s++) {
    const t0 = seqStarts[s], N = seqStarts[s + 1] - t0, G = Math.floor(N / g);
    if (N > 0) {
      const view = (x: Float32Array, at: number, n: number, d: number) => ({ data: x.subarray(at * H * d, (at + n) * H * d), dims: [1, n, H, d] });
      slices.push({
        q: view(qt.data, t0, N, D), k: view(kt.data, t0, N, D), v: view(vt.data, t0, N, Dv),
        globalK: view(gkt.data, g0, G, D), globalV: view(gvt.data, g0, G, Dv), out: out.subarray(t0 * H * Dv, (t0 + N) * H * Dv),
      });
    }
    g0 += G;
  }
  const { seqStarts: _s, out: _o, ...rest } = options;
  return { slices, out, dims, rest };
}

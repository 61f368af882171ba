// Packed mixed-length batches for attention(): `{ layout: 'packed', seqStarts, keySeqStarts? }`
// with q [T, H, D], k [Tk, Hk, D], v [Tk, Hk, Dv] → [T, H, Dv]. The tokens of all sequences are
// stored back to back; seqStarts (length B + 1, FlashAttention's cu_seqlens) gives where each
// sequence's queries start, keySeqStarts its keys (default: seqStarts). No work on padding, and
// each sequence's rows equal a call with that sequence alone (causal: its own bottom-right diagonal).
import type { NativeDensePackedArgs } from '../binding';
import {
  checkBoolean, checkFiniteNumber, checkOptions, checkOut, checkTensor, checkThreads, checkedProduct, describe, isDetached, Tensor,
} from './tensor';

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
export function preparePacked(q: Tensor, k: Tensor, v: Tensor, options: PackedAttentionOptions): { args: NativeDensePackedArgs; dims: number[] } {
  for (const n of NOT_WITH_PACKED)
    if ((options as unknown as Record<string, unknown>)[n] !== undefined)
      throw new RangeError(`options.${n} is not supported with layout 'packed' (a packed batch has no padding; call per sequence instead)`);
  const o = checkOptions<PackedAttentionOptions>('options', options, PACKED_OPTION_NAMES);
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
  const out = checkOut('options.out', o.out, checkedProduct('output', dims), [qt.data, kt.data, vt.data]);
  const args: NativeDensePackedArgs = {
    q: qt.data, k: kt.data, v: vt.data, out, T, Tk, H, Hk, D, Dv, seqs: seqStarts.length - 1, seqStarts, keySeqStarts, scale, causal, threads,
  };
  return { args, dims };
}

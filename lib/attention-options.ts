// The standard attention operator's options of attention() (ONNX Attention, opset 23-25, and
// FlashAttention's vocabulary): softcap, a movable causal diagonal, a sliding window, valid key
// lengths, the scores at the operator's four stages, the per-row log-sum-exp and a T5
// relative-position bias computed in the kernel. Checked here,
// turned into the native call's fields; every error names the option.
import type { NativeDenseArgs } from '../binding';
import { Tensor, checkBoolean, checkOptions, checkSize, checkTensor, checkedProduct, describe, isFloat32Array } from './tensor';

/** The operator's score stages, in qk_matmul_output_mode order 0..3 (softcap comes before the mask). */
export type ScoreStage = 'matmul' | 'softcapped' | 'masked' | 'softmax';
export const SCORE_STAGES: readonly ScoreStage[] = ['matmul', 'softcapped', 'masked', 'softmax'];

export interface StandardAttentionOptions {
  /** > 0: each score s = scale·q·k becomes softcap·tanh(s / softcap), before the bias and the masks. */
  softcap?: number;
  /**
   * Places the diagonal p = i + offset that `causal` (key j allowed iff j <= p) and `window` use;
   * one number, or an Int32Array [B] (one per batch). Default Nk - Nq (bottom-right).
   */
  causalOffset?: number | Int32Array;
  /** [left, right]: key j allowed iff p - left <= j <= p + right; Infinity leaves a side open. */
  window?: readonly [number, number];
  /** Int32Array [B]: valid keys per batch (ONNX nonpad_kv_seqlen); keys j >= keyLengths[b] are excluded. */
  keyLengths?: Int32Array;
  /**
   * Also return the scores [B, H, Nq, Nk] at one stage: 'matmul' (scale·q·k), 'softcapped',
   * 'masked' (+ bias, excluded keys -Infinity) or 'softmax' (the probabilities, as returnWeights).
   */
  returnScores?: ScoreStage;
  /** Also return logSumExp [B, H, Nq]: each row's log(sum(exp(score))) over its admissible keys (-Infinity if none). */
  returnLogSumExp?: boolean;
  /**
   * T5 relative-position bias, computed in the kernel (no Nq x Nk tensor): query i (at key
   * position p = i + offset, the diagonal above) and key j get table[bucket(j - p), h], T5's
   * bucket rule. Added to `bias` if both are given.
   */
  relativeBias?: RelativeBias;
}

/** attention()'s relativeBias: Hugging Face's relative_attention_bias.weight and its config fields. */
export interface RelativeBias {
  /** [numBuckets, H] (a Tensor, or a Float32Array of numBuckets·H). */
  table: Tensor | Float32Array;
  /** relative_attention_num_buckets. */
  numBuckets: number;
  /** relative_attention_max_distance. */
  maxDistance: number;
  /** true (default; encoders, cross-attention in T5's own code) or false (T5 decoders' self-attention: only keys before the query count). */
  bidirectional?: boolean;
}

export const STANDARD_OPTION_NAMES = [
  'softcap', 'causalOffset', 'window', 'keyLengths', 'returnScores', 'returnLogSumExp', 'relativeBias',
] as const;

/** Options that ask for scores or the log-sum-exp: selects the entry points' overloads whose results declare them. */
export type WithStandardOutputs<O> = O & ({ returnScores: ScoreStage } | { returnLogSumExp: true });

/** What the standard options add to a result. */
export interface StandardAttentionOutputs {
  /** options.returnScores: [B, H, Nq, Nk]. */
  scores?: Tensor;
  /** options.returnLogSumExp: [B, H, Nq] (whatever the layout), natural log. */
  logSumExp?: Tensor;
}

/** Offsets and window sides beyond this reach past any sequence (sizes are < 2^32). */
const MAX_REACH = 2 ** 40;

const isInt32Array = (x: unknown): x is Int32Array => Object.prototype.toString.call(x) === '[object Int32Array]';

function checkInt32s(name: string, x: unknown, B: number): Int32Array {
  if (!isInt32Array(x)) throw new TypeError(`${name} must be an Int32Array of length B = ${B}, got ${describe(x)}`);
  if (x.length !== B) throw new RangeError(`${name} must have B = ${B} elements, got ${x.length}`);
  return x;
}

function checkSoftcap(x: unknown): number {
  const name = 'options.softcap';
  if (typeof x !== 'number') throw new TypeError(`${name} must be a number, got ${describe(x)}`);
  if (!(x > 0) || !Number.isFinite(x)) throw new RangeError(`${name} must be a finite number > 0, got ${x}`);
  return x;
}

function checkOffset(x: unknown, B: number): number | Int32Array {
  const name = 'options.causalOffset';
  if (typeof x === 'number') {
    if (!Number.isInteger(x)) throw new RangeError(`${name} must be an integer, got ${x}`);
    if (Math.abs(x) > MAX_REACH) throw new RangeError(`${name} must be within ±2^40, got ${x}`);
    return x;
  }
  if (!isInt32Array(x)) throw new TypeError(`${name} must be an integer or an Int32Array [B], got ${describe(x)}`);
  return checkInt32s(name, x, B);
}

/** A window side for the native call: -1 = open. */
function checkWindowSide(x: unknown, i: number): number {
  const name = `options.window[${i}] (${i === 0 ? 'left' : 'right'})`;
  if (typeof x !== 'number') throw new TypeError(`${name} must be a number (Infinity = open), got ${describe(x)}`);
  if (Number.isNaN(x)) throw new RangeError(`${name} must be a non-negative integer or Infinity, got NaN`);
  if (x < 0) throw new RangeError(`${name} must be a non-negative integer or Infinity, got ${x}`);
  if (x === Infinity || x > MAX_REACH) return -1;
  if (!Number.isInteger(x)) throw new RangeError(`${name} must be an integer or Infinity, got ${x}`);
  return x;
}

function checkWindow(x: unknown): [number, number] {
  if (!Array.isArray(x) || x.length !== 2)
    throw new TypeError(`options.window must be [left, right] (two numbers; Infinity = open), got ${describe(x)}`);
  return [checkWindowSide(x[0], 0), checkWindowSide(x[1], 1)];
}

function checkKeyLengths(x: unknown, B: number, Nk: number): Int32Array {
  const len = checkInt32s('options.keyLengths', x, B);
  for (let b = 0; b < B; b++)
    if (len[b] < 0 || len[b] > Nk) throw new RangeError(`options.keyLengths[${b}] = ${len[b]} is outside [0, Nk = ${Nk}]`);
  return len;
}

function checkStage(x: unknown): number {
  const name = 'options.returnScores';
  if (typeof x !== 'string') throw new TypeError(`${name} must be one of ${SCORE_STAGES.map((s) => `'${s}'`).join(', ')}, got ${describe(x)}`);
  const i = SCORE_STAGES.indexOf(x as ScoreStage);
  if (i < 0) throw new RangeError(`${name} must be one of ${SCORE_STAGES.map((s) => `'${s}'`).join(', ')}, got '${x}'`);
  return i;
}

function checkRelativeBias(x: unknown, H: number): Pick<NativeDenseArgs, 'relTable' | 'relNumBuckets' | 'relMaxDistance' | 'relBidirectional'> {
  const name = 'options.relativeBias';
  if (x === null || typeof x !== 'object' || Array.isArray(x) || ArrayBuffer.isView(x))
    throw new TypeError(`${name} must be an object { table, numBuckets, maxDistance, bidirectional? }, got ${describe(x)}`);
  const o = checkOptions<RelativeBias>(name, x, ['table', 'numBuckets', 'maxDistance', 'bidirectional']);
  const numBuckets = checkSize(`${name}.numBuckets`, o.numBuckets, { min: 1, max: 2 ** 30 });
  const maxDistance = checkSize(`${name}.maxDistance`, o.maxDistance, { min: 1, max: 2 ** 31 - 1 });
  const bidirectional = o.bidirectional === undefined ? true : checkBoolean(`${name}.bidirectional`, o.bidirectional);
  let table: Float32Array;
  if (isFloat32Array(o.table)) {
    table = o.table;
    if (table.length !== numBuckets * H)
      throw new RangeError(`${name}.table has ${table.length} elements but [numBuckets, H] = [${numBuckets}, ${H}] needs ${numBuckets * H}`);
  } else {
    const t = checkTensor(`${name}.table`, o.table, 2);
    if (t.dims[0] !== numBuckets || t.dims[1] !== H)
      throw new RangeError(`${name}.table must have dims [numBuckets, H] = [${numBuckets}, ${H}], got [${t.dims.join(', ')}]`);
    table = t.data;
  }
  return { relTable: table, relNumBuckets: numBuckets, relMaxDistance: maxDistance, relBidirectional: bidirectional };
}

/**
 * Checks the standard options of an attention call with these sizes; returns the native fields
 * to merge into its arguments and the extra outputs they asked for (allocated here).
 */
export function prepareStandardOptions(
  o: StandardAttentionOptions,
  sizes: { B: number; H: number; Nq: number; Nk: number },
): { args: Partial<NativeDenseArgs>; outputs: StandardAttentionOutputs } {
  const { B, H, Nq, Nk } = sizes;
  const args: Partial<NativeDenseArgs> = {};
  const outputs: StandardAttentionOutputs = {};
  if (o.softcap !== undefined) args.softcap = checkSoftcap(o.softcap);
  if (o.causalOffset !== undefined) {
    const off = checkOffset(o.causalOffset, B);
    if (typeof off === 'number') args.causalOffset = off;
    else args.causalOffsets = off;
  }
  if (o.window !== undefined) [args.windowLeft, args.windowRight] = checkWindow(o.window);
  if (o.keyLengths !== undefined) args.keyLengths = checkKeyLengths(o.keyLengths, B, Nk);
  if (o.relativeBias !== undefined) Object.assign(args, checkRelativeBias(o.relativeBias, H));
  if (o.returnScores !== undefined) {
    args.scoresStage = checkStage(o.returnScores);
    const dims = [B, H, Nq, Nk];
    outputs.scores = { data: new Float32Array(checkedProduct('options.returnScores: scores', dims)), dims };
    args.scores = outputs.scores.data;
  }
  if (o.returnLogSumExp !== undefined && checkBoolean('options.returnLogSumExp', o.returnLogSumExp)) {
    const dims = [B, H, Nq];
    outputs.logSumExp = { data: new Float32Array(checkedProduct('options.returnLogSumExp: logSumExp', dims)), dims };
    args.lse = outputs.logSumExp.data;
  }
  return { args, outputs };
}

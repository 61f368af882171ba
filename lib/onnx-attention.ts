// The ONNX standard Attention operator (opset 23-25) on top of attention() / attentionAsync():
// inputs and attributes by the operator's names, outputs in its shapes and element types. Every
// case maps onto attention()'s options:
//  - 3-D inputs [B, N, heads·D] are the 'bnhd' layout's data (a new dims array, no copy);
//  - past_key / past_value are concatenated into present_key / present_value (the op's outputs,
//    so that copy is the op's own), which then are the keys and values;
//  - is_causal's diagonal (key j allowed iff j <= i + offset: offset = the past length with a
//    cache, nonpad_kv_seqlen[b] - Nq with per-batch lengths only, else 0 = top-left) becomes
//    causalOffset, since attention()'s own default is bottom-right;
//  - opset 25's left/right_window_size (or a single local_window_size) become window, on the same diagonal;
//  - nonpad_kv_seqlen, and an attn_mask shorter than the keys (the operator pads it with -inf /
//    false), become keyLengths; a float attn_mask is the additive bias as it is, a bool one becomes
//    0 / -Infinity (or the key mask, when it is [B, 1, 1, Nk]);
//  - qk_matmul_output_mode 0..3 picks returnScores 'matmul' | 'softcapped' | 'masked' | 'softmax'.
// Rows left with no admissible key give 0 (the operator's fully-masked-row rule), as attention() does.
import { AbortOptions, takeSignal } from './abort';
import { SCORE_STAGES } from './attention-options';
import { AttentionOptions, HalfAttentionResult, attention, attentionAsync } from './dense';
import { HalfTensor, HalfType, checkHalfBits, float32ToHalf, halfToFloat32, isHalfTensor } from './half';
import { Tensor, checkDims, checkOptions, checkTensor, checkThreads, checkedProduct, describe } from './tensor';
import type { StandardAttentionOutputs } from './attention-options';

/** A float tensor of the operator: float32 ({ data: Float32Array, dims }) or float16 / bfloat16 bits. */
export type OnnxFloatTensor = Tensor | HalfTensor;

/** A bool tensor (onnxruntime-node's form): one byte per element, 0 = false. */
export interface OnnxBoolTensor {
  type?: 'bool';
  data: Uint8Array;
  dims: readonly number[];
}

/** An int64 (or int32) tensor of sizes: onnxruntime-node's int64 tensor, or a bare BigInt64Array / Int32Array. */
export type OnnxLengths = BigInt64Array | Int32Array | { type?: 'int64' | 'int32'; data: BigInt64Array | Int32Array; dims: readonly number[] };

/** The operator's inputs, by its names. */
export interface OnnxAttentionInputs {
  /** [B, H, Nq, D], or 3-D [B, Nq, H·D] (then attributes q_num_heads and kv_num_heads are required). */
  Q: OnnxFloatTensor;
  /** [B, Hk, Nkv, D] or [B, Nkv, Hk·D]; same element type as Q. */
  K: OnnxFloatTensor;
  /** [B, Hk, Nkv, Dv] or [B, Nkv, Hk·Dv]. */
  V: OnnxFloatTensor;
  /**
   * Bool (true = attend) or float (added to the scores), broadcastable to [B, H, Nq, T] (T = past +
   * Nkv keys); a last dim shorter than T is padded with false / -Infinity, as the operator does.
   */
  attn_mask?: OnnxFloatTensor | OnnxBoolTensor;
  /** [B, Hk, P, D] (4-D also with 3-D inputs). */
  past_key?: OnnxFloatTensor;
  /** [B, Hk, P, Dv]. */
  past_value?: OnnxFloatTensor;
  /** [B]: keys j >= nonpad_kv_seqlen[b] are excluded (opset 24). */
  nonpad_kv_seqlen?: OnnxLengths;
}

/** The operator's attributes, by its names (numbers as in the ONNX node; integers also as bigints, is_causal also as a boolean). */
export interface OnnxAttentionAttributes {
  /** 1: causal, on the diagonal j <= i + offset described above. Default 0. */
  is_causal?: number | bigint | boolean;
  /** Multiplies q·k. Default 1/sqrt(D). */
  scale?: number;
  /** > 0: scores become softcap·tanh(s / softcap), before the mask. Default 0 (off). */
  softcap?: number;
  /** Query heads: required for 3-D inputs; for 4-D, must match Q's dims if given. */
  q_num_heads?: number | bigint;
  /** Key/value heads: required for 3-D inputs; for 4-D, must match K's dims if given. */
  kv_num_heads?: number | bigint;
  /** Stage of qk_matmul_output: 0 = scale·q·k, 1 = after softcap, 2 = after the mask / bias, 3 = softmax. Default 0. */
  qk_matmul_output_mode?: number | bigint;
  /**
   * ONNX TensorProto element type of the softmax: 1 (FLOAT), 10 (FLOAT16), 16 (BFLOAT16) or 11
   * (DOUBLE). The softmax always runs in float32, at least the precision of a 16-bit request and
   * within float32 outputs' rounding of a DOUBLE one.
   */
  softmax_precision?: number | bigint;
  /** Opset 25: keys more than this many before the diagonal are excluded; -1 (default) = open. */
  left_window_size?: number | bigint;
  /** Opset 25: keys more than this many after the diagonal are excluded; -1 (default) = open. */
  right_window_size?: number | bigint;
  /** The single-sided form of the window (key j allowed iff 0 <= p - j < local_window_size); -1 = off. Not with left/right_window_size. */
  local_window_size?: number | bigint;
}

export type OnnxAttentionOutputName = 'Y' | 'present_key' | 'present_value' | 'qk_matmul_output';
const OUTPUT_NAMES: readonly OnnxAttentionOutputName[] = ['Y', 'present_key', 'present_value', 'qk_matmul_output'];

export interface OnnxAttentionOptions {
  /** Threads for this call (default: the budget set by setThreads). */
  threads?: number;
  /**
   * Which outputs to return, as a node's connected outputs (Y always comes back). Default: all
   * four; ['Y'] skips the scores' [B, H, Nq, T] buffer and, without a cache, present_key / present_value.
   */
  outputs?: readonly OnnxAttentionOutputName[];
}

/** The operator's outputs, in its shapes and element types (3-D in, 3-D Y out). */
export interface OnnxAttentionResult {
  /** [B, H, Nq, Dv] or [B, Nq, H·Dv], Q's element type. */
  Y: OnnxFloatTensor;
  /** [B, Hk, T, D]: past_key then K (K itself, not a copy, for 4-D inputs without a cache). */
  present_key?: OnnxFloatTensor;
  /** [B, Hk, T, Dv]. */
  present_value?: OnnxFloatTensor;
  /** [B, H, Nq, T] at qk_matmul_output_mode's stage, Q's element type. */
  qk_matmul_output?: OnnxFloatTensor;
}

const INPUT_NAMES = ['Q', 'K', 'V', 'attn_mask', 'past_key', 'past_value', 'nonpad_kv_seqlen'] as const;
const ATTRIBUTE_NAMES = [
  'is_causal', 'scale', 'softcap', 'q_num_heads', 'kv_num_heads', 'qk_matmul_output_mode', 'softmax_precision',
  'left_window_size', 'right_window_size', 'local_window_size',
] as const;
/** softmax_precision values accepted: TensorProto FLOAT, FLOAT16, DOUBLE, BFLOAT16. */
const SOFTMAX_PRECISIONS: Record<number, string> = { 1: 'FLOAT', 10: 'FLOAT16', 11: 'DOUBLE', 16: 'BFLOAT16' };

type ElemType = 'float32' | HalfType;
type Data = Float32Array | Uint16Array;

/** A checked float input: element type, data (float32 values or half bits) and dims. */
interface Checked {
  type: ElemType;
  data: Data;
  dims: number[];
}

const tag = (x: unknown) => Object.prototype.toString.call(x).slice(8, -1);

function checkFloat(name: string, t: unknown): Checked {
  if (isHalfTensor(t)) {
    const h = checkHalfBits(name, t);
    return { type: h.type, data: h.bits, dims: h.dims };
  }
  const f = checkTensor(name, t);
  return { type: 'float32', data: f.data, dims: f.dims };
}

function tensorOf(c: Checked, dims: number[] = c.dims): OnnxFloatTensor {
  return c.type === 'float32' ? { data: c.data as Float32Array, dims } : { type: c.type, data: c.data as Uint16Array, dims };
}

function newData(type: ElemType, n: number): Data {
  return type === 'float32' ? new Float32Array(n) : new Uint16Array(n);
}

function toFloat32(c: Checked): Checked {
  return c.type === 'float32' ? c : { type: 'float32', data: halfToFloat32(c.type, c.data as Uint16Array), dims: c.dims };
}

function fromFloat32(type: ElemType, x: Float32Array): Data {
  return type === 'float32' ? x : float32ToHalf(type, x);
}

/** An integer attribute: a number, or a bigint (as int64 attributes may come from a parsed model). */
function attrInt(name: string, x: unknown, min: number, max = 2 ** 31 - 1): number {
  if (typeof x === 'bigint') x = x >= BigInt(min) && x <= BigInt(max) ? Number(x) : NaN;
  if (typeof x !== 'number') throw new TypeError(`attributes.${name} must be an integer, got ${describe(x)}`);
  if (!Number.isInteger(x) || x < min || x > max) throw new RangeError(`attributes.${name} must be an integer in [${min}, ${max}], got ${x}`);
  return x;
}

/** [B, X, Y, D] -> [B, Y, X, D] (a copy): rows-first [B, N, heads, D] <-> heads-first [B, heads, N, D]. */
function swapMiddleAxes(src: Data, type: ElemType, B: number, X: number, Y: number, D: number): Data {
  const dst = newData(type, src.length);
  for (let b = 0; b < B; b++)
    for (let x = 0; x < X; x++)
      for (let y = 0; y < Y; y++) {
        const s = ((b * X + x) * Y + y) * D;
        dst.set(src.subarray(s, s + D), ((b * Y + y) * X + x) * D);
      }
  return dst;
}

/** past [B, Hk, P, D] then cur ([B, Hk, N, D], or [B, N, Hk, D] when `rowsFirst`) along the rows: [B, Hk, P + N, D]. */
function concatCache(past: Data, cur: Data, type: ElemType, B: number, Hk: number, P: number, N: number, D: number, rowsFirst: boolean): Data {
  const T = P + N;
  const dst = newData(type, checkedProduct('present', [B, Hk, T, D]));
  for (let b = 0; b < B; b++)
    for (let h = 0; h < Hk; h++) {
      const o = (b * Hk + h) * T * D;
      dst.set(past.subarray((b * Hk + h) * P * D, (b * Hk + h + 1) * P * D), o);
      if (!rowsFirst) dst.set(cur.subarray((b * Hk + h) * N * D, (b * Hk + h + 1) * N * D), o + P * D);
      else
        for (let n = 0; n < N; n++) {
          const s = ((b * N + n) * Hk + h) * D;
          dst.set(cur.subarray(s, s + D), o + (P + n) * D);
        }
    }
  return dst;
}

function checkLengths(x: unknown, B: number, T: number): Int32Array {
  const name = 'inputs.nonpad_kv_seqlen';
  let data: unknown = x;
  if (x !== null && typeof x === 'object' && !ArrayBuffer.isView(x)) {
    const o = x as { type?: unknown; data?: unknown; dims?: unknown };
    if (o.type !== undefined && o.type !== 'int64' && o.type !== 'int32')
      throw new TypeError(`${name} must be an int64 (or int32) tensor, got type ${describe(o.type)}`);
    const dims = checkDims(name, o.dims, 1);
    if (dims[0] !== B) throw new RangeError(`${name} must have dims [B] = [${B}], got [${dims.join(', ')}]`);
    data = o.data;
  }
  const t = tag(data);
  if (t !== 'BigInt64Array' && t !== 'Int32Array')
    throw new TypeError(`${name} must be a BigInt64Array or Int32Array (plain or as { data, dims }), got ${describe(data)}`);
  const a = data as BigInt64Array | Int32Array;
  if (a.length !== B) throw new RangeError(`${name} must have B = ${B} elements, got ${a.length}`);
  const out = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    const n = Number(a[b]);
    if (!(n >= 0 && n <= T)) throw new RangeError(`${name}[${b}] = ${a[b]} is outside [0, ${T}] (the past + new key count)`);
    out[b] = n;
  }
  return out;
}

/** attn_mask, turned into attention()'s bias / keyMask, and the key count its last dim covers. */
function prepareMask(x: unknown, full: readonly number[]): { bias?: OnnxFloatTensor; keyMask?: Uint8Array; covers: number } {
  const name = 'inputs.attn_mask';
  const o = x as { type?: unknown; data?: unknown; dims?: unknown } | null;
  const isBool = o !== null && typeof o === 'object' && (o.type === 'bool' || (o.type === undefined && tag(o.data) === 'Uint8Array'));
  let m: Checked | undefined;
  let bits: Uint8Array | undefined;
  let dims: number[];
  if (isBool) {
    if (tag(o!.data) !== 'Uint8Array') throw new TypeError(`${name}.data must be a Uint8Array for a bool mask, got ${describe(o!.data)}`);
    bits = o!.data as Uint8Array;
    dims = checkDims(name, o!.dims);
    if (bits.length !== checkedProduct(name, dims)) throw new RangeError(`${name}.data has ${bits.length} elements but its dims say ${checkedProduct(name, dims)}`);
  } else {
    if (o !== null && typeof o === 'object' && typeof o.type === 'string' && !['float32', 'float16', 'bfloat16'].includes(o.type))
      throw new TypeError(`${name} must be a bool, float32, float16 or bfloat16 tensor, got type '${o.type}'`);
    m = checkFloat(name, x);
    dims = m.dims;
  }
  if (dims.length < 1 || dims.length > 4) throw new RangeError(`${name} must have 1 to 4 dims, got ${dims.length}`);
  const T = full[3];
  const L = dims[dims.length - 1];
  if (L > T) throw new RangeError(`${name}'s last dim ${L} exceeds the key count T = ${T} (past + new keys)`);
  const d4 = [...Array(4 - dims.length).fill(1), ...dims];
  const axes = ['B', 'H', 'Nq'];
  for (let i = 0; i < 3; i++)
    if (d4[i] !== 1 && d4[i] !== full[i])
      throw new RangeError(`${name} dims [${dims.join(', ')}] do not broadcast to [B, H, Nq, T] = [${full.join(', ')}] (${axes[i]})`);
  // The key mask takes a bool [B, 1, 1, T] as it is.
  if (bits && L === T && d4[1] === 1 && d4[2] === 1 && d4[0] === full[0] && T > 0) return { keyMask: bits, covers: T };
  // A float mask covering every key (or one column, broadcast: the keys past it are cut by keyLengths) goes as it is.
  if (m && (L === T || L === 1)) return { bias: tensorOf(m), covers: L };
  // Otherwise a float32 copy, [..., T]: bool true -> 0, false -> -Infinity; columns past L stay 0 (keyLengths cuts them).
  const rows = L === 0 ? 0 : (bits ?? m!.data).length / L;
  const f = m ? toFloat32(m).data : undefined;
  const out = new Float32Array(checkedProduct(name, [rows, T]));
  for (let r = 0; r < rows; r++)
    for (let j = 0; j < L; j++) out[r * T + j] = bits ? (bits[r * L + j] ? 0 : -Infinity) : f![r * L + j];
  return { bias: { data: out, dims: [...dims.slice(0, -1), T] }, covers: L };
}

/** Everything a call needs: attention()'s arguments and how to shape the result. */
interface Plan {
  q: OnnxFloatTensor;
  k: OnnxFloatTensor;
  v: OnnxFloatTensor;
  options: AttentionOptions;
  finish(r: { data: Data; dims: number[]; type?: HalfType } & StandardAttentionOutputs): OnnxAttentionResult;
}

function plan(inputs: OnnxAttentionInputs, attributes: OnnxAttentionAttributes | undefined, options: OnnxAttentionOptions | undefined): Plan {
  if (inputs === null || typeof inputs !== 'object' || Array.isArray(inputs))
    throw new TypeError(`inputs must be an object { Q, K, V, attn_mask?, past_key?, past_value?, nonpad_kv_seqlen? }, got ${describe(inputs)}`);
  const inp = checkOptions<OnnxAttentionInputs>('inputs', inputs, INPUT_NAMES as unknown as (keyof OnnxAttentionInputs & string)[]);
  const at = checkOptions<OnnxAttentionAttributes>('attributes', attributes, ATTRIBUTE_NAMES as unknown as (keyof OnnxAttentionAttributes & string)[]);
  const opt = checkOptions<OnnxAttentionOptions>('options', options, ['threads', 'outputs']);
  for (const n of ['Q', 'K', 'V'] as const)
    if (inp[n] === undefined) throw new TypeError(`inputs.${n} is required`);
  const Q = checkFloat('inputs.Q', inp.Q);
  const K = checkFloat('inputs.K', inp.K);
  const V = checkFloat('inputs.V', inp.V);
  if (K.type !== Q.type) throw new TypeError(`inputs.K must have Q's element type ${Q.type}, got ${K.type}`);
  const rank = Q.dims.length;
  if (rank !== 3 && rank !== 4) throw new RangeError(`inputs.Q must have 3 or 4 dims, got ${rank}`);
  if (K.dims.length !== rank || V.dims.length !== rank)
    throw new RangeError(`inputs.Q, K and V must have the same rank: got ${rank}, ${K.dims.length} and ${V.dims.length}`);

  // Sizes per head, whatever the rank.
  const qHeadsAttr = at.q_num_heads === undefined ? undefined : attrInt('q_num_heads', at.q_num_heads, 1);
  const kvHeadsAttr = at.kv_num_heads === undefined ? undefined : attrInt('kv_num_heads', at.kv_num_heads, 1);
  let B: number, H: number, Hk: number, Nq: number, N: number, D: number, Dk: number, Dv: number;
  if (rank === 4) {
    [B, H, Nq, D] = Q.dims;
    let Hv: number, Nv: number;
    [, Hk, N, Dk] = K.dims;
    [, Hv, Nv, Dv] = V.dims;
    if (qHeadsAttr !== undefined && qHeadsAttr !== H) throw new RangeError(`attributes.q_num_heads = ${qHeadsAttr} but Q has ${H} heads (dims[1])`);
    if (kvHeadsAttr !== undefined && kvHeadsAttr !== Hk) throw new RangeError(`attributes.kv_num_heads = ${kvHeadsAttr} but K has ${Hk} heads (dims[1])`);
    if (Hv !== Hk) throw new RangeError(`inputs.V must have K's ${Hk} heads (dims[1]), got ${Hv}`);
    if (Nv !== N) throw new RangeError(`inputs.V must have K's ${N} rows (dims[2]), got ${Nv}`);
  } else {
    if (qHeadsAttr === undefined || kvHeadsAttr === undefined)
      throw new TypeError('attributes.q_num_heads and attributes.kv_num_heads are required with 3-D inputs [B, N, heads·D]');
    H = qHeadsAttr;
    Hk = kvHeadsAttr;
    B = Q.dims[0];
    Nq = Q.dims[1];
    N = K.dims[1];
    const per = (name: string, hidden: number, heads: number, attr: string) => {
      if (hidden % heads !== 0) throw new RangeError(`inputs.${name}'s hidden size ${hidden} is not a multiple of attributes.${attr} = ${heads}`);
      return hidden / heads;
    };
    D = per('Q', Q.dims[2], H, 'q_num_heads');
    Dk = per('K', K.dims[2], Hk, 'kv_num_heads');
    Dv = per('V', V.dims[2], Hk, 'kv_num_heads');
    if (V.dims[1] !== N) throw new RangeError(`inputs.V must have K's ${N} rows (dims[1]), got ${V.dims[1]}`);
  }
  if (K.dims[0] !== B || V.dims[0] !== B) throw new RangeError(`inputs.Q, K and V must have one batch size: got ${B}, ${K.dims[0]} and ${V.dims[0]}`);
  if (Dk !== D) throw new RangeError(`inputs.Q and K must have one head size: Q has ${D}, K has ${Dk}`);
  if (H % Hk !== 0) throw new RangeError(`q_num_heads (${H}) must be a multiple of kv_num_heads (${Hk}) (grouped-query attention)`);

  // The cache.
  if ((inp.past_key === undefined) !== (inp.past_value === undefined))
    throw new TypeError('inputs.past_key and inputs.past_value must be given together');
  let P = 0;
  let pastK: Checked | undefined;
  let pastV: Checked | undefined;
  if (inp.past_key !== undefined) {
    pastK = checkFloat('inputs.past_key', inp.past_key);
    pastV = checkFloat('inputs.past_value', inp.past_value);
    if (pastK.type !== K.type) throw new TypeError(`inputs.past_key must have K's element type ${K.type}, got ${pastK.type}`);
    if (pastV.type !== V.type) throw new TypeError(`inputs.past_value must have V's element type ${V.type}, got ${pastV.type}`);
    const want = (name: string, c: Checked, d: number) => {
      const [b, h, , dd] = c.dims.length === 4 ? c.dims : [NaN, NaN, NaN, NaN];
      if (c.dims.length !== 4 || b !== B || h !== Hk || dd !== d)
        throw new RangeError(`inputs.${name} must have dims [B, kv_num_heads, P, ${name === 'past_key' ? 'D' : 'Dv'}] = [${B}, ${Hk}, P, ${d}], got [${c.dims.join(', ')}]`);
    };
    want('past_key', pastK, D);
    want('past_value', pastV, Dv);
    P = pastK.dims[2];
    if (pastV.dims[2] !== P) throw new RangeError(`inputs.past_key and past_value must have one length P: got ${P} and ${pastV.dims[2]}`);
  }
  const T = P + N;

  // Attributes.
  const causal = at.is_causal === undefined ? false : typeof at.is_causal === 'boolean' ? at.is_causal : attrInt('is_causal', at.is_causal, 0, 1) === 1;
  let scale: number | undefined;
  if (at.scale !== undefined) {
    if (typeof at.scale !== 'number') throw new TypeError(`attributes.scale must be a number, got ${describe(at.scale)}`);
    if (!Number.isFinite(at.scale)) throw new RangeError(`attributes.scale must be finite, got ${at.scale}`);
    scale = at.scale;
  }
  let softcap = 0;
  if (at.softcap !== undefined) {
    if (typeof at.softcap !== 'number') throw new TypeError(`attributes.softcap must be a number, got ${describe(at.softcap)}`);
    if (!(at.softcap >= 0) || !Number.isFinite(at.softcap)) throw new RangeError(`attributes.softcap must be a finite number >= 0 (0 = off), got ${at.softcap}`);
    softcap = at.softcap;
  }
  const mode = at.qk_matmul_output_mode === undefined ? 0 : attrInt('qk_matmul_output_mode', at.qk_matmul_output_mode, 0, 3);
  if (at.softmax_precision !== undefined) {
    const sp = typeof at.softmax_precision === 'bigint' ? Number(at.softmax_precision) : at.softmax_precision;
    if (typeof sp !== 'number') throw new TypeError(`attributes.softmax_precision must be an ONNX element type number, got ${describe(sp)}`);
    if (SOFTMAX_PRECISIONS[sp] === undefined)
      throw new RangeError(`attributes.softmax_precision must be 1 (FLOAT), 10 (FLOAT16), 16 (BFLOAT16) or 11 (DOUBLE), got ${sp}`);
  }
  const side = (name: 'left_window_size' | 'right_window_size') => {
    const x = at[name];
    if (x === undefined) return Infinity;
    const w = attrInt(name, x, -1);
    return w === -1 ? Infinity : w;
  };
  let window: [number, number] | undefined;
  if (at.local_window_size !== undefined) {
    if (at.left_window_size !== undefined || at.right_window_size !== undefined)
      throw new RangeError('attributes.local_window_size cannot be given with left_window_size / right_window_size');
    const w = attrInt('local_window_size', at.local_window_size, -1);
    if (w === 0) throw new RangeError('attributes.local_window_size must be -1 (off) or positive, got 0');
    if (w > 0) window = [w - 1, 0];
  } else {
    const w: [number, number] = [side('left_window_size'), side('right_window_size')];
    if (w[0] !== Infinity || w[1] !== Infinity) window = w;
  }

  // Outputs asked for.
  let wanted: Set<OnnxAttentionOutputName> = new Set(OUTPUT_NAMES);
  if (opt.outputs !== undefined) {
    if (!Array.isArray(opt.outputs)) throw new TypeError(`options.outputs must be an array of output names, got ${describe(opt.outputs)}`);
    for (const n of opt.outputs)
      if (!OUTPUT_NAMES.includes(n)) throw new RangeError(`options.outputs: unknown output ${describe(n)} (known: ${OUTPUT_NAMES.join(', ')})`);
    wanted = new Set(opt.outputs);
  }

  // Keys and values: the cache concatenated, or K / V as they are.
  const threeD = rank === 3;
  let presentK: Checked | undefined;
  let presentV: Checked | undefined;
  if (pastK && pastV) {
    presentK = { type: K.type, data: concatCache(pastK.data, K.data, K.type, B, Hk, P, N, D, threeD), dims: [B, Hk, T, D] };
    presentV = { type: V.type, data: concatCache(pastV.data, V.data, V.type, B, Hk, P, N, Dv, threeD), dims: [B, Hk, T, Dv] };
  }
  // 3-D with a cache: the cache is [B, Hk, T, ·], so q goes heads-first too (and Y comes back rows-first).
  const layout = threeD && !presentK ? 'bnhd' : 'bhnd';
  let q: Checked = layout === 'bnhd' || !threeD ? { ...Q, dims: threeD ? [B, Nq, H, D] : Q.dims } : { ...Q, data: swapMiddleAxes(Q.data, Q.type, B, Nq, H, D), dims: [B, H, Nq, D] };
  let k: Checked = presentK ?? { ...K, dims: threeD ? [B, N, Hk, D] : K.dims };
  let v: Checked = presentV ?? { ...V, dims: threeD ? [B, N, Hk, Dv] : V.dims };
  // attention() takes one element type: mixed ones (V's T2 differs from Q's T1) run in float32.
  const mixed = v.type !== q.type;
  if (mixed) [q, k, v] = [toFloat32(q), toFloat32(k), toFloat32(v)];

  // Masks and the diagonal.
  const o: AttentionOptions = { layout };
  if (scale !== undefined) o.scale = scale;
  if (softcap > 0) o.softcap = softcap;
  const lengths = inp.nonpad_kv_seqlen === undefined ? undefined : checkLengths(inp.nonpad_kv_seqlen, B, T);
  let keyLengths = lengths;
  if (inp.attn_mask !== undefined) {
    const m = prepareMask(inp.attn_mask, [B, H, Nq, T]);
    if (m.bias) o.bias = m.bias;
    if (m.keyMask) o.keyMask = m.keyMask;
    if (m.covers < T) {
      keyLengths = keyLengths ? keyLengths.slice() : new Int32Array(B).fill(T);
      for (let b = 0; b < B; b++) keyLengths[b] = Math.min(keyLengths[b], m.covers);
    }
  }
  if (causal || window) {
    // The operator's diagonal: after the cache; else after each batch's valid keys; else top-left.
    o.causalOffset = pastK || !lengths ? P : Int32Array.from(lengths, (n) => n - Nq);
    if (causal) o.causal = true;
    if (window) o.window = window;
  }
  if (keyLengths) o.keyLengths = keyLengths;
  if (wanted.has('qk_matmul_output')) o.returnScores = SCORE_STAGES[mode];
  if (opt.threads !== undefined) o.threads = checkThreads('options.threads', opt.threads);

  const finish: Plan['finish'] = (r) => {
    let y: Data = r.data;
    if (mixed) y = fromFloat32(Q.type, y as Float32Array);
    let yDims: number[];
    if (!threeD) yDims = [B, H, Nq, Dv];
    else {
      if (layout === 'bhnd') y = swapMiddleAxes(y, Q.type, B, H, Nq, Dv);
      yDims = [B, Nq, H * Dv];
    }
    const res: OnnxAttentionResult = { Y: tensorOf({ type: Q.type, data: y, dims: yDims }) };
    // Without a cache the operator's present_key / present_value are K / V, [B, Hk, N, ·].
    const present = (cur: Checked, cached: Checked | undefined, d: number) =>
      cached ? tensorOf(cached) : !threeD ? tensorOf(cur) : tensorOf({ ...cur, data: swapMiddleAxes(cur.data, cur.type, B, N, Hk, d), dims: [B, Hk, N, d] });
    if (wanted.has('present_key')) res.present_key = present(K, presentK, D);
    if (wanted.has('present_value')) res.present_value = present(V, presentV, Dv);
    if (r.scores) res.qk_matmul_output = tensorOf({ type: Q.type, data: fromFloat32(Q.type, r.scores.data), dims: r.scores.dims.slice() });
    return res;
  };
  return { q: tensorOf(q), k: tensorOf(k), v: tensorOf(v), options: o, finish };
}

type AnyResult = { data: Data; dims: number[]; type?: HalfType } & StandardAttentionOutputs;

/**
 * The ONNX Attention operator (opset 23-25): `inputs` and `attributes` by the operator's names,
 * outputs { Y, present_key, present_value, qk_matmul_output } in its shapes and element types.
 * Throws TypeError / RangeError naming the input, attribute or option on bad input.
 */
export function onnxAttention(inputs: OnnxAttentionInputs, attributes?: OnnxAttentionAttributes, options?: OnnxAttentionOptions): OnnxAttentionResult {
  const p = plan(inputs, attributes, options);
  const r = attention(p.q as Tensor, p.k as Tensor, p.v as Tensor, p.options) as unknown as AnyResult | HalfAttentionResult;
  return p.finish(r as AnyResult);
}

/** onnxAttention() off the event loop; rejects (never throws) on bad input; options.signal aborts it (AbortError). */
export async function onnxAttentionAsync(
  inputs: OnnxAttentionInputs, attributes?: OnnxAttentionAttributes, options?: OnnxAttentionOptions & AbortOptions,
): Promise<OnnxAttentionResult> {
  const [o, signal] = takeSignal('options', options);
  const p = plan(inputs, attributes, o);
  const r = await attentionAsync(p.q as Tensor, p.k as Tensor, p.v as Tensor, { ...p.options, signal });
  return p.finish(r as unknown as AnyResult);
}

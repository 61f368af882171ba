// Shared machinery of the LongT5 attention graphs (longt5-full.ts, longt5-local.ts,
// longt5-tglobal.ts): the layer's dimensions read from a Hugging Face config, weight checks, and
// LongT5Graph, a GraphBuilder wrapper holding the constants and the mask-derived values that every
// attention layer of one graph shares.
//
// Sharing: everything that depends only on the sequence shape and the attention mask (block ids,
// padded lengths, key-mask columns, bias gathers) or on block 0's bias tables is built through
// `once(key, build)`. A one-layer model builds each such value exactly where the layer first needs
// it (so its node order, and its bytes, are those of the original single-function exporter); a
// whole encoder builds them in its first block and reuses them in the others.
import { DataType, GraphBuilder, tensor } from './model';

/** Additive score of an excluded key: finite, so an all-excluded row stays finite; exp of it is 0. */
export const LONGT5_MASKED_SCORE = -1e30;

export const INT64_MAX = BigInt('9223372036854775807');

/** Largest local band constant the exporter writes (bytes): half of protobuf's 2 GB message limit. */
const MAX_BAND_BYTES = 2 ** 30;

export type LongT5OnnxKind = 'tglobal' | 'local' | 'full';

/** Hugging Face LongT5 config fields the models use (a layer's resolved `config` satisfies it). */
export interface LongT5OnnxConfig {
  d_model: number;
  d_kv: number;
  num_heads: number;
  local_radius?: number;
  global_block_size?: number;
  relative_attention_num_buckets: number;
  relative_attention_max_distance: number;
  layer_norm_epsilon?: number;
}

/** The numbers an attention graph is built from. */
export interface LayerDims {
  kind: LongT5OnnxKind;
  /** d_model */
  C: number;
  /** d_kv */
  D: number;
  /** num_heads */
  H: number;
  /** H·D */
  HD: number;
  numBuckets: number;
  maxDistance: number;
  /** local_radius (0 for 'full') */
  r: number;
  /** global_block_size (1 unless 'tglobal') */
  gsz: number;
  eps: number;
  /** Local band block length max(r, 8) >= r (unused by 'full'). */
  L: number;
}

function size(name: string, x: unknown, min: number): number {
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < min)
    throw new RangeError(`config.${name} must be an integer >= ${min}, got ${String(x)}`);
  return x;
}

/** The dimensions of one attention layer, checked (RangeError naming the config field). */
export function resolveLayerDims(kind: LongT5OnnxKind, config: LongT5OnnxConfig): LayerDims {
  const C = size('d_model', config.d_model, 1);
  const D = size('d_kv', config.d_kv, 1);
  const H = size('num_heads', config.num_heads, 1);
  const numBuckets = size('relative_attention_num_buckets', config.relative_attention_num_buckets, 2);
  const maxDistance = size('relative_attention_max_distance', config.relative_attention_max_distance, 1);
  const r = kind === 'full' ? 0 : size('local_radius', config.local_radius, 0);
  const gsz = kind === 'tglobal' ? size('global_block_size', config.global_block_size, 1) : 1;
  const eps = config.layer_norm_epsilon ?? 1e-6;
  if (kind === 'tglobal' && (typeof eps !== 'number' || !Number.isFinite(eps) || eps < 0))
    throw new RangeError(`config.layer_norm_epsilon must be a finite number >= 0, got ${String(eps)}`);
  const L = Math.max(r, 8);
  if (kind !== 'full') {
    // The band constant holds H·L·3L floats: refuse before allocating one that no ONNX file can
    // hold (a protobuf message is at most 2 GB; the band gets at most half of that).
    const bandBytes = 4 * H * 3 * L * L;
    if (bandBytes > MAX_BAND_BYTES)
      throw new RangeError(
        `config.local_radius ${r} is too large to export: the graph's local band constant [num_heads, L, 3L] (L = max(local_radius, 8)) ` +
          `would take ${(bandBytes / 2 ** 30).toFixed(1)} GiB, above the ${MAX_BAND_BYTES / 2 ** 30} GiB that fits in an ONNX file ` +
          `(local_radius <= ${Math.floor(Math.sqrt(MAX_BAND_BYTES / (12 * H)))} for num_heads ${H})`,
      );
  }
  return { kind, C, D, H, HD: H * D, numBuckets, maxDistance, r, gsz, eps, L };
}

const WEIGHTS = ['q.weight', 'k.weight', 'v.weight', 'o.weight', 'relative_attention_bias.weight'];
const GLOBAL_WEIGHTS = ['global_relative_attention_bias.weight', 'global_input_layer_norm.weight'];

/** Checks that a layer's weights (Hugging Face names, PyTorch [out, in] layout) are Float32Arrays of the right sizes. */
export function checkLayerWeights(d: LayerDims, weights: Readonly<Record<string, Float32Array>>, where = 'weights'): void {
  const need = d.kind === 'tglobal' ? [...WEIGHTS, ...GLOBAL_WEIGHTS] : WEIGHTS;
  const expect: Record<string, number> = {
    'q.weight': d.HD * d.C, 'k.weight': d.HD * d.C, 'v.weight': d.HD * d.C, 'o.weight': d.C * d.HD,
    'relative_attention_bias.weight': d.numBuckets * d.H, 'global_relative_attention_bias.weight': d.numBuckets * d.H,
    'global_input_layer_norm.weight': d.C,
  };
  for (const n of need) {
    const w = weights[n];
    if (!(w instanceof Float32Array) && Object.prototype.toString.call(w) !== '[object Float32Array]')
      throw new TypeError(`${where}['${n}'] must be a Float32Array`);
    if (w.length !== expect[n]) throw new RangeError(`${where}['${n}'] has ${w.length} elements, expected ${expect[n]}`);
  }
}

/** [out, in] → [in, out] (PyTorch Linear weight to a MatMul right operand). */
export function transpose(w: Float32Array, out: number, inp: number): Float32Array {
  const t = new Float32Array(w.length);
  for (let o = 0; o < out; o++) for (let i = 0; i < inp; i++) t[i * out + o] = w[o * inp + i];
  return t;
}

/** The values every layer derives from the sequence shape and the mask. */
export interface SequenceValues {
  /** Shape of the [B, N, ...] shape source. */
  shape: string;
  /** [N] int64 */
  N1: string;
  /** [B, N] bool: mask != 0 */
  valid: string;
  /** [B, N] float 0/1 */
  validF: string;
}

/** One LongT5 ONNX graph under construction: builder, constants, shared values. */
export class LongT5Graph {
  /** The masked-score constant (LONGT5_MASKED_SCORE) and 0, float scalars. */
  readonly NEG: string;
  readonly ZERO: string;
  private readonly memo = new Map<string, string>();
  private oneCache: string | undefined;
  private zeroCache: string | undefined;
  private seqInputs: { shapeSource: string; mask: string } | undefined;
  private seqValues: SequenceValues | undefined;

  constructor(readonly g: GraphBuilder, readonly d: LayerDims) {
    this.NEG = this.f32(LONGT5_MASKED_SCORE, 'masked_score');
    this.ZERO = this.f32(0, 'zero');
  }

  i64(v: number | readonly number[], base?: string): string {
    return this.g.constInt64(v, undefined, base);
  }

  f32(v: number, base?: string): string {
    return this.g.constFloat(v, undefined, base);
  }

  /** One node; `out` names its output (made unique). */
  op(type: string, inputs: string[], attrs: Record<string, unknown> = {}, out?: string): string {
    return this.g.op(type, inputs, attrs as never, out === undefined ? {} : { output: this.g.uniqueName(out) });
  }

  /** int64 scalars 1 and 0, created on first use. */
  one(): string {
    return (this.oneCache ??= this.i64(1, 'one'));
  }

  zero(): string {
    return (this.zeroCache ??= this.i64(0, 'zero_i64'));
  }

  toScalar(x: string, name: string): string {
    return this.op('Squeeze', [x], {}, name);
  }

  /** The value built by `build` the first time `key` is asked for; the same value afterwards. */
  once(key: string, build: () => string): string {
    let v = this.memo.get(key);
    if (v === undefined) {
      v = build();
      this.memo.set(key, v);
    }
    return v;
  }

  /** Declares where the sequence comes from: any [B, N, ...] value, and the int64 [B, N] mask. */
  setSequence(shapeSource: string, mask: string): void {
    if (this.seqInputs) throw new Error('LongT5Graph: the sequence is already set');
    this.seqInputs = { shapeSource, mask };
  }

  /** Shape, N, validity of the sequence; built on first use. */
  seq(): SequenceValues {
    if (this.seqValues) return this.seqValues;
    if (!this.seqInputs) throw new Error('LongT5Graph: setSequence() first');
    const { shapeSource, mask } = this.seqInputs;
    const shape = this.op('Shape', [shapeSource], {}, 'hidden_shape');
    const N1 = this.op('Slice', [shape, this.i64([1]), this.i64([2])], {}, 'N');
    const valid = this.op('Not', [this.op('Equal', [mask, this.zero()])], {}, 'valid'); // [B, N] bool
    const validF = this.op('Cast', [valid], { to: DataType.FLOAT }, 'valid_f');
    return (this.seqValues = { shape, N1, valid, validF });
  }

  // Attention runs head-major, [H, B, ...]: the bias gather from a per-head table [H, T] then comes
  // out in the scores' layout with no transpose.

  /** [H,B,N,D] from [B,N,C] by a projection. */
  heads(x: string, w: string, name: string): string {
    const { H, D } = this.d;
    return this.op('Transpose', [this.op('Reshape', [this.op('MatMul', [x, w]), this.i64([0, 0, H, D])])], { perm: [2, 0, 1, 3] }, name);
  }

  /** [H,B,N,D] → [B,N,H·D] */
  merge(x: string): string {
    return this.op('Reshape', [this.op('Transpose', [x], { perm: [1, 2, 0, 3] }), this.i64([0, 0, this.d.HD])], {}, 'context');
  }

  /** Per-head bias table [H, T] from row-major [T, H] tables, concatenated along T. */
  headTable(name: string, parts: { table: Float32Array; rows: number }[]): string {
    const H = this.d.H;
    const T = parts.reduce((a, p) => a + p.rows, 0);
    const t = new Float32Array(H * T);
    let off = 0;
    for (const p of parts) {
      for (let x = 0; x < p.rows; x++) for (let h = 0; h < H; h++) t[h * T + off + x] = p.table[x * H + h];
      off += p.rows;
    }
    return this.g.addInitializer(name, tensor('float32', [H, T], t));
  }
}

/** A layer's projection weights as graph initializers ([in, out], MatMul right operands). */
export interface Projections {
  wq: string;
  wk: string;
  wv: string;
  wo: string;
}

/** One attention layer's input to a kind's builder. */
export interface LayerInput {
  /** [B, N, d_model] float value. */
  hidden: string;
  weights: Readonly<Record<string, Float32Array>>;
  proj: Projections;
  /** Prefix of this layer's own initializer names ('' for a one-layer model). */
  prefix: string;
}

// ONNX models of the three LongT5 attention layers (docs/ARCHITECTURE.md §1.2), built from standard ONNX ops only
// (opset 18, no contrib ops), with the layer's weights as initializers:
//   'tglobal'  Hugging Face LongT5TransientGlobalAttention
//   'local'    LongT5LocalAttention
//   'full'     LongT5Attention (full T5 self-attention with relative position bias)
// Input  "hidden_states"  float32 [B, N, d_model]
//        "attention_mask" int64   [B, N] (1 = token, 0 = padding; anything nonzero counts as 1)
// Output "output"         float32 [B, N, d_model]
//
// Every shape-dependent quantity (N, the padded length, block counts, G = N // g, block ids) is
// computed in the graph from Shape/Range/integer arithmetic, so one model runs at any B and N >= 1,
// including N < g (G = 0: no global tokens). Nothing about N is baked in.
//
// Graph design (TGlobal; 'local' is the same without the global part). Attention runs head-major,
// [H, B, ...]:
//  * Local window, blocked band: O(N·3L) scores, not N×N. The sequence is zero-padded to
//    Np = ceil(N / L)·L with L = max(r, 8) >= r and cut into nb = Np / L query blocks; block n's
//    queries see the 3L keys of blocks n-1, n, n+1 (K and V padded by L zeros on each side, then a
//    Gather of whole blocks [n, n+1, n+2]), which contain every j with |i - j| <= r. Scores are one
//    batched MatMul [H,B,nb,L,D+1] x [H,B,nb,D+1,3L]. In-window and the bias of slot (t, s) depend
//    only on rel = s - L - t: one constant [H,1,1,L,3L] (bias inside |rel| <= r, MASKED outside).
//  * Key masks ride in the score MatMuls: queries get an extra column of ones, keys an extra column
//    holding 0 (valid) or MASKED (padding, positions outside [0, N), invalid globals).
//  * Block ids, orphan rule, integer arithmetic: F_b = number of valid positions i with
//    i % g == g - 1; a valid token gets min(i // g, F_b - 1), padding -1 (all -1 when F_b = 0).
//  * Global aggregates are block SUMS: per absolute block by Reshape + ReduceSum of the masked
//    hidden states, then block F_b - 1 takes the sums of every later block and the tail past G·g
//    (the orphans), blocks >= F_b are 0. Then T5's RMS norm with the learned weight and the k/v
//    projections. Global m is valid for a row iff m < F_b (m <= the row's largest block id).
//  * Side bias bucket(m - block_id(i)): a [H, G+1, G] table by block id (-1..G-1), then one row
//    per query gathered by block_id + 1. Local and global scores are concatenated and go through
//    one Softmax, so the normalisation is over local ∪ global keys.
//  * T5 buckets are constant tables by clamped distance (t5-buckets.ts), computed at export with
//    Hugging Face's float32 arithmetic: exact, and no float Log in the graph whose rounding could
//    move a bucket boundary.
//  * MASKED is finite, so no row produces NaN; padded query rows are set to 0 (as the native
//    layer does). A valid query always has itself as a valid key.
// 'full': scores [H,B,N,N] with the bias table gathered at clamp(j - i) and an additive key mask
// (O(N²) memory, like the dense baseline it is); a batch row with no valid key outputs 0 (the
// native dense semantics).
import * as fs from 'fs';
import { DataType, GraphBuilder, tensor } from './model';
import { t5BiasByDistance } from './t5-buckets';

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

export interface LongT5OnnxOptions {
  /** Standard ONNX opset to declare; default and minimum 18. */
  opset?: number;
}

/** Additive score of an excluded key: finite, so an all-excluded row stays finite; exp of it is 0. */
export const LONGT5_MASKED_SCORE = -1e30;

const INT64_MAX = BigInt('9223372036854775807');
const WEIGHTS = ['q.weight', 'k.weight', 'v.weight', 'o.weight', 'relative_attention_bias.weight'];
const GLOBAL_WEIGHTS = ['global_relative_attention_bias.weight', 'global_input_layer_norm.weight'];

function size(name: string, x: unknown, min: number): number {
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < min)
    throw new RangeError(`config.${name} must be an integer >= ${min}, got ${String(x)}`);
  return x;
}

/** [out, in] → [in, out] (PyTorch Linear weight to a MatMul right operand). */
function transpose(w: Float32Array, out: number, inp: number): Float32Array {
  const t = new Float32Array(w.length);
  for (let o = 0; o < out; o++) for (let i = 0; i < inp; i++) t[i * out + o] = w[o * inp + i];
  return t;
}

/**
 * An ONNX model of one LongT5 attention layer (see the file comment for inputs, outputs and the
 * graph). `weights` uses Hugging Face's names and PyTorch's [out, in] layout.
 */
export function buildLongT5Model(
  kind: LongT5OnnxKind,
  config: LongT5OnnxConfig,
  weights: Readonly<Record<string, Float32Array>>,
  options: LongT5OnnxOptions = {},
): Uint8Array {
  if (kind !== 'tglobal' && kind !== 'local' && kind !== 'full')
    throw new RangeError(`kind must be 'tglobal', 'local' or 'full', got ${JSON.stringify(kind)}`);
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
  for (const k of Object.keys(options)) if (k !== 'opset') throw new TypeError(`options: unknown option '${k}' (allowed: opset)`);
  const opset = options.opset ?? 18;
  if (!Number.isSafeInteger(opset) || opset < 18) throw new RangeError(`options.opset must be an integer >= 18, got ${String(options.opset)}`);

  const C = size('d_model', config.d_model, 1);
  const D = size('d_kv', config.d_kv, 1);
  const H = size('num_heads', config.num_heads, 1);
  const HD = H * D;
  const numBuckets = size('relative_attention_num_buckets', config.relative_attention_num_buckets, 2);
  const maxDistance = size('relative_attention_max_distance', config.relative_attention_max_distance, 1);
  const r = kind === 'full' ? 0 : size('local_radius', config.local_radius, 0);
  const gsz = kind === 'tglobal' ? size('global_block_size', config.global_block_size, 1) : 1;
  const eps = config.layer_norm_epsilon ?? 1e-6;
  if (kind === 'tglobal' && (typeof eps !== 'number' || !Number.isFinite(eps) || eps < 0))
    throw new RangeError(`config.layer_norm_epsilon must be a finite number >= 0, got ${String(eps)}`);

  const need = kind === 'tglobal' ? [...WEIGHTS, ...GLOBAL_WEIGHTS] : WEIGHTS;
  const expect: Record<string, number> = {
    'q.weight': HD * C, 'k.weight': HD * C, 'v.weight': HD * C, 'o.weight': C * HD,
    'relative_attention_bias.weight': numBuckets * H, 'global_relative_attention_bias.weight': numBuckets * H,
    'global_input_layer_norm.weight': C,
  };
  for (const n of need) {
    const w = weights[n];
    if (!(w instanceof Float32Array) && Object.prototype.toString.call(w) !== '[object Float32Array]')
      throw new TypeError(`weights['${n}'] must be a Float32Array`);
    if (w.length !== expect[n]) throw new RangeError(`weights['${n}'] has ${w.length} elements, expected ${expect[n]}`);
  }

  const g = new GraphBuilder(`longt5_${kind}_attention`);
  const i64 = (v: number | readonly number[], base?: string) => g.constInt64(v, undefined, base);
  const f32 = (v: number, base?: string) => g.constFloat(v, undefined, base);
  const op = (type: string, inputs: string[], attrs: Record<string, unknown> = {}, out?: string) =>
    g.op(type, inputs, attrs as never, out === undefined ? {} : { output: g.uniqueName(out) });
  const NEG = f32(LONGT5_MASKED_SCORE, 'masked_score');
  const ZERO = f32(0, 'zero');

  const hidden = g.addInput('hidden_states', 'float32', ['batch', 'sequence', C]);
  const mask = g.addInput('attention_mask', 'int64', ['batch', 'sequence']);
  g.addOutput('output', 'float32', ['batch', 'sequence', C]);

  const wq = g.addInitializer('q_weight_t', tensor('float32', [C, HD], transpose(weights['q.weight'], HD, C)));
  const wk = g.addInitializer('k_weight_t', tensor('float32', [C, HD], transpose(weights['k.weight'], HD, C)));
  const wv = g.addInitializer('v_weight_t', tensor('float32', [C, HD], transpose(weights['v.weight'], HD, C)));
  const wo = g.addInitializer('o_weight_t', tensor('float32', [HD, C], transpose(weights['o.weight'], C, HD)));

  // Shapes: 1-D int64 tensors of length 1 (for Concat-built shapes) and scalars (for Range).
  const shape = op('Shape', [hidden], {}, 'hidden_shape');
  const N1 = op('Slice', [shape, i64([1]), i64([2])], {}, 'N');
  let oneCache: string | undefined, zeroCache: string | undefined;
  const one = () => (oneCache ??= i64(1, 'one'));
  const zero = () => (zeroCache ??= i64(0, 'zero_i64'));
  const toScalar = (x: string, name: string) => op('Squeeze', [x], {}, name);
  const valid = op('Not', [op('Equal', [mask, zero()])], {}, 'valid'); // [B, N] bool
  const validF = op('Cast', [valid], { to: DataType.FLOAT }, 'valid_f');
  // Attention runs head-major, [H, B, ...]: the bias gather from a per-head table [H, T] then comes
  // out in the scores' layout with no transpose.
  /** [H,B,N,D] from [B,N,C] by a projection. */
  const heads = (x: string, w: string, name: string) =>
    op('Transpose', [op('Reshape', [op('MatMul', [x, w]), i64([0, 0, H, D])])], { perm: [2, 0, 1, 3] }, name);
  /** [H,B,N,D] → [B,N,H·D] */
  const merge = (x: string) => op('Reshape', [op('Transpose', [x], { perm: [1, 2, 0, 3] }), i64([0, 0, HD])], {}, 'context');
  /** Per-head bias table [H, T] from row-major [T, H] tables, concatenated along T. */
  const headTable = (name: string, parts: { table: Float32Array; rows: number }[]) => {
    const T = parts.reduce((a, p) => a + p.rows, 0);
    const t = new Float32Array(H * T);
    let off = 0;
    for (const p of parts) {
      for (let x = 0; x < p.rows; x++) for (let h = 0; h < H; h++) t[h * T + off + x] = p.table[x * H + h];
      off += p.rows;
    }
    return g.addInitializer(name, tensor('float32', [H, T], t));
  };
  /** Output projection of [B,N,H·D] context. */
  const finish = (ctx: string) => {
    g.op('MatMul', [ctx, wo], {}, { output: 'output' });
    return g.toModel({
      opsets: { '': opset },
      docString: `LongT5 ${kind} attention layer (global-attention lib/onnx/longt5.ts)`,
      metadata: { kind, config: JSON.stringify({ ...config }) },
    });
  };
  const relBias = weights['relative_attention_bias.weight'];

  if (kind === 'full') {
    const { table, S } = t5BiasByDistance(relBias, numBuckets, maxDistance, H);
    const biasTable = headTable('relative_bias_by_distance', [{ table, rows: 2 * S + 1 }]);
    const q = heads(hidden, wq, 'q'); // [H,B,N,D]
    const k = heads(hidden, wk, 'k');
    const v = heads(hidden, wv, 'v');
    const pos = op('Range', [zero(), toScalar(N1, 'n'), one()], {}, 'pos');
    const rel = op('Sub', [op('Unsqueeze', [pos, i64([0])]), op('Unsqueeze', [pos, i64([1])])], {}, 'rel'); // [N,N]: j - i
    const idx = op('Add', [op('Min', [op('Max', [rel, i64(-S)]), i64(S)]), i64(S)], {}, 'rel_idx');
    const bias = op('Unsqueeze', [op('Gather', [biasTable, idx], { axis: 1 }), i64([1])], {}, 'position_bias'); // [H,1,N,N]
    const keyMask = op('Unsqueeze', [op('Where', [valid, ZERO, NEG]), i64([1])], {}, 'key_mask'); // [B,1,N]
    const scores = op('Add', [op('Add', [op('MatMul', [q, op('Transpose', [k], { perm: [0, 1, 3, 2] })]), bias]), keyMask], {}, 'scores');
    const p = op('Softmax', [scores], { axis: -1 }, 'probs');
    const ctx = merge(op('MatMul', [p, v]));
    // A batch row without any valid key outputs 0.
    const anyKey = op('ReduceMax', [op('Unsqueeze', [validF, i64([2])]), i64([1])], { keepdims: 1 }, 'any_key'); // [B,1,1]
    return finish(op('Mul', [ctx, anyKey]));
  }

  // ---- local / tglobal: blocked band ----
  const L = Math.max(r, 8);
  // The band constant holds H·L·3L floats: refuse before allocating one that no ONNX file can
  // hold (a protobuf message is at most 2 GB; the band gets at most half of that).
  const bandBytes = 4 * H * 3 * L * L;
  if (bandBytes > MAX_BAND_BYTES)
    throw new RangeError(
      `config.local_radius ${r} is too large to export: the graph's local band constant [num_heads, L, 3L] (L = max(local_radius, 8)) ` +
        `would take ${(bandBytes / 2 ** 30).toFixed(1)} GiB, above the ${MAX_BAND_BYTES / 2 ** 30} GiB that fits in an ONNX file ` +
        `(local_radius <= ${Math.floor(Math.sqrt(MAX_BAND_BYTES / (12 * H)))} for num_heads ${H})`,
    );
  const nb1 = op('Div', [op('Add', [N1, i64([L - 1])]), i64([L])], {}, 'num_blocks');
  const Np1 = op('Mul', [nb1, i64([L])], {}, 'padded_len');
  const padAmt = op('Sub', [Np1, N1], {}, 'pad_len');
  const hp = op('Pad', [hidden, op('Concat', [i64([0, 0, 0, 0]), padAmt, i64([0])], { axis: 0 })], {}, 'hidden_padded');
  const validP = op('Pad', [validF, op('Concat', [i64([0, 0, 0]), padAmt], { axis: 0 })], {}, 'valid_padded'); // [B,Np] float
  const validPB = op('Cast', [validP], { to: DataType.BOOL }, 'valid_padded_b');
  const B1 = op('Slice', [shape, i64([0]), i64([1])], {}, 'B');
  const allHeads = i64([H, 1, 1, 1], 'all_heads');
  // Shapes name H and B explicitly: a copied 0 next to a computed dim becomes -1 in ORT's reshape
  // fusion, which cannot infer anything at B = 0.
  const HB = op('Concat', [i64([H]), B1], { axis: 0 }, 'HB');
  /** [B, M] additive key mask → [H, B, M, 1], a column appended to the keys. */
  const maskColumn = (x: string) => op('Expand', [op('Unsqueeze', [x, i64([0, 3])]), allHeads]);

  const q = heads(hp, wq, 'q'); // [H,B,Np,D]
  const k = heads(hp, wk, 'k');
  const v = heads(hp, wv, 'v');
  // Key masks ride in the score MatMul: queries get a column of ones, keys a column of 0 (valid)
  // or MASKED (padding, outside [0, N), invalid global), so q'·k' = q·k + mask.
  const ones = op('Expand', [f32(1, 'one_f'), op('Concat', [i64([H]), B1, Np1, i64([1])], { axis: 0 })]);
  const qb = op('Reshape', [op('Concat', [q, ones], { axis: 3 }), op('Concat', [HB, nb1, i64([L, D + 1])], { axis: 0 })], {}, 'q_blocks'); // [H,B,nb,L,D+1]
  const nb2 = op('Add', [nb1, i64([2])], {}, 'num_blocks_2');
  // Block n sees blocks n-1, n, n+1 of the sequence padded by L on each side: a Gather of whole
  // blocks with indices [n, n+1, n+2].
  const window = op('Add', [op('Unsqueeze', [op('Range', [zero(), toScalar(nb1, 'nb'), one()]), i64([1])]), i64([0, 1, 2])], {}, 'block_window'); // [nb,3]
  const threeBlocks = (x: string, width: number, name: string) => {
    const xb = op('Reshape', [x, op('Concat', [HB, nb2, i64([L, width])], { axis: 0 })]); // [H,B,nb+2,L,w]
    return op('Reshape', [op('Gather', [xb, window], { axis: 2 }), op('Concat', [HB, nb1, i64([3 * L, width])], { axis: 0 })], {}, name);
  };
  const padSeq = (x: string) => op('Pad', [x, i64([0, 0, L, 0, 0, 0, L, 0])]);
  const keyCol = op('Pad', [op('Where', [validPB, ZERO, NEG]), i64([0, L, 0, L]), NEG], {}, 'key_mask'); // [B,Np+2L]
  const k3 = threeBlocks(op('Concat', [padSeq(k), maskColumn(keyCol)], { axis: 3 }), D + 1, 'k_3blocks'); // [H,B,nb,3L,D+1]
  const v3 = threeBlocks(padSeq(v), D, 'v_3blocks'); // [H,B,nb,3L,D]

  // Local bias and band: constant [H,1,1,L,3L]; slot (t, s) of a block is key j = i + (s - L - t).
  const lt = t5BiasByDistance(relBias, numBuckets, maxDistance, H);
  const band = new Float32Array(H * L * 3 * L);
  for (let t = 0; t < L; t++)
    for (let s = 0; s < 3 * L; s++) {
      const rel = s - L - t;
      const row = Math.min(Math.max(rel, -lt.S), lt.S) + lt.S;
      for (let h = 0; h < H; h++) band[(h * L + t) * 3 * L + s] = Math.abs(rel) <= r ? lt.table[row * H + h] : LONGT5_MASKED_SCORE;
    }
  const bandBias = g.addInitializer('local_band_bias', tensor('float32', [H, 1, 1, L, 3 * L], band));
  const local = op('Add', [op('MatMul', [qb, op('Transpose', [k3], { perm: [0, 1, 2, 4, 3] })]), bandBias], {}, 'local_scores'); // [H,B,nb,L,3L]
  const flat = (last: string) => op('Concat', [HB, Np1, last], { axis: 0 });

  let ctxHeads: string; // [H,B,Np,D]
  if (kind === 'local') {
    const p = op('Softmax', [local], { axis: -1 }, 'probs');
    ctxHeads = op('Reshape', [op('MatMul', [p, v3]), flat(i64([D]))], {}, 'context_heads');
  } else {
    // Block ids with the orphan rule, on the padded length (padding has id -1).
    const pos = op('Range', [zero(), toScalar(Np1, 'np'), one()], {}, 'pos'); // [Np]
    const isEnd = op('Equal', [op('Mod', [pos, i64(gsz)]), i64(gsz - 1)], {}, 'is_block_end');
    const F = op('ReduceSum', [op('Cast', [op('And', [validPB, isEnd])], { to: DataType.INT64 }), i64([1])], { keepdims: 1 }, 'full_blocks'); // [B,1]
    const Fm1 = op('Sub', [F, one()], {}, 'last_block');
    const ids = op('Where', [validPB, op('Min', [op('Div', [pos, i64(gsz)]), Fm1]), i64(-1)], {}, 'block_ids'); // [B,Np]
    const G1 = op('Div', [N1, i64([gsz])], {}, 'G');
    const G = toScalar(G1, 'g');
    const m = op('Range', [zero(), G, one()], {}, 'global_pos'); // [G]
    const mRow = op('Unsqueeze', [m, i64([0])]); // [1,G]

    // Aggregates (block sums). Blocks are runs of g positions: S[m] = sum of the valid tokens of
    // absolute block m (a reshape + ReduceSum), tail = the valid tokens from G·g on. Then block
    // m < F-1 is S[m], block F-1 is sum_{m' >= F-1} S[m'] + tail (the orphans), blocks >= F are 0.
    const hm = op('Mul', [hp, op('Unsqueeze', [validP, i64([2])])], {}, 'hidden_valid');
    const Gg = op('Mul', [G1, i64([gsz])]);
    const blockSums = op('ReduceSum', [
      op('Reshape', [op('Slice', [hm, i64([0]), Gg, i64([1])]), op('Concat', [B1, G1, i64([gsz, C])], { axis: 0 })]), i64([2]),
    ], { keepdims: 0 }, 'block_sums'); // [B,G,C]
    const tail = op('ReduceSum', [op('Slice', [hm, Gg, g.constInt64([INT64_MAX]), i64([1])]), i64([1])], { keepdims: 1 }, 'tail_sum'); // [B,1,C]
    const asF = (x: string) => op('Cast', [x], { to: DataType.FLOAT });
    const before = op('Less', [mRow, Fm1]); // [B,G]
    const merged = op('Add', [op('MatMul', [op('Unsqueeze', [asF(op('Not', [before])), i64([1])]), blockSums]), tail]); // [B,1,C]
    const agg = op('Add', [
      op('Mul', [blockSums, op('Unsqueeze', [asF(before), i64([2])])]),
      op('Mul', [op('Unsqueeze', [asF(op('Equal', [mRow, Fm1])), i64([2])]), merged]),
    ], {}, 'aggregates'); // [B,G,C]
    // T5 RMS norm.
    const variance = op('ReduceMean', [op('Mul', [agg, agg]), i64([-1])], { keepdims: 1 });
    const inv = op('Reciprocal', [op('Sqrt', [op('Add', [variance, f32(eps, 'eps')])])]);
    const normW = g.addInitializer('global_input_layer_norm_weight', tensor('float32', [C], weights['global_input_layer_norm.weight']));
    const normed = op('Mul', [op('Mul', [agg, inv]), normW], {}, 'global_inputs');
    // Global keys with their validity column (m < F_b), values.
    const sideCol = maskColumn(op('Where', [op('Less', [mRow, F]), ZERO, NEG], {}, 'side_mask')); // [H,B,G,1]
    const gk = op('Concat', [heads(normed, wk, 'side_k'), sideCol], { axis: 3 }, 'side_k_mask'); // [H,B,G,D+1]
    const gv = heads(normed, wv, 'side_v'); // [H,B,G,D]
    const side0 = op('MatMul', [op('Concat', [q, ones], { axis: 3 }), op('Transpose', [gk], { perm: [0, 1, 3, 2] })]); // [H,B,Np,G]

    // Side bias bucket(m - id): a small [H, G+1, G] table by block id (row id + 1, id = -1 first),
    // then one row per query, gathered by id + 1 (whole rows: cheap).
    const gt = t5BiasByDistance(weights['global_relative_attention_bias.weight'], numBuckets, maxDistance, H);
    const gTable = headTable('global_bias_by_distance', [{ table: gt.table, rows: 2 * gt.S + 1 }]); // [H, 2S+1]
    const idCol = op('Unsqueeze', [op('Range', [i64(-1), G, one()]), i64([1])]); // [G+1,1]
    const relById = op('Add', [op('Min', [op('Max', [op('Sub', [mRow, idCol]), i64(-gt.S)]), i64(gt.S)]), i64(gt.S)]); // [G+1,G]
    const biasById = op('Gather', [gTable, relById], { axis: 1 }, 'side_bias_by_block'); // [H,G+1,G]
    const sideBias = op('Gather', [biasById, op('Add', [ids, one()])], { axis: 1 }, 'side_bias'); // [H,B,Np,G]
    const side = op('Add', [side0, sideBias], {}, 'side_scores');

    // One softmax over local ∪ global keys.
    const all = op('Concat', [op('Reshape', [local, flat(i64([3 * L]))]), side], { axis: 3 }, 'scores'); // [H,B,Np,3L+G]
    const p = op('Softmax', [all], { axis: -1 }, 'probs');
    const pl = op('Reshape', [op('Slice', [p, i64([0]), i64([3 * L]), i64([3])]), op('Concat', [HB, nb1, i64([L, 3 * L])], { axis: 0 })]);
    const pg = op('Slice', [p, i64([3 * L]), g.constInt64([INT64_MAX]), i64([3])]);
    ctxHeads = op('Add', [op('Reshape', [op('MatMul', [pl, v3]), flat(i64([D]))]), op('MatMul', [pg, gv])], {}, 'context_heads');
  }
  // [B,Np,H·D] → first N positions; padded queries give 0.
  const ctx = op('Slice', [merge(ctxHeads), i64([0]), N1, i64([1])]);
  return finish(op('Mul', [ctx, op('Unsqueeze', [validF, i64([2])])]));
}

/** Anything with a toOnnx() (the LongT5 layer classes). */
export interface OnnxExportable {
  toOnnx(options?: LongT5OnnxOptions): Uint8Array;
}

/** Writes `layer.toOnnx(options)` to `path`; returns the number of bytes written. */
export function exportOnnx(layer: OnnxExportable, path: string, options?: LongT5OnnxOptions): number {
  if (layer === null || typeof layer !== 'object' || typeof (layer as OnnxExportable).toOnnx !== 'function')
    throw new TypeError('exportOnnx: layer must be a LongT5 layer (an object with toOnnx())');
  if (typeof path !== 'string' || path === '') throw new TypeError('exportOnnx: path must be a non-empty string');
  const bytes = layer.toOnnx(options);
  fs.writeFileSync(path, bytes);
  return bytes.length;
}

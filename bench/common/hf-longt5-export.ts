// The bench's anchor: what `torch.onnx.export` makes of Hugging Face's LongT5EncoderModel with
// transient-global attention (what transformers.js runs), rebuilt op by op with the project's graph
// builder. It follows modeling_longt5.py's forward, not our own banded graph (lib/onnx/longt5-*.ts),
// so that ONNX Runtime pays what it pays on the real export:
//
//   * blocks of bl = local_radius + 1 (not max(r, 8)); queries, keys, values and the mask padded to a
//     multiple of bl and reshaped (_split_into_blocks), keys/values/mask padded by one block on each
//     side and three Slices concatenated (_concatenate_3_blocks);
//   * block ids and segment flags (_make_global_fixed_block_ids) from the mask in float arithmetic
//     (cumsum of 1/g, floor, orphan rule, max + repeat), in EVERY layer, and once more for the side
//     relative positions in layer 0;
//   * global aggregates as a one-hot einsum (OneHot [B,N,G+1] int64, Slice, Cast, Einsum
//     "...nd,...ng->...gd"), then the global layer norm and the k/v projections of the G aggregates;
//   * side keys/values tiled across the nb blocks (Tile [B,nb,G,H,D]) and concatenated after the 3bl
//     local keys/values: scores are one Einsum "...qhd,...khd->...hqk" [B,nb,H,bl,3bl+G];
//   * layer 0's position bias, shared by every layer: the local bias [1,1,H,bl,3bl] plus the local
//     mask (where(mask, 0, -1e10)), concatenated with the side bias (mask == segment flag, T5
//     buckets of global position - block id computed in the graph with Log/Div/Cast, the global
//     bias table gathered [B,N,G,H], transposed, padded and split into blocks) [B,nb,H,bl,3bl+G];
//   * scores + bias, Softmax, Einsum "...hqk,...khd->...qhd", reshape, Slice to N, o;
//   * T5 RMS norms as torch exports them (Pow, ReduceMean, Add, Sqrt, Div(1, .), Mul, Mul), gelu_new
//     as NewGELUActivation's tanh formula (Pow 3), residual Adds, the final norm.
//
// Tracing choices: the graph has static dims, built for one input shape [B, N]: block counts, padding
// amounts and G = N // g are constants, and everything that depends only on the shape or the weights
// is folded to constants as the exporter's constant folding does (the local bias table with its
// locality mask, the cumsum of 1/g, the segment positions, the transposed Linear weights). What
// depends on the mask or the tokens stays in the graph. The file users download (Optimum's export:
// dynamic axes, traced on a dummy input of 16 tokens) computes the same values with extra Shape arithmetic
// on [B, N]-sized or smaller tensors, and keeps the branches its dummy input took: the padding of
// _split_into_blocks runs at every N (by 0 rows when N is a multiple of bl), so the replica pads
// too. Static shapes can only help ORT (it folds and plans more), so the anchor is not handicapped.
//
// One deviation: with no global token (N < g) the trace would carry zero-sized aggregate and side
// tensors through OneHot, Einsum, Tile and Concat; the replica leaves those ops out (same result).
//
// Inputs: input_ids, attention_mask int64 [B, N]; output last_hidden_state float32 [B, N, d_model].
// Only the transient-global encoder (the anchor); relu or gated-gelu feed-forward.
import { GraphBuilder, tensor, DataType } from '../../lib/onnx/model';
import { transpose } from '../../lib/onnx/longt5-graph';
import { t5RelativeBucket } from '../../lib/onnx/t5-buckets';
import type { LongT5EncoderOnnxConfig } from '../../lib/onnx/longt5-encoder';

/** Opset of the replica (torch 2.x exports at 17 by default). */
export const HF_EXPORT_OPSET = 17;

/** HF's additive value for masked local and side slots (this transformers version: -1e10). */
export const HF_MASKED_BIAS = -1e10;

export interface HfExportShape {
  batch: number;
  seqLen: number;
}

function positive(name: string, x: unknown, min: number): number {
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${String(x)}`);
  return x;
}

/**
 * The replica of HF's exported transient-global LongT5 encoder for inputs of shape [batch, seqLen]
 * (see the file comment). `weights` holds Hugging Face names (PyTorch [out, in] layout), as
 * LongT5EncoderModel.weightsForExport() returns them.
 */
export function buildHfLongT5EncoderExport(
  config: LongT5EncoderOnnxConfig,
  weights: ReadonlyMap<string, Float32Array> | Readonly<Record<string, Float32Array>>,
  shape: HfExportShape,
): Uint8Array {
  if (config.encoder_attention_type !== 'transient-global')
    throw new RangeError(`the HF export replica covers encoder_attention_type 'transient-global' only, got ${JSON.stringify(config.encoder_attention_type)}`);
  const B = positive('shape.batch', shape.batch, 1);
  const N = positive('shape.seqLen', shape.seqLen, 1);
  const C = positive('config.d_model', config.d_model, 1);
  const D = positive('config.d_kv', config.d_kv, 1);
  const H = positive('config.num_heads', config.num_heads, 1);
  const F = positive('config.d_ff', config.d_ff, 1);
  const V = positive('config.vocab_size', config.vocab_size, 1);
  const layers = positive('config.num_layers', config.num_layers, 1);
  const r = positive('config.local_radius', config.local_radius, 0);
  const gsz = positive('config.global_block_size', config.global_block_size, 1);
  const numBuckets = positive('config.relative_attention_num_buckets', config.relative_attention_num_buckets, 2);
  const maxDistance = positive('config.relative_attention_max_distance', config.relative_attention_max_distance, 1);
  const eps = config.layer_norm_epsilon ?? 1e-6;
  const act = config.dense_act_fn ?? (config.feed_forward_proj === 'relu' ? 'relu' : 'gelu_new');
  const gated = config.is_gated_act ?? config.feed_forward_proj === 'gated-gelu';
  if (act !== 'relu' && act !== 'gelu_new' && act !== 'gelu_pytorch_tanh') throw new RangeError(`config.dense_act_fn ${JSON.stringify(act)} is not supported`);
  const HD = H * D;
  const bl = r + 1; // HF's block_len
  const nb = Math.ceil(N / bl);
  const padN = nb * bl - N;
  const G = Math.floor(N / gsz);

  const get = (name: string): Float32Array => {
    const w = weights instanceof Map ? weights.get(name) : (weights as Readonly<Record<string, Float32Array>>)[name];
    if (!(w instanceof Float32Array) && Object.prototype.toString.call(w) !== '[object Float32Array]') throw new TypeError(`weights['${name}'] is missing or not a Float32Array`);
    return w as Float32Array;
  };

  const g = new GraphBuilder('hf_longt5_encoder_tglobal');
  const ids = g.addInput('input_ids', 'int64', [B, N]);
  const mask = g.addInput('attention_mask', 'int64', [B, N]);
  g.addOutput('last_hidden_state', 'float32', [B, N, C]);
  const op = (type: string, inputs: string[], attrs: Record<string, unknown> = {}) => g.op(type, inputs, attrs as never);
  const f32 = (v: number) => g.constFloat(v);
  const i64 = (v: number | number[]) => g.constInt64(v);
  const i32 = (v: number) => g.constInt32(v);
  const init = (name: string, dims: number[], data: Float32Array) => g.addInitializer(name, tensor('float32', dims, data));
  const cast = (x: string, to: number) => op('Cast', [x], { to });
  const unsqueeze = (x: string, axes: number[]) => op('Unsqueeze', [x, i64(axes)]);
  const slice = (x: string, start: number, end: number, axis: number) => op('Slice', [x, i64([start]), i64([end]), i64([axis])]);
  /** nn.functional.pad(x, ..., value) on one axis of a rank-`rank` tensor. */
  const pad = (x: string, rank: number, axis: number, before: number, after: number, value: string) => {
    const pads = new Array<number>(2 * rank).fill(0);
    pads[axis] = before;
    pads[rank + axis] = after;
    return op('Pad', [x, i64(pads), value], { mode: 'constant' });
  };
  /** One initializer per parameter, however often it is used (k and v serve tokens and aggregates). */
  const params = new Map<string, string>();
  const param = (name: string, make: () => string) => {
    let p = params.get(name);
    if (p === undefined) params.set(name, (p = make()));
    return p;
  };
  /** nn.Linear without bias: MatMul by the (folded) transposed weight. */
  const linear = (x: string, name: string, out: number, inp: number) =>
    op('MatMul', [x, param(name, () => init(`${name}.T`, [inp, out], transpose(get(name), out, inp)))]);
  /** LongT5LayerNorm: weight * (x * rsqrt(mean(x^2) + eps)); rsqrt exported as Div(1, Sqrt). */
  const rms = (x: string, name: string, output?: string) => {
    const variance = op('ReduceMean', [op('Pow', [x, f32(2)])], { axes: [-1], keepdims: 1 });
    const rsqrt = op('Div', [f32(1), op('Sqrt', [op('Add', [variance, f32(eps)])])]);
    const inputs = [param(name, () => init(name, [C], get(name))), op('Mul', [x, rsqrt])];
    return output === undefined ? op('Mul', inputs) : g.op('Mul', inputs, {}, { output });
  };
  const gelu = (x: string) => {
    const inner = op('Mul', [f32(Math.sqrt(2 / Math.PI)), op('Add', [x, op('Mul', [f32(0.044715), op('Pow', [x, f32(3)])])])]);
    return op('Mul', [op('Mul', [f32(0.5), x]), op('Add', [f32(1), op('Tanh', [inner])])]);
  };
  const zeroI64 = i64(0);
  const zeroF = f32(0);

  // ---- shape-only constants the exporter folds
  // torch.ones_like(mask) / g, cumsum along N, minus itself: cumsum accumulates in double on CPU and
  // rounds each output to float32.
  const step = Math.fround(1 / gsz);
  const fixed = new Float32Array(B * N);
  for (let b = 0; b < B; b++) {
    let acc = 0;
    for (let i = 0; i < N; i++) {
      acc += step;
      fixed[b * N + i] = Math.fround(Math.fround(acc) - step);
    }
  }
  const fixedBlockMask = init('fixed_block_mask', [B, N], fixed);
  const blockEnds = g.constant(tensor('bool', [N], Array.from({ length: N }, (_, i) => i % gsz === gsz - 1)), 'block_ends');
  const segmentPositions = G > 0 ? init('global_segment_positions', [B, G], Float32Array.from({ length: B * G }, (_, k) => k % G)) : '';

  /** _make_global_fixed_block_ids: block ids [B,N] and segment flags [B,G], both int32. */
  const fixedBlockIds = (): { blockIds: string; segmentIds: string } => {
    const maskF = cast(mask, DataType.FLOAT);
    const valid = op('Where', [op('Not', [op('Equal', [maskF, zeroF])]), f32(1), f32(-1000)]);
    const m = cast(valid, DataType.INT64); // .type(attention_mask.dtype)
    let ids = cast(op('Floor', [op('Sub', [op('Add', [cast(m, DataType.FLOAT), fixedBlockMask]), f32(1)])]), DataType.INT64);
    const lower = i64(-1);
    ids = op('Where', [op('Greater', [ids, lower]), ids, lower]);
    ids = op('Add', [op('Mul', [ids, mask]), op('Sub', [mask, i64(1)])]); // padding -> -1
    // handle_orphan_tokens
    const trueEnds = op('And', [blockEnds, op('GreaterOrEqual', [ids, zeroI64])]);
    const full = op('Sub', [unsqueeze(op('ReduceSum', [cast(trueEnds, DataType.INT64), i64([-1])], { keepdims: 0 }), [-1]), i64(1)]);
    ids = op('Where', [op('Less', [ids, full]), ids, full]);
    let segmentIds: string;
    if (G > 0) {
      const idsMax = op('Transpose', [op('Tile', [unsqueeze(op('ReduceMax', [ids], { axes: [-1], keepdims: 0 }), [0]), i64([G, 1])])], { perm: [1, 0] });
      segmentIds = op('Where', [op('LessOrEqual', [segmentPositions, cast(idsMax, DataType.FLOAT)]), i64(1), zeroI64]);
    } else segmentIds = g.constant(tensor('int64', [B, 0], []), 'no_segments');
    return { blockIds: cast(ids, DataType.INT32), segmentIds: cast(segmentIds, DataType.INT32) };
  };

  /** _relative_position_bucket (bidirectional) on an int64 tensor, in the graph. */
  const bucket = (rel: string) => {
    const half = Math.trunc(numBuckets / 2);
    const maxExact = Math.trunc(half / 2);
    const sign = op('Mul', [cast(op('Greater', [rel, zeroI64]), DataType.INT64), i64(half)]);
    const n = op('Abs', [rel]);
    const isSmall = op('Less', [n, i64(maxExact)]);
    const logRatio = op('Div', [op('Log', [op('Div', [cast(n, DataType.FLOAT), f32(maxExact)])]), f32(Math.log(maxDistance / maxExact))]);
    let large = op('Add', [i64(maxExact), cast(op('Mul', [logRatio, f32(half - maxExact)]), DataType.INT64)]);
    large = op('Min', [large, i64(half - 1)]);
    return op('Add', [sign, op('Where', [isSmall, n, large])]);
  };

  /**
   * _split_into_blocks along `axis` of a tensor whose dims are `dims`. The Pad is there even when N
   * is a multiple of bl (padding by 0): the export is traced on a 16-token dummy input, where the
   * `if N % block_len != 0` branch is taken, and the file then pads at every length.
   */
  const splitBlocks = (x: string, dims: number[], axis: number, padValue: string) => {
    const padded = pad(x, dims.length, axis, 0, padN, padValue);
    return op('Reshape', [padded, i64([...dims.slice(0, axis), nb, bl, ...dims.slice(axis + 1)])]);
  };
  /** _concatenate_3_blocks: pad the block axis by one block each side, three Slices, Concat on the sequence axis. */
  const concat3 = (x: string, rank: number, blockAxis: number, seqAxis: number, padValue: string) => {
    const padded = pad(x, rank, blockAxis, 1, 1, padValue);
    return op('Concat', [0, 1, 2].map((i) => slice(padded, i, i + nb, blockAxis)), { axis: seqAxis });
  };
  /** shape(): view(B, -1, H, D). */
  const heads = (x: string) => op('Reshape', [x, i64([B, -1, H, D])]);

  // ---- layer 0's position bias (shared by every layer)
  const attn0 = 'encoder.block.0.layer.0.TransientGlobalSelfAttention';
  const positionBias = (segmentIds: string): string => {
    // compute_bias(block_len): folded constant [1,1,H,bl,3bl], bucket of s - (bl + t).
    const rel = get(`${attn0}.relative_attention_bias.weight`);
    const local = new Float32Array(H * bl * 3 * bl);
    for (let t = 0; t < bl; t++)
      for (let s = 0; s < 3 * bl; s++) {
        const b = t5RelativeBucket(s - bl - t, numBuckets, maxDistance);
        for (let h = 0; h < H; h++) local[(h * bl + t) * 3 * bl + s] = rel[b * H + h];
      }
    const localBias = init('local_position_bias', [1, 1, H, bl, 3 * bl], local);
    // _get_local_attention_mask: blocked mask AND 3-blocked mask AND locality (|rel| < bl, folded).
    const blocked = splitBlocks(mask, [B, N], 1, zeroI64); // [B,nb,bl]
    const three = concat3(blocked, 3, 1, 2, zeroI64); // [B,nb,3bl]
    const locality = g.constant(
      tensor('bool', [1, 1, bl, 3 * bl], Array.from({ length: bl * 3 * bl }, (_, k) => Math.abs((k % (3 * bl)) - bl - Math.floor(k / (3 * bl))) < bl)),
      'locality_mask',
    );
    let lm = op('And', [cast(unsqueeze(blocked, [-1]), DataType.BOOL), cast(unsqueeze(three, [-2]), DataType.BOOL)]);
    lm = unsqueeze(op('And', [lm, locality]), [1]); // [B,1,nb,bl,3bl]
    const lmBias = op('Where', [lm, zeroF, f32(HF_MASKED_BIAS)]);
    const localPart = op('Add', [localBias, op('Transpose', [lmBias], { perm: [0, 2, 1, 3, 4] })]); // [B,nb,H,bl,3bl]
    if (G === 0) return localPart;
    // compute_side_bias(mask, global_segment_ids): the segment flags of the forward's call.
    const sideMask = unsqueeze(op('Equal', [unsqueeze(mask, [-1]), cast(unsqueeze(segmentIds, [1]), DataType.INT64)]), [1]); // [B,1,N,G]
    const sideAttn = op('Where', [sideMask, zeroF, f32(HF_MASKED_BIAS)]);
    // _make_side_relative_position_ids: its own call of _make_global_fixed_block_ids.
    const { blockIds } = fixedBlockIds();
    const globalPositions = i64(Array.from({ length: G }, (_, m) => m));
    const sideRel = op('Sub', [globalPositions, cast(unsqueeze(blockIds, [-1]), DataType.INT64)]); // [B,N,G]
    const table = init('global_relative_attention_bias', [numBuckets, H], get(`${attn0}.global_relative_attention_bias.weight`));
    const sideBias = op('Transpose', [op('Gather', [table, bucket(sideRel)], { axis: 0 })], { perm: [0, 3, 1, 2] }); // [B,H,N,G]
    const side = op('Add', [sideAttn, sideBias]);
    const sideBlocks = op('Transpose', [splitBlocks(side, [B, H, N, G], 2, zeroF)], { perm: [0, 2, 1, 3, 4] }); // [B,nb,H,bl,G]
    return op('Concat', [localPart, sideBlocks], { axis: -1 });
  };

  // ---- LongT5TransientGlobalAttention.forward on the normed hidden states
  let bias: string | undefined;
  const attention = (x: string, i: number): string => {
    const a = `encoder.block.${i}.layer.0.TransientGlobalSelfAttention`;
    const { blockIds, segmentIds } = fixedBlockIds();
    // _create_global_aggregates: one-hot einsum.
    let globalInputs: string | undefined;
    if (G > 0) {
      const idsOrLast = op('Where', [op('GreaterOrEqual', [blockIds, i32(0)]), blockIds, i32(G)]);
      const oneHot = op('OneHot', [cast(idsOrLast, DataType.INT64), i64(G + 1), i64([0, 1])], { axis: -1 }); // [B,N,G+1]
      const hot = cast(slice(oneHot, 0, -1, 2), DataType.FLOAT);
      globalInputs = rms(op('Einsum', [x, hot], { equation: '...nd,...ng->...gd' }), `${a}.global_input_layer_norm.weight`); // [B,G,C]
    }
    const q = heads(linear(x, `${a}.q.weight`, HD, C));
    const k = heads(linear(x, `${a}.k.weight`, HD, C));
    const v = heads(linear(x, `${a}.v.weight`, HD, C));
    const qb = splitBlocks(q, [B, N, H, D], 1, zeroF); // [B,nb,bl,H,D]
    let kb = concat3(splitBlocks(k, [B, N, H, D], 1, zeroF), 5, 1, 2, zeroF); // [B,nb,3bl,H,D]
    let vb = concat3(splitBlocks(v, [B, N, H, D], 1, zeroF), 5, 1, 2, zeroF);
    if (globalInputs !== undefined) {
      // side keys/values tiled across the blocks, after the local ones
      const sk = heads(linear(globalInputs, `${a}.k.weight`, HD, C));
      const sv = heads(linear(globalInputs, `${a}.v.weight`, HD, C));
      const reps = i64([1, nb, 1, 1, 1]);
      kb = op('Concat', [kb, op('Tile', [unsqueeze(sk, [1]), reps])], { axis: 2 }); // [B,nb,3bl+G,H,D]
      vb = op('Concat', [vb, op('Tile', [unsqueeze(sv, [1]), reps])], { axis: 2 });
    }
    const scores = op('Einsum', [qb, kb], { equation: '...qhd,...khd->...hqk' }); // [B,nb,H,bl,3bl+G]
    bias ??= positionBias(segmentIds);
    const probs = op('Softmax', [op('Add', [scores, bias])], { axis: -1 });
    const ctx = op('Reshape', [op('Einsum', [probs, vb], { equation: '...hqk,...khd->...qhd' }), i64([B, -1, HD])]); // [B,nb*bl,HD]
    return linear(slice(ctx, 0, N, 1), `${a}.o.weight`, C, HD);
  };

  let h = op('Gather', [init('shared.weight', [V, C], get('shared.weight')), ids], { axis: 0 });
  for (let i = 0; i < layers; i++) {
    const blk = `encoder.block.${i}`;
    h = op('Add', [h, attention(rms(h, `${blk}.layer.0.layer_norm.weight`), i)]);
    const x = rms(h, `${blk}.layer.1.layer_norm.weight`);
    const ff = `${blk}.layer.1.DenseReluDense`;
    const inner = gated
      ? op('Mul', [gelu(linear(x, `${ff}.wi_0.weight`, F, C)), linear(x, `${ff}.wi_1.weight`, F, C)])
      : act === 'relu' ? op('Relu', [linear(x, `${ff}.wi.weight`, F, C)]) : gelu(linear(x, `${ff}.wi.weight`, F, C));
    h = op('Add', [h, linear(inner, `${ff}.wo.weight`, C, F)]);
  }
  rms(h, 'encoder.final_layer_norm.weight', 'last_hidden_state');
  return g.toModel({
    opsets: { '': HF_EXPORT_OPSET },
    docString: `Replica of torch.onnx.export(LongT5EncoderModel, transient-global) traced at [${B}, ${N}] (bench/common/hf-longt5-export.ts)`,
  });
}

// LongT5TransientGlobalAttention as an ONNX graph: the blocked local band (longt5-band.ts) plus
// the transient global tokens, with one Softmax over local ∪ global keys.
//  * Block ids, orphan rule, integer arithmetic: F_b = number of valid positions i with
//    i % g == g - 1; a valid token gets min(i // g, F_b - 1), padding -1 (all -1 when F_b = 0).
//  * Global aggregates are block SUMS: per absolute block by Reshape + ReduceSum of the masked
//    hidden states, then block F_b - 1 takes the sums of every later block and the tail past G·g
//    (the orphans), blocks >= F_b are 0. Then T5's RMS norm with the learned weight and the k/v
//    projections. Global m is valid for a row iff m < F_b (m <= the row's largest block id).
//  * Side bias bucket(m - block_id(i)): a [H, G+1, G] table by block id (-1..G-1), then one row
//    per query gathered by block_id + 1.
import { DataType, tensor } from './model';
import { bandedContext, localBand } from './longt5-band';
import { INT64_MAX, LayerInput, LongT5Graph } from './longt5-graph';
import { t5BiasByDistance } from './t5-buckets';

/** [B, N, H·D] context of a transient-global attention layer (before the output projection). */
export function tglobalAttentionContext(cx: LongT5Graph, layer: LayerInput): string {
  const { C, D, H, L, gsz, eps, numBuckets, maxDistance } = cx.d;
  const band = localBand(cx, layer);
  const { hp, q, ones, local, v3, validP, validPB, B1, nb1, Np1, HB } = band;
  const { N1 } = cx.seq();
  const op = cx.op.bind(cx);
  const i64 = cx.i64.bind(cx);
  const once = cx.once.bind(cx);
  const asF = (x: string) => op('Cast', [x], { to: DataType.FLOAT });

  // Block ids with the orphan rule, on the padded length (padding has id -1).
  const pos = once('block_pos', () => op('Range', [cx.zero(), cx.toScalar(Np1, 'np'), cx.one()], {}, 'pos')); // [Np]
  const F = once('full_blocks', () => {
    const isEnd = op('Equal', [op('Mod', [pos, i64(gsz)]), i64(gsz - 1)], {}, 'is_block_end');
    return op('ReduceSum', [op('Cast', [op('And', [validPB, isEnd])], { to: DataType.INT64 }), i64([1])], { keepdims: 1 }, 'full_blocks'); // [B,1]
  });
  const Fm1 = once('last_block', () => op('Sub', [F, cx.one()], {}, 'last_block'));
  const ids = once('block_ids', () => op('Where', [validPB, op('Min', [op('Div', [pos, i64(gsz)]), Fm1]), i64(-1)], {}, 'block_ids')); // [B,Np]
  const G1 = once('G', () => op('Div', [N1, i64([gsz])], {}, 'G'));
  const G = once('g', () => cx.toScalar(G1, 'g'));
  const mRow = once('global_pos_row', () => op('Unsqueeze', [op('Range', [cx.zero(), G, cx.one()], {}, 'global_pos'), i64([0])])); // [1,G]

  // Aggregates (block sums). Blocks are runs of g positions: S[m] = sum of the valid tokens of
  // absolute block m (a reshape + ReduceSum), tail = the valid tokens from G·g on. Then block
  // m < F-1 is S[m], block F-1 is sum_{m' >= F-1} S[m'] + tail (the orphans), blocks >= F are 0.
  const hm = op('Mul', [hp, once('valid_padded_column', () => op('Unsqueeze', [validP, i64([2])]))], {}, 'hidden_valid');
  const Gg = once('Gg', () => op('Mul', [G1, i64([gsz])]));
  const blockSums = op('ReduceSum', [
    op('Reshape', [op('Slice', [hm, i64([0]), Gg, i64([1])]), once('block_sums_shape', () => op('Concat', [B1, G1, i64([gsz, C])], { axis: 0 }))]), i64([2]),
  ], { keepdims: 0 }, 'block_sums'); // [B,G,C]
  const tail = op('ReduceSum', [op('Slice', [hm, Gg, cx.g.constInt64([INT64_MAX]), i64([1])]), i64([1])], { keepdims: 1 }, 'tail_sum'); // [B,1,C]
  const before = once('before_last_block', () => op('Less', [mRow, Fm1])); // [B,G]
  const merged = op('Add', [op('MatMul', [once('from_last_block', () => op('Unsqueeze', [asF(op('Not', [before])), i64([1])])), blockSums]), tail]); // [B,1,C]
  const agg = op('Add', [
    op('Mul', [blockSums, once('before_last_block_f', () => op('Unsqueeze', [asF(before), i64([2])]))]),
    op('Mul', [once('is_last_block_f', () => op('Unsqueeze', [asF(op('Equal', [mRow, Fm1])), i64([2])])), merged]),
  ], {}, 'aggregates'); // [B,G,C]
  // T5 RMS norm.
  const variance = op('ReduceMean', [op('Mul', [agg, agg]), i64([-1])], { keepdims: 1 });
  const inv = op('Reciprocal', [op('Sqrt', [op('Add', [variance, cx.f32(eps, 'eps')])])]);
  const normW = cx.g.addInitializer(`${layer.prefix}global_input_layer_norm_weight`, tensor('float32', [C], layer.weights['global_input_layer_norm.weight']));
  const normed = op('Mul', [op('Mul', [agg, inv]), normW], {}, 'global_inputs');
  // Global keys with their validity column (m < F_b), values.
  const sideCol = once('side_mask_column', () => band.maskColumn(op('Where', [op('Less', [mRow, F]), cx.ZERO, cx.NEG], {}, 'side_mask'))); // [H,B,G,1]
  const gk = op('Concat', [cx.heads(normed, layer.proj.wk, 'side_k'), sideCol], { axis: 3 }, 'side_k_mask'); // [H,B,G,D+1]
  const gv = cx.heads(normed, layer.proj.wv, 'side_v'); // [H,B,G,D]
  const side0 = op('MatMul', [op('Concat', [q, ones], { axis: 3 }), op('Transpose', [gk], { perm: [0, 1, 3, 2] })]); // [H,B,Np,G]

  // Side bias bucket(m - id): a small [H, G+1, G] table by block id (row id + 1, id = -1 first),
  // then one row per query, gathered by id + 1 (whole rows: cheap). Block 0's table serves every layer.
  const sideBias = once('side_bias', () => {
    const gt = t5BiasByDistance(layer.weights['global_relative_attention_bias.weight'], numBuckets, maxDistance, H);
    const gTable = cx.headTable('global_bias_by_distance', [{ table: gt.table, rows: 2 * gt.S + 1 }]); // [H, 2S+1]
    const idCol = op('Unsqueeze', [op('Range', [i64(-1), G, cx.one()]), i64([1])]); // [G+1,1]
    const relById = op('Add', [op('Min', [op('Max', [op('Sub', [mRow, idCol]), i64(-gt.S)]), i64(gt.S)]), i64(gt.S)]); // [G+1,G]
    const biasById = op('Gather', [gTable, relById], { axis: 1 }, 'side_bias_by_block'); // [H,G+1,G]
    return op('Gather', [biasById, op('Add', [ids, cx.one()])], { axis: 1 }, 'side_bias'); // [H,B,Np,G]
  });
  const side = op('Add', [side0, sideBias], {}, 'side_scores');

  // One softmax over local ∪ global keys.
  const all = op('Concat', [op('Reshape', [local, band.flat(3 * L, 'scores')]), side], { axis: 3 }, 'scores'); // [H,B,Np,3L+G]
  const p = op('Softmax', [all], { axis: -1 }, 'probs');
  const pl = op('Reshape', [
    op('Slice', [p, i64([0]), i64([3 * L]), i64([3])]),
    once('local_probs_shape', () => op('Concat', [HB, nb1, i64([L, 3 * L])], { axis: 0 })),
  ]);
  const pg = op('Slice', [p, i64([3 * L]), cx.g.constInt64([INT64_MAX]), i64([3])]);
  const ctxHeads = op('Add', [op('Reshape', [op('MatMul', [pl, v3]), band.flat(D, 'context')]), op('MatMul', [pg, gv])], {}, 'context_heads');
  return bandedContext(cx, ctxHeads);
}

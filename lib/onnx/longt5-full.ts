// LongT5Attention (full T5 self-attention with relative position bias) as an ONNX graph: scores
// [H,B,N,N] with the bias table gathered at clamp(j - i) and an additive key mask (O(N²) memory,
// like the dense baseline it is); a batch row with no valid key outputs 0 (the native dense
// semantics).
import { LayerInput, LongT5Graph } from './longt5-graph';
import { t5BiasByDistance } from './t5-buckets';

/** [B, N, H·D] context of a full attention layer (before the output projection). */
export function fullAttentionContext(cx: LongT5Graph, layer: LayerInput): string {
  const { H, numBuckets, maxDistance } = cx.d;
  const { N1, valid, validF } = cx.seq();
  const op = cx.op.bind(cx);
  const i64 = cx.i64.bind(cx);
  // Block 0's table serves every layer.
  const { table, S } = t5BiasByDistance(layer.weights['relative_attention_bias.weight'], numBuckets, maxDistance, H);
  const biasTable = cx.once('relative_bias_by_distance', () => cx.headTable('relative_bias_by_distance', [{ table, rows: 2 * S + 1 }]));
  const q = cx.heads(layer.hidden, layer.proj.wq, 'q'); // [H,B,N,D]
  const k = cx.heads(layer.hidden, layer.proj.wk, 'k');
  const v = cx.heads(layer.hidden, layer.proj.wv, 'v');
  const bias = cx.once('full_position_bias', () => {
    const pos = op('Range', [cx.zero(), cx.toScalar(N1, 'n'), cx.one()], {}, 'pos');
    const rel = op('Sub', [op('Unsqueeze', [pos, i64([0])]), op('Unsqueeze', [pos, i64([1])])], {}, 'rel'); // [N,N]: j - i
    const idx = op('Add', [op('Min', [op('Max', [rel, i64(-S)]), i64(S)]), i64(S)], {}, 'rel_idx');
    return op('Unsqueeze', [op('Gather', [biasTable, idx], { axis: 1 }), i64([1])], {}, 'position_bias'); // [H,1,N,N]
  });
  const keyMask = cx.once('full_key_mask', () => op('Unsqueeze', [op('Where', [valid, cx.ZERO, cx.NEG]), i64([1])], {}, 'key_mask')); // [B,1,N]
  const scores = op('Add', [op('Add', [op('MatMul', [q, op('Transpose', [k], { perm: [0, 1, 3, 2] })]), bias]), keyMask], {}, 'scores');
  const p = op('Softmax', [scores], { axis: -1 }, 'probs');
  const ctx = cx.merge(op('MatMul', [p, v]));
  // A batch row without any valid key outputs 0.
  const anyKey = cx.once('any_key', () => op('ReduceMax', [op('Unsqueeze', [validF, i64([2])]), i64([1])], { keepdims: 1 }, 'any_key')); // [B,1,1]
  return op('Mul', [ctx, anyKey]);
}

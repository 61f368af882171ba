// LongT5LocalAttention as an ONNX graph: the blocked local band (longt5-band.ts), one Softmax over
// each query's 3L band slots (out-of-window and padded keys carry MASKED), weighted sum of values.
import { Band, bandedContext, localBand } from './longt5-band';
import { LayerInput, LongT5Graph } from './longt5-graph';

/** [B, N, H·D] context of a local attention layer (before the output projection). */
export function localAttentionContext(cx: LongT5Graph, layer: LayerInput): string {
  const band: Band = localBand(cx, layer);
  const p = cx.op('Softmax', [band.local], { axis: -1 }, 'probs');
  const ctxHeads = cx.op('Reshape', [cx.op('MatMul', [p, band.v3]), band.flat(cx.d.D, 'context')], {}, 'context_heads'); // [H,B,Np,D]
  return bandedContext(cx, ctxHeads);
}

// ONNX models of the three LongT5 attention layers (docs/ARCHITECTURE.md §1.2), built from standard ONNX ops only
// (opset 18, no contrib ops), with the layer's weights as initializers:
//   'tglobal'  Hugging Face LongT5TransientGlobalAttention   (longt5-tglobal.ts)
//   'local'    LongT5LocalAttention                          (longt5-local.ts)
//   'full'     LongT5Attention (full T5 self-attention with relative position bias) (longt5-full.ts)
// Input  "hidden_states"  float32 [B, N, d_model]
//        "attention_mask" int64   [B, N] (1 = token, 0 = padding; anything nonzero counts as 1)
// Output "output"         float32 [B, N, d_model]
//
// Every shape-dependent quantity (N, the padded length, block counts, G = N // g, block ids) is
// computed in the graph from Shape/Range/integer arithmetic, so one model runs at any B and N >= 1,
// including N < g (G = 0: no global tokens). Nothing about N is baked in.
//
// Common to the kinds (longt5-graph.ts, longt5-band.ts): attention runs head-major, [H, B, ...];
// 'local' and 'tglobal' compute a blocked local band (O(N·3L) scores, not N×N); key masks ride in
// the score MatMuls; T5 buckets are constant tables by clamped distance (t5-buckets.ts), computed at
// export with Hugging Face's float32 arithmetic: exact, and no float Log in the graph whose rounding
// could move a bucket boundary. MASKED is finite, so no row produces NaN; padded query rows are set
// to 0 (as the native layer does). A valid query always has itself as a valid key.
//
// attentionLayerGraph() adds one layer to a larger graph (the whole encoder, longt5-encoder.ts).
import * as fs from 'fs';
import { GraphBuilder, tensor } from './model';
import { fullAttentionContext } from './longt5-full';
import {
  LONGT5_MASKED_SCORE, LayerDims, LayerInput, LongT5Graph, LongT5OnnxConfig, LongT5OnnxKind, checkLayerWeights, resolveLayerDims, transpose,
} from './longt5-graph';
import { localAttentionContext } from './longt5-local';
import { tglobalAttentionContext } from './longt5-tglobal';

export { LONGT5_MASKED_SCORE };
export type { LongT5OnnxKind, LongT5OnnxConfig };

export interface LongT5OnnxOptions {
  /** Standard ONNX opset to declare; default and minimum 18. */
  opset?: number;
}

const CONTEXT: Record<LongT5OnnxKind, (cx: LongT5Graph, layer: LayerInput) => string> = {
  tglobal: tglobalAttentionContext,
  local: localAttentionContext,
  full: fullAttentionContext,
};

/** Checks `options` of an exporter; returns the opset. */
export function checkOnnxOptions(options: LongT5OnnxOptions): number {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
  for (const k of Object.keys(options)) if (k !== 'opset') throw new TypeError(`options: unknown option '${k}' (allowed: opset)`);
  const opset = options.opset ?? 18;
  if (typeof opset !== 'number') throw new TypeError(`options.opset must be a number, got ${typeof opset}`);
  if (!Number.isSafeInteger(opset) || opset < 18) throw new RangeError(`options.opset must be an integer >= 18, got ${String(options.opset)}`);
  return opset;
}

/**
 * Appends one attention layer to `cx`'s graph (its sequence set with setSequence): the layer's
 * projections as initializers named `prefix` + q_weight_t etc., the kind's attention, the output
 * projection. `weights` are checked Hugging Face layer weights; the bias tables are read only by
 * the first layer of a graph (later layers reuse block 0's, as LongT5 does). Returns the output
 * [B, N, d_model] value (named `output` when given).
 */
export function attentionLayerGraph(
  cx: LongT5Graph, hidden: string, weights: Readonly<Record<string, Float32Array>>, prefix: string, output?: string,
): string {
  const { C, HD } = cx.d;
  const g = cx.g;
  const w = (name: string, rows: number, cols: number) =>
    g.addInitializer(`${prefix}${name.replace('.', '_')}_t`, tensor('float32', [cols, rows], transpose(weights[name], rows, cols)));
  const proj = { wq: w('q.weight', HD, C), wk: w('k.weight', HD, C), wv: w('v.weight', HD, C), wo: w('o.weight', C, HD) };
  const ctx = CONTEXT[cx.d.kind](cx, { hidden, weights, proj, prefix });
  return g.op('MatMul', [ctx, proj.wo], {}, { output: output ?? g.uniqueName('attention_output') });
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
  const opset = checkOnnxOptions(options);
  const d: LayerDims = resolveLayerDims(kind, config);
  checkLayerWeights(d, weights);

  const g = new GraphBuilder(`longt5_${kind}_attention`);
  const cx = new LongT5Graph(g, d);
  const hidden = g.addInput('hidden_states', 'float32', ['batch', 'sequence', d.C]);
  const mask = g.addInput('attention_mask', 'int64', ['batch', 'sequence']);
  g.addOutput('output', 'float32', ['batch', 'sequence', d.C]);
  cx.setSequence(hidden, mask);
  attentionLayerGraph(cx, hidden, weights, '', 'output');
  return g.toModel({
    opsets: { '': opset },
    docString: `LongT5 ${kind} attention layer (global-attention lib/onnx/longt5.ts)`,
    metadata: { kind, config: JSON.stringify({ ...config }) },
  });
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

// The whole LongT5 encoder (Hugging Face LongT5EncoderModel / the encoder of
// LongT5ForConditionalGeneration) as one ONNX graph of standard ops (opset 18, no contrib ops):
//   Input  "input_ids"         int64 [B, N]
//          "attention_mask"    int64 [B, N] (1 = token, 0 = padding; anything nonzero counts as 1)
//   Output "last_hidden_state" float32 [B, N, d_model]
//
//   h = Gather(shared.weight, input_ids)
//   per block i:  h += o(attn(rms(h, layer.0.layer_norm)))      attention: longt5-tglobal.ts / longt5-local.ts
//                 h += FF(rms(h, layer.1.layer_norm))            relu: wo(relu(wi x)); gated: wo(act(wi_0 x) * wi_1 x)
//   last_hidden_state = rms(h, encoder.final_layer_norm)
// with rms(x, w) = w * x / sqrt(mean(x²) + eps) and gelu_new(x) = 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³))).
//
// Valid at any B and N (N < global_block_size included: no global tokens). The mask-derived parts
// of the attention (block ids, padded lengths, key masks, bias gathers) are built once and shared
// by every block; each block has its own projections and global-input norm; the relative-bias
// tables are block 0's (as in LongT5). Padded positions' outputs are not meaningful (Hugging Face
// computes something else there); every unpadded position is.
import { GraphBuilder, tensor } from './model';
import { LongT5Graph, LongT5OnnxKind, resolveLayerDims, transpose } from './longt5-graph';
import { attentionLayerGraph, checkOnnxOptions, type LongT5OnnxOptions } from './longt5';

/** The resolved LongT5 config fields the encoder graph uses (Hugging Face names; lib/model's resolved config satisfies it). */
export interface LongT5EncoderOnnxConfig {
  vocab_size: number;
  d_model: number;
  d_kv: number;
  d_ff: number;
  num_layers: number;
  num_heads: number;
  local_radius: number;
  /** Used when encoder_attention_type is 'transient-global'. */
  global_block_size?: number;
  relative_attention_num_buckets: number;
  relative_attention_max_distance: number;
  layer_norm_epsilon: number;
  encoder_attention_type: 'transient-global' | 'local' | string;
  /** 'relu' or 'gelu_new'; when absent, derived from feed_forward_proj ('relu' or 'gated-gelu'). */
  dense_act_fn?: string;
  is_gated_act?: boolean;
  feed_forward_proj?: string;
}

/** An ONNX file is one protobuf message: at most 2 GiB, weights included. */
const MAX_MODEL_BYTES = 2 ** 31 - 2 ** 24;

const GELU_C = Math.sqrt(2 / Math.PI);

function count(name: string, x: unknown, min: number): number {
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < min)
    throw new RangeError(`config.${name} must be an integer >= ${min}, got ${String(x)}`);
  return x;
}

function activationOf(config: LongT5EncoderOnnxConfig): { act: 'relu' | 'gelu_new'; gated: boolean } {
  let act = config.dense_act_fn;
  let gated = config.is_gated_act;
  if (act === undefined || gated === undefined) {
    const ffp = config.feed_forward_proj ?? 'relu';
    if (ffp !== 'relu' && ffp !== 'gated-gelu')
      throw new RangeError(`config.feed_forward_proj ${JSON.stringify(ffp)} is not supported without dense_act_fn and is_gated_act (resolve the config first)`);
    act ??= ffp === 'relu' ? 'relu' : 'gelu_new';
    gated ??= ffp !== 'relu';
  }
  // gelu_pytorch_tanh is Hugging Face's other name for the same tanh approximation.
  if (act === 'gelu_pytorch_tanh') act = 'gelu_new';
  if (act !== 'relu' && act !== 'gelu_new')
    throw new RangeError(`config.dense_act_fn must be 'relu' or 'gelu_new' (or 'gelu_pytorch_tanh'), got ${JSON.stringify(act)}`);
  if (typeof gated !== 'boolean') throw new TypeError(`config.is_gated_act must be a boolean, got ${String(gated)}`);
  return { act, gated };
}

/**
 * An ONNX model of the LongT5 encoder (see the file comment). `config` is the checkpoint's resolved
 * LongT5 config; `weights` maps Hugging Face parameter names (`shared.weight`,
 * `encoder.block.{i}.layer.0.TransientGlobalSelfAttention.q.weight`, …, PyTorch [out, in] layout)
 * to Float32Arrays; decoder weights, if present, are ignored. A missing or wrongly sized tensor is
 * an error naming it.
 */
export function buildLongT5EncoderOnnx(
  config: LongT5EncoderOnnxConfig,
  weights: Readonly<Record<string, Float32Array>> | ReadonlyMap<string, Float32Array>,
  options: LongT5OnnxOptions = {},
): Uint8Array {
  if (config === null || typeof config !== 'object') throw new TypeError('config must be a resolved LongT5 config object');
  if (weights === null || typeof weights !== 'object') throw new TypeError('weights must be an object or Map of name -> Float32Array');
  const opset = checkOnnxOptions(options);
  const type = config.encoder_attention_type;
  if (type !== 'transient-global' && type !== 'local')
    throw new RangeError(`config.encoder_attention_type must be 'transient-global' or 'local', got ${JSON.stringify(type)}`);
  const kind: LongT5OnnxKind = type === 'local' ? 'local' : 'tglobal';
  const module = kind === 'local' ? 'LocalSelfAttention' : 'TransientGlobalSelfAttention';
  const d = resolveLayerDims(kind, config);
  const V = count('vocab_size', config.vocab_size, 1);
  const F = count('d_ff', config.d_ff, 1);
  const layers = count('num_layers', config.num_layers, 0);
  const eps = config.layer_norm_epsilon ?? 1e-6;
  if (typeof eps !== 'number' || !Number.isFinite(eps) || eps < 0)
    throw new RangeError(`config.layer_norm_epsilon must be a finite number >= 0, got ${String(eps)}`);
  const { act, gated } = activationOf(config);
  const { C, H, HD, numBuckets } = d;

  const get = (name: string): Float32Array | undefined =>
    weights instanceof Map ? weights.get(name) : (weights as Readonly<Record<string, Float32Array>>)[name];
  let total = 0;
  const need = (name: string, dims: number[], alias?: string): Float32Array => {
    let w = get(name);
    if (w === undefined && alias !== undefined) w = get(alias);
    const shape = `[${dims.join(', ')}]`;
    if (w === undefined) throw new TypeError(`weights['${name}'] is missing (expected ${shape})`);
    if (!(w instanceof Float32Array) && Object.prototype.toString.call(w) !== '[object Float32Array]')
      throw new TypeError(`weights['${name}'] must be a Float32Array`);
    const n = dims.reduce((a, b) => a * b, 1);
    if (w.length !== n) throw new RangeError(`weights['${name}'] has ${w.length} elements, expected ${shape} = ${n}`);
    total += 4 * n;
    return w;
  };

  // Check every tensor before building anything (and the total against the protobuf limit).
  const embedding = need('shared.weight', [V, C], 'encoder.embed_tokens.weight');
  const attn0 = `encoder.block.0.layer.0.${module}`;
  const relBias = layers > 0 ? need(`${attn0}.relative_attention_bias.weight`, [numBuckets, H]) : undefined;
  const globalBias = layers > 0 && kind === 'tglobal' ? need(`${attn0}.global_relative_attention_bias.weight`, [numBuckets, H]) : undefined;
  const blocks = Array.from({ length: layers }, (_, i) => {
    const b = `encoder.block.${i}`;
    const a = `${b}.layer.0.${module}`;
    const ff = `${b}.layer.1.DenseReluDense`;
    const attention: Record<string, Float32Array> = {
      'q.weight': need(`${a}.q.weight`, [HD, C]),
      'k.weight': need(`${a}.k.weight`, [HD, C]),
      'v.weight': need(`${a}.v.weight`, [HD, C]),
      'o.weight': need(`${a}.o.weight`, [C, HD]),
      'relative_attention_bias.weight': relBias!,
    };
    if (kind === 'tglobal') {
      attention['global_relative_attention_bias.weight'] = globalBias!;
      attention['global_input_layer_norm.weight'] = need(`${a}.global_input_layer_norm.weight`, [C]);
    }
    return {
      attention,
      attentionNorm: need(`${b}.layer.0.layer_norm.weight`, [C]),
      ffNorm: need(`${b}.layer.1.layer_norm.weight`, [C]),
      wi: gated ? [need(`${ff}.wi_0.weight`, [F, C]), need(`${ff}.wi_1.weight`, [F, C])] : [need(`${ff}.wi.weight`, [F, C])],
      wo: need(`${ff}.wo.weight`, [C, F]),
    };
  });
  const finalNorm = need('encoder.final_layer_norm.weight', [C]);
  if (total > MAX_MODEL_BYTES)
    throw new RangeError(
      `the encoder's weights take ${(total / 2 ** 30).toFixed(2)} GiB, more than fits in one ONNX file (2 GiB protobuf limit)`,
    );

  const g = new GraphBuilder(`longt5_encoder_${kind}`);
  // The attention layers' shared state (constants, mask-derived values); none without layers.
  const cx = layers > 0 ? new LongT5Graph(g, d) : undefined;
  const ids = g.addInput('input_ids', 'int64', ['batch', 'sequence']);
  const mask = g.addInput('attention_mask', 'int64', ['batch', 'sequence']);
  g.addOutput('last_hidden_state', 'float32', ['batch', 'sequence', C]);
  const op = (type: string, inputs: string[], attrs: Record<string, unknown> = {}, out?: string) =>
    g.op(type, inputs, attrs as never, out === undefined ? {} : { output: g.uniqueName(out) });
  const constants = new Map<string, string>();
  const constant = (key: string, v: number) => {
    if (!constants.has(key)) constants.set(key, g.constFloat(v, undefined, key));
    return constants.get(key)!;
  };
  const lastAxis = g.constInt64([-1], undefined, 'last_axis');
  const init = (name: string, dims: number[], data: Float32Array) => g.addInitializer(name, tensor('float32', dims, data));
  /** x·Wᵀ for a PyTorch [out, in] weight. */
  const linear = (x: string, name: string, w: Float32Array, out: number, inp: number) =>
    op('MatMul', [x, init(name, [inp, out], transpose(w, out, inp))]);
  /** T5's RMS norm: w * x / sqrt(mean(x²) + eps), no mean subtraction, no bias. */
  const rms = (x: string, name: string, w: Float32Array, out?: string) => {
    const variance = op('ReduceMean', [op('Mul', [x, x]), lastAxis], { keepdims: 1 });
    const normed = op('Div', [x, op('Sqrt', [op('Add', [variance, constant('layer_norm_epsilon', eps)])])]);
    const weight = init(name, [C], w);
    return out === undefined ? op('Mul', [normed, weight], {}, 'normed') : g.op('Mul', [normed, weight], {}, { output: out });
  };
  const activation = (x: string) => {
    if (act === 'relu') return op('Relu', [x]);
    const cube = op('Mul', [op('Mul', [x, x]), x]);
    const inner = op('Mul', [op('Add', [x, op('Mul', [cube, constant('gelu_cubic', 0.044715)])]), constant('gelu_scale', GELU_C)]);
    return op('Mul', [op('Mul', [x, constant('half', 0.5)]), op('Add', [op('Tanh', [inner]), constant('one_float', 1)])], {}, 'gelu_new');
  };

  let h = op('Gather', [init('shared_weight', [V, C], embedding), ids], { axis: 0 }, 'embeddings'); // [B,N,C]
  cx?.setSequence(h, mask);
  blocks.forEach((blk, i) => {
    const p = `block${i}_`;
    const attnOut = attentionLayerGraph(cx!, rms(h, `${p}attention_norm_weight`, blk.attentionNorm), blk.attention, p);
    h = op('Add', [h, attnOut], {}, `block${i}_attention_residual`);
    const x = rms(h, `${p}ff_norm_weight`, blk.ffNorm);
    const inner = gated
      ? op('Mul', [activation(linear(x, `${p}wi_0_t`, blk.wi[0], F, C)), linear(x, `${p}wi_1_t`, blk.wi[1], F, C)])
      : activation(linear(x, `${p}wi_t`, blk.wi[0], F, C));
    h = op('Add', [h, linear(inner, `${p}wo_t`, blk.wo, C, F)], {}, `block${i}_output`);
  });
  rms(h, 'final_layer_norm_weight', finalNorm, 'last_hidden_state');
  const json = JSON.stringify(Object.fromEntries(Object.entries(config).filter(([, v]) => typeof v !== 'function')));
  return g.toModel({
    opsets: { '': opset },
    docString: `LongT5 encoder, ${layers} ${kind} blocks (global-attention lib/onnx/longt5-encoder.ts)`,
    metadata: { kind: `encoder-${kind}`, config: json },
  });
}

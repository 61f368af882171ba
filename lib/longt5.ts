// LongT5 attention layers with Hugging Face's config and weight names (the public API: README.md, "API"):
// LongT5TransientGlobalAttention, LongT5LocalAttention and LongT5Attention (full T5 attention with
// relative bias). One native call per forward: projections, global aggregates, the fused kernel and
// the output projection all run in C++.
import type { NativeLayerArgs } from '../binding';
import { native } from './native';
import { buildLongT5Model, type LongT5OnnxOptions } from './onnx/longt5';
import { SafetensorsFile, readSafetensors, toFloat32 } from './safetensors';
import { AbortOptions, runCancellableOut, takeSignal } from './abort';
import { checkSeqStarts } from './packed';
import { Precision, checkPrecision } from './precision';
import { ADDON_OUT, MaskInput, Tensor, checkMask, checkOptions, checkSize, checkTensor, checkThreads, isFloat32Array } from './tensor';

/** Hugging Face LongT5Config fields the layers use; other fields (a config.json has dozens) are ignored. */
export interface LongT5Config {
  d_model: number;
  d_kv: number;
  num_heads: number;
  local_radius?: number;
  global_block_size?: number;
  relative_attention_num_buckets?: number;
  relative_attention_max_distance?: number;
  layer_norm_epsilon?: number;
  /** Defaults to true here: the bias tables are then required weights. */
  has_relative_attention_bias?: boolean;
  [other: string]: unknown;
}

/** PyTorch state-dict names, [out, in] layout; a Float32Array or a Tensor with those dims. */
export type LongT5Weights = Record<string, Float32Array | Tensor>;

export interface ForwardOptions {
  /** Preallocated output, B·N·d_model floats. */
  out?: Float32Array;
  /** Threads for this call (default: the budget set by setThreads). */
  threads?: number;
  /**
   * A packed batch: hidden is [T, d_model], the tokens of B sequences back to back, and seqStarts
   * (Int32Array [B + 1], 0 ... T, non-decreasing) says where each starts. Each sequence's rows equal
   * a forward() of that sequence alone; no work on padding (there is none: no mask).
   */
  seqStarts?: Int32Array;
  /**
   * 'fp32' (default, float32 throughout), 'bf16' or 'fp16' (lib/precision.ts): the q/k/v/o projections
   * and the attention cores (full, TGlobal, local) multiply in that type with float32 accumulation; the
   * global aggregates' norm and the softmax stay float32.
   */
  precision?: Precision;
}

type Kind = 'tglobal' | 'local' | 'full';

interface ResolvedConfig {
  d_model: number; d_kv: number; num_heads: number;
  local_radius: number; global_block_size: number;
  relative_attention_num_buckets: number; relative_attention_max_distance: number;
  layer_norm_epsilon: number; has_relative_attention_bias: boolean;
}

function resolveConfig(kind: Kind, config: unknown): ResolvedConfig {
  if (config === null || typeof config !== 'object' || Array.isArray(config))
    throw new TypeError('config must be an object with Hugging Face LongT5Config fields');
  const c = config as LongT5Config;
  const int = (key: string, dflt?: number, min = 1) => {
    const x = (c as Record<string, unknown>)[key];
    if (x === undefined && dflt !== undefined) return dflt;
    if (x === undefined) throw new TypeError(`config.${key} is required`);
    return checkSize(`config.${key}`, x, { min, max: 2 ** 30 });
  };
  const eps = c.layer_norm_epsilon ?? 1e-6;
  if (typeof eps !== 'number') throw new TypeError(`config.layer_norm_epsilon must be a number, got ${typeof eps}`);
  if (!Number.isFinite(eps) || eps < 0)
    throw new RangeError(`config.layer_norm_epsilon must be a finite number >= 0, got ${String(eps)}`);
  const hasBias = c.has_relative_attention_bias ?? true;
  if (typeof hasBias !== 'boolean') throw new TypeError('config.has_relative_attention_bias must be a boolean');
  return {
    d_model: int('d_model'),
    d_kv: int('d_kv'),
    num_heads: int('num_heads'),
    local_radius: kind === 'full' ? 0 : int('local_radius', undefined, 0),
    global_block_size: kind === 'tglobal' ? int('global_block_size') : 1,
    relative_attention_num_buckets: int('relative_attention_num_buckets', 32, 2),
    relative_attention_max_distance: int('relative_attention_max_distance', 128),
    layer_norm_epsilon: eps,
    has_relative_attention_bias: hasBias,
  };
}

function weight(weights: LongT5Weights, name: string, dims: number[]): Float32Array {
  const w = weights[name];
  if (w === undefined) throw new TypeError(`weights['${name}'] is missing (expected [${dims.join(', ')}])`);
  const n = dims.reduce((a, b) => a * b, 1);
  if (isFloat32Array(w)) {
    if (w.length !== n) throw new RangeError(`weights['${name}'] has ${w.length} elements, expected [${dims.join(', ')}] = ${n}`);
    return w;
  }
  const t = checkTensor(`weights['${name}']`, w, dims.length);
  if (t.dims.some((d, i) => d !== dims[i]))
    throw new RangeError(`weights['${name}'] has dims [${t.dims.join(', ')}], expected [${dims.join(', ')}]`);
  return t.data;
}

abstract class LongT5AttentionLayer {
  readonly config: Readonly<ResolvedConfig>;
  /** The layer's weights, checked and in PyTorch's [out, in] layout. */
  readonly weights: Readonly<Record<string, Float32Array>>;
  private readonly kind: Kind;

  protected constructor(kind: Kind, config: LongT5Config, weights: LongT5Weights) {
    this.kind = kind;
    const c = resolveConfig(kind, config);
    if (weights === null || typeof weights !== 'object') throw new TypeError('weights must be an object of name -> Float32Array | Tensor');
    const HD = c.num_heads * c.d_kv, C = c.d_model, nb = c.relative_attention_num_buckets;
    if (HD * C > 2 ** 32) throw new RangeError(`num_heads * d_kv * d_model is too large (${HD * C})`);
    const w: Record<string, Float32Array> = {
      'q.weight': weight(weights, 'q.weight', [HD, C]),
      'k.weight': weight(weights, 'k.weight', [HD, C]),
      'v.weight': weight(weights, 'v.weight', [HD, C]),
      'o.weight': weight(weights, 'o.weight', [C, HD]),
      'relative_attention_bias.weight': c.has_relative_attention_bias
        ? weight(weights, 'relative_attention_bias.weight', [nb, c.num_heads])
        : new Float32Array(nb * c.num_heads),
    };
    if (kind === 'tglobal') {
      w['global_relative_attention_bias.weight'] = c.has_relative_attention_bias
        ? weight(weights, 'global_relative_attention_bias.weight', [nb, c.num_heads])
        : new Float32Array(nb * c.num_heads);
      w['global_input_layer_norm.weight'] = weight(weights, 'global_input_layer_norm.weight', [C]);
    }
    this.config = Object.freeze(c);
    this.weights = Object.freeze(w);
  }

  // lazyOut (forwardAsync): without options.out the output is left to the addon (args.out is
  // ADDON_OUT until runCancellableOut hands it over); `n` = the output's length.
  private prepare(hidden: Tensor, mask: MaskInput | undefined, options: ForwardOptions | undefined, lazyOut = false) {
    const c = this.config;
    const o = checkOptions<ForwardOptions>('options', options, ['out', 'threads', 'seqStarts', 'precision']);
    const precision = checkPrecision('options.precision', o.precision);
    const packed = o.seqStarts !== undefined;
    const h = checkTensor('hidden', hidden, packed ? 2 : 3);
    if (packed) h.dims.unshift(1);  // [T, d_model] -> B = 1, N = T
    const [B, N, C] = h.dims;
    if (C !== c.d_model)
      throw new RangeError(`hidden must be ${packed ? '[T, d_model]' : '[B, N, d_model]'} with d_model = ${c.d_model}, got [${h.dims.slice(packed ? 1 : 0).join(', ')}]`);
    const seqStarts = packed ? checkSeqStarts('options.seqStarts', o.seqStarts, N) : undefined;
    if (packed && mask !== undefined) throw new RangeError('mask is not supported with options.seqStarts (a packed batch has no padding)');
    const threads = checkThreads('options.threads', o.threads);
    const n = B * N * C;
    let out: Float32Array;
    if (o.out === undefined) out = lazyOut ? ADDON_OUT : new Float32Array(n);
    else {
      if (!isFloat32Array(o.out)) throw new TypeError('options.out must be a Float32Array');
      if (o.out.length !== n) throw new RangeError(`options.out has ${o.out.length} elements, expected ${n}`);
      if (o.out.buffer === h.data.buffer) throw new RangeError('options.out must not share memory with hidden');
      if (Object.values(this.weights).some((w) => w.buffer === o.out!.buffer))
        throw new RangeError("options.out must not share memory with the layer's weights");
      out = o.out;
    }
    const w = this.weights;
    const args: NativeLayerArgs = {
      kind: this.kind, B, N, dModel: C, H: c.num_heads, dKv: c.d_kv,
      localRadius: c.local_radius, globalBlockSize: c.global_block_size,
      numBuckets: c.relative_attention_num_buckets, maxDistance: c.relative_attention_max_distance, eps: c.layer_norm_epsilon,
      hidden: h.data, out, wq: w['q.weight'], wk: w['k.weight'], wv: w['v.weight'], wo: w['o.weight'],
      relBias: w['relative_attention_bias.weight'], threads,
    };
    if (precision !== 'fp32') args.precision = precision;
    if (this.kind === 'tglobal') {
      args.globalRelBias = w['global_relative_attention_bias.weight'];
      args.globalNormWeight = w['global_input_layer_norm.weight'];
    }
    if (mask !== undefined) args.mask = checkMask('mask', mask, B, N);
    if (seqStarts) {
      args.seqStarts = seqStarts;
      args.seqs = seqStarts.length - 1;
      return { args, n, dims: [N, C] };
    }
    return { args, n, dims: [B, N, C] };
  }

  /** hidden [B, N, d_model], mask [B, N] (1 = token, 0 = padding) → [B, N, d_model]. Padded rows are finite (0 for local/TGlobal). */
  forward(hidden: Tensor, mask?: MaskInput, options?: ForwardOptions): Tensor {
    const { args, dims } = this.prepare(hidden, mask, options);
    if (args.out.length > 0) native.longt5Forward(args);
    return { data: args.out, dims };
  }

  /** forward() off the event loop; rejects (never throws) on bad input. options.signal aborts it (AbortError). */
  async forwardAsync(hidden: Tensor, mask?: MaskInput, options?: ForwardOptions & AbortOptions): Promise<Tensor> {
    const [o, signal] = takeSignal('options', options);
    const { args, n, dims } = this.prepare(hidden, mask, o, true);
    return { data: await runCancellableOut(signal, args, (a) => native.longt5ForwardAsync(a), n > 0), dims };
  }

  /**
   * An ONNX model of this layer (standard ops, opset 18; lib/onnx/longt5.ts): inputs
   * "hidden_states" float32 [B, N, d_model] and "attention_mask" int64 [B, N], output "output"
   * [B, N, d_model]; runs at any B and N. Returns the model bytes.
   */
  toOnnx(options?: LongT5OnnxOptions): Uint8Array {
    return buildLongT5Model(this.kind, this.config, this.weights, options);
  }
}

/** Weights and config of one layer from a .safetensors file: tensors `${prefix}q.weight`, ...; config from the argument or the file's metadata. */
function loadLayer(kind: Kind, path: string, prefix: string | undefined, config: LongT5Config | undefined): { config: LongT5Config; weights: LongT5Weights } {
  if (typeof path !== 'string') throw new TypeError('path must be a string');
  if (prefix !== undefined && typeof prefix !== 'string') throw new TypeError('prefix must be a string');
  const file: SafetensorsFile = readSafetensors(path);
  const p = prefix ?? '';
  let cfg = config;
  if (cfg === undefined) {
    const text = file.metadata['config'];
    if (text === undefined) throw new Error(`${path}: no config given and the file's metadata has no "config" entry`);
    try {
      cfg = JSON.parse(text) as LongT5Config;
    } catch (e) {
      throw new Error(`${path}: metadata "config" is not valid JSON (${(e as Error).message})`);
    }
  }
  const names = ['q.weight', 'k.weight', 'v.weight', 'o.weight', 'relative_attention_bias.weight'];
  if (kind === 'tglobal') names.push('global_relative_attention_bias.weight', 'global_input_layer_norm.weight');
  const weights: LongT5Weights = {};
  for (const n of names) {
    const t = file.tensors.get(p + n);
    if (t === undefined) {
      if (n.includes('relative_attention_bias') && cfg.has_relative_attention_bias === false) continue;
      throw new Error(`${path}: tensor '${p + n}' is missing`);
    }
    if (t.dtype !== 'F32' && t.dtype !== 'F64' && t.dtype !== 'F16' && t.dtype !== 'BF16')
      throw new Error(`${path}: tensor '${p + n}' has dtype ${t.dtype}, expected a float type`);
    weights[n] = { data: toFloat32(t, p + n), dims: t.shape };
  }
  return { config: cfg, weights };
}

/** Hugging Face `LongT5TransientGlobalAttention` (encoder self-attention). */
export class LongT5TransientGlobalAttention extends LongT5AttentionLayer {
  constructor(config: LongT5Config, weights: LongT5Weights) {
    super('tglobal', config, weights);
  }
  static fromSafetensors(path: string, prefix?: string, config?: LongT5Config): LongT5TransientGlobalAttention {
    const l = loadLayer('tglobal', path, prefix, config);
    return new LongT5TransientGlobalAttention(l.config, l.weights);
  }
}

/** Hugging Face `LongT5LocalAttention`: each token sees its neighbours |i − j| <= local_radius. */
export class LongT5LocalAttention extends LongT5AttentionLayer {
  constructor(config: LongT5Config, weights: LongT5Weights) {
    super('local', config, weights);
  }
  static fromSafetensors(path: string, prefix?: string, config?: LongT5Config): LongT5LocalAttention {
    const l = loadLayer('local', path, prefix, config);
    return new LongT5LocalAttention(l.config, l.weights);
  }
}

/** Hugging Face `LongT5Attention`: full self-attention with T5 relative position bias (the dense baseline). */
export class LongT5Attention extends LongT5AttentionLayer {
  constructor(config: LongT5Config, weights: LongT5Weights) {
    super('full', config, weights);
  }
  static fromSafetensors(path: string, prefix?: string, config?: LongT5Config): LongT5Attention {
    const l = loadLayer('full', path, prefix, config);
    return new LongT5Attention(l.config, l.weights);
  }
}

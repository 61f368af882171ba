// Building the native model from a resolved config and a checkpoint's tensors: each expected
// weight (Hugging Face's names) is checked against the config, read from the file, copied into
// native memory, and dropped, so loading needs the model's weights plus one tensor. Every failure
// names the tensor, and the config field when the two disagree.
import * as fs from 'fs';
import * as path from 'path';
import type { NativeModelConfig, NativeModelHandle } from '../../binding';
import { native } from '../native';
import { Precision, checkPrecision } from '../precision';
import { checkOptions } from '../tensor';
import { CheckpointTensors, loadCheckpointTensors } from './checkpoint';
import { ResolvedLongT5ModelConfig, resolveModelConfig } from './config';

export const CONFIG_FILE = 'config.json';

/** Options of fromPretrained / fromSafetensors. */
export interface ModelLoadOptions {
  /**
   * 'fp32' (default: float32 throughout, as Hugging Face's float32 model), 'bf16' or 'fp16': every matrix
   * (attention projections, feed-forward, lm_head, the embedding table) is held in that 16-bit type — half
   * the memory; a BF16 / F16 checkpoint's tensors are kept as stored, never widened — and multiplied in it
   * with float32 accumulation. Norms, softmax, activations, residuals and the attention cores stay float32.
   * Fixed at load: encode/forward/generate run at the model's precision (lib/precision.ts, docs/precision.md).
   */
  precision?: Precision;
}

/** Checks fromPretrained / fromSafetensors options; returns the precision. */
export function checkLoadOptions(options: unknown): Precision {
  const o = checkOptions<ModelLoadOptions>('options', options, ['precision']);
  return checkPrecision('options.precision', o.precision);
}

export function nativeConfig(c: ResolvedLongT5ModelConfig, decoder: boolean, precision: Precision = 'fp32'): NativeModelConfig {
  return {
    vocab: c.vocab_size, dModel: c.d_model, dKv: c.d_kv, heads: c.num_heads, dFf: c.d_ff,
    encoderLayers: c.num_layers, decoderLayers: c.num_decoder_layers,
    localRadius: c.local_radius, globalBlockSize: c.global_block_size,
    numBuckets: c.relative_attention_num_buckets, maxDistance: c.relative_attention_max_distance,
    eps: c.layer_norm_epsilon, transientGlobal: c.encoder_attention_type === 'transient-global',
    gated: c.is_gated_act, activation: c.dense_act_fn, tied: c.tie_word_embeddings, decoder,
    ...(precision !== 'fp32' ? { precision } : {}),
  };
}

// Which config field a shape dimension comes from, for messages.
function shapeFields(c: ResolvedLongT5ModelConfig, name: string): string {
  const f: string[] = [];
  if (name.includes('relative_attention_bias')) f.push(`relative_attention_num_buckets ${c.relative_attention_num_buckets}`, `num_heads ${c.num_heads}`);
  else if (/\.(q|k|v|o)\.weight$/.test(name)) f.push(`num_heads ${c.num_heads} x d_kv ${c.d_kv}`, `d_model ${c.d_model}`);
  else if (name.includes('DenseReluDense')) f.push(`d_ff ${c.d_ff}`, `d_model ${c.d_model}`);
  else if (name === 'shared.weight' || name === 'lm_head.weight') f.push(`vocab_size ${c.vocab_size}`, `d_model ${c.d_model}`);
  else f.push(`d_model ${c.d_model}`);
  return f.join(', ');
}

// Why an expected tensor may be missing: the config says something the checkpoint does not.
function missingHint(c: ResolvedLongT5ModelConfig, name: string, t: CheckpointTensors): string {
  const names = t.names();
  if (name.includes('SelfAttention') && name.startsWith('encoder.')) {
    const other = c.encoder_attention_type === 'local' ? 'TransientGlobalSelfAttention' : 'LocalSelfAttention';
    if (names.some((n) => n.startsWith('encoder.') && n.includes(other)))
      return ` (config.encoder_attention_type is '${c.encoder_attention_type}' but the checkpoint holds ${other} weights)`;
  }
  if (name.includes('DenseReluDense.wi')) {
    const gatedInFile = names.some((n) => n.includes('DenseReluDense.wi_0'));
    if (gatedInFile !== c.is_gated_act)
      return ` (config.feed_forward_proj '${c.feed_forward_proj}' means a ${c.is_gated_act ? 'gated (wi_0, wi_1)' : 'plain (wi)'} feed-forward, but the checkpoint's is ${gatedInFile ? 'gated' : 'plain'})`;
  }
  const m = /^(encoder|decoder)\.block\.(\d+)\./.exec(name);
  if (m && !names.some((n) => n.startsWith(`${m[1]}.block.${m[2]}.`)))
    return ` (config.${m[1] === 'encoder' ? 'num_layers' : 'num_decoder_layers'} is ${m[1] === 'encoder' ? c.num_layers : c.num_decoder_layers} but the checkpoint has no ${m[1]} block ${m[2]})`;
  if (name === 'lm_head.weight') return ' (config.tie_word_embeddings is false, so the checkpoint needs its own lm_head)';
  return '';
}

/**
 * Creates the native model and fills it from `tensors` (closed afterwards, also on failure).
 * decoder false: the encoder half only (decoder tensors in the checkpoint are ignored).
 */
export function loadNativeModel(c: ResolvedLongT5ModelConfig, tensors: CheckpointTensors, decoder: boolean,
                                precision: Precision = 'fp32'): NativeModelHandle {
  const src = tensors.source;
  const handle = native.modelCreate(nativeConfig(c, decoder, precision));
  try {
    // A checkpoint with more blocks than the config says contradicts it (HF would drop weights silently).
    const names = tensors.names();
    for (const [stack, count, field] of [['encoder', c.num_layers, 'num_layers'], ['decoder', c.num_decoder_layers, 'num_decoder_layers']] as const) {
      if (stack === 'decoder' && !decoder) continue;
      const extra = names.find((n) => n.startsWith(`${stack}.block.${count}.`));
      if (extra !== undefined)
        throw new Error(`checkpoint ${src}: tensor '${extra}' belongs to ${stack} block ${count}, but config.${field} is ${count}`);
    }
    for (const { name, shape } of native.modelWeightNames(handle)) {
      let from = name;
      if (!tensors.has(name)) {
        // save_pretrained drops tied duplicates; some exports keep only one of the embeddings.
        const alias = name === 'shared.weight' ? ['encoder.embed_tokens.weight', 'decoder.embed_tokens.weight'].find((a) => tensors.has(a)) : undefined;
        if (alias === undefined) throw new Error(`checkpoint ${src}: tensor '${name}' is missing${missingHint(c, name, tensors)}`);
        from = alias;
      }
      const info = tensors.info(from)!;
      if (info.dtype !== 'F32' && info.dtype !== 'F16' && info.dtype !== 'BF16')
        throw new Error(`checkpoint ${src}: tensor '${from}' has dtype ${info.dtype}; weights must be F32, F16 or BF16`);
      if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i]))
        throw new Error(
          `checkpoint ${src}: tensor '${from}' has shape [${info.shape.join(', ')}] but the config needs [${shape.join(', ')}] (${shapeFields(c, name)})`,
        );
      // A 16-bit model takes a 16-bit tensor's patterns as they are (kept, or converted natively): no float32 copy.
      if (precision !== 'fp32' && (info.dtype === 'BF16' || info.dtype === 'F16')) {
        const t = tensors.readHalf(from);
        native.modelSetWeight(handle, name, t.data, t.dtype);
      } else {
        native.modelSetWeight(handle, name, tensors.read(from).data);
      }
    }
    const missing = native.modelFinalize(handle);
    if (missing.length > 0) throw new Error(`checkpoint ${src}: tensors missing: ${missing.join(', ')}`);
    return handle;
  } catch (e) {
    native.modelDispose(handle);
    throw e;
  } finally {
    tensors.close();
  }
}

/** config.json of a checkpoint folder, parsed and resolved. */
export function readConfigFile(dir: string): ResolvedLongT5ModelConfig {
  if (typeof dir !== 'string' || dir === '') throw new TypeError('dir must be a non-empty string (a checkpoint folder)');
  const file = path.join(dir, CONFIG_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`checkpoint ${dir}: cannot read ${CONFIG_FILE} (${(e as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`checkpoint ${file}: not valid JSON (${(e as Error).message})`);
  }
  try {
    return resolveModelConfig(json);
  } catch (e) {
    (e as Error).message = `${file}: ${(e as Error).message}`;
    throw e;
  }
}

/** fromPretrained's loading: config.json + the folder's weights. */
export function loadPretrained(dir: string, decoder: boolean, options?: unknown): { config: ResolvedLongT5ModelConfig; handle: NativeModelHandle; precision: Precision } {
  const precision = checkLoadOptions(options);
  const config = readConfigFile(dir);
  return { config, handle: loadNativeModel(config, loadCheckpointTensors(dir), decoder, precision), precision };
}

/** fromSafetensors' loading: one .safetensors file (or a shard index) + a config object. */
export function loadSafetensors(file: string, config: unknown, decoder: boolean, options?: unknown): { config: ResolvedLongT5ModelConfig; handle: NativeModelHandle; precision: Precision } {
  if (typeof file !== 'string' || file === '') throw new TypeError('path must be a non-empty string (a .safetensors file)');
  const precision = checkLoadOptions(options);
  const c = resolveModelConfig(config);
  return { config: c, handle: loadNativeModel(c, loadCheckpointTensors(file), decoder, precision), precision };
}

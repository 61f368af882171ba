// LongT5EncoderModel: Hugging Face's LongT5EncoderModel in one native call per forward
// (embedding, every block's RMS norm, TGlobal or local attention, feed-forward and residuals, the
// final norm). The weights live in native memory, copied there once at load.
import type { NativeEncodeArgs, NativeModelHandle } from '../../binding';
import { native } from '../native';
import type { LongT5OnnxOptions } from '../onnx/longt5';
import { buildLongT5EncoderOnnx } from '../onnx/longt5-encoder';
import { Tensor, checkOptions, checkThreads, checkedProduct } from '../tensor';
import type { LongT5ModelConfig, ResolvedLongT5ModelConfig } from './config';
import { abortError, checkSignal, watchAbort } from './abort';
import { AttentionMask, TokenIds, checkAttentionMask, checkTokenIds } from './inputs';
import { ModelLoadOptions, loadPretrained, loadSafetensors } from './load';
import type { Precision } from '../precision';

export interface EncodeOptions {
  /** [B, N] 1 = token, 0 = padding (default: every position is a token). */
  attentionMask?: AttentionMask;
  /** Threads for this call (default: the budget set by setThreads). */
  threads?: number;
  /** encodeAsync: aborting rejects with an Error named 'AbortError' (an already-aborted signal also stops encode). */
  signal?: AbortSignal;
}

/** The checked native arguments of one encode call (options.signal is the caller's to handle). */
export function encodeArgs(handle: NativeModelHandle, config: ResolvedLongT5ModelConfig, inputIds: unknown, options: unknown, name = 'inputIds',
                           maskName = 'options.attentionMask'): NativeEncodeArgs {
  const o = checkOptions<EncodeOptions>('options', options, ['attentionMask', 'threads', 'signal']);
  const { ids, B, N } = checkTokenIds(name, inputIds, config.vocab_size);
  const mask = checkAttentionMask(maskName, o.attentionMask, B, N);
  const out = new Float32Array(checkedProduct('encoder output', [B, N, config.d_model]));
  const args: NativeEncodeArgs = { model: handle, ids, B, N, out, threads: checkThreads('options.threads', o.threads) };
  if (mask) args.mask = mask;
  return args;
}

export const encoderResult = (a: NativeEncodeArgs, config: ResolvedLongT5ModelConfig): Tensor => ({
  data: a.out,
  dims: [a.B, a.N, config.d_model],
});

/** encode() for both model classes: checks, then one native call (sync) or job (async). */
export function runEncode(handle: NativeModelHandle, config: ResolvedLongT5ModelConfig, inputIds: unknown, options: unknown): Tensor {
  const a = encodeArgs(handle, config, inputIds, options);
  const signal = checkSignal('options.signal', (options as EncodeOptions | undefined)?.signal);
  if (signal?.aborted) throw abortError(signal);
  if (a.out.length > 0) native.modelEncode(a);
  return encoderResult(a, config);
}

export async function runEncodeAsync(handle: NativeModelHandle, config: ResolvedLongT5ModelConfig, inputIds: unknown, options: unknown): Promise<Tensor> {
  const a = encodeArgs(handle, config, inputIds, options);
  const signal = checkSignal('options.signal', (options as EncodeOptions | undefined)?.signal);
  if (signal?.aborted) throw abortError(signal);
  const watch = watchAbort(signal);
  try {
    if (a.out.length > 0) await watch.race(native.modelEncodeAsync(a));
  } finally {
    watch.done();
  }
  return encoderResult(a, config);
}

/** The encoder's HF weights (names as in the checkpoint) copied out of native memory, for exporters (ONNX). */
export function encoderWeights(handle: NativeModelHandle): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const { name } of native.modelWeightNames(handle)) {
    if (name.startsWith('decoder.') || name === 'lm_head.weight') continue;
    const w = native.modelGetWeight(handle, name);
    if (w) out.set(name, w);
  }
  return out;
}

/** Hugging Face `LongT5EncoderModel`: token ids -> the encoder's last hidden state. */
export class LongT5EncoderModel {
  /** The resolved configuration (HF field names, defaults applied). */
  readonly config: Readonly<ResolvedLongT5ModelConfig>;
  /** The products' precision, chosen at load (options.precision): 'fp32', 'bf16' or 'fp16'. */
  readonly precision: Precision;
  private readonly handle: NativeModelHandle;

  private constructor(config: ResolvedLongT5ModelConfig, handle: NativeModelHandle, precision: Precision) {
    this.config = Object.freeze({ ...config, eos_token_ids: Object.freeze([...config.eos_token_ids]) as number[] });
    this.handle = handle;
    this.precision = precision;
  }

  /** A Hugging Face checkpoint folder: config.json + model.safetensors (or a sharded index). Decoder weights, if any, are ignored. */
  static fromPretrained(dir: string, options?: ModelLoadOptions): LongT5EncoderModel {
    const { config, handle, precision } = loadPretrained(dir, false, options);
    return new LongT5EncoderModel(config, handle, precision);
  }

  /** One .safetensors file (or a model.safetensors.index.json) with HF names, and the config (config.json's fields). */
  static fromSafetensors(path: string, config: LongT5ModelConfig, options?: ModelLoadOptions): LongT5EncoderModel {
    const r = loadSafetensors(path, config, false, options);
    return new LongT5EncoderModel(r.config, r.handle, r.precision);
  }

  /** inputIds [B, N] -> the last hidden state [B, N, d_model]. Rows at padding positions are finite but meaningless (as in HF). */
  encode(inputIds: TokenIds, options?: EncodeOptions): Tensor {
    return runEncode(this.handle, this.config, inputIds, options);
  }

  /** encode() off the event loop; rejects (never throws) on bad input; options.signal aborts. */
  encodeAsync(inputIds: TokenIds, options?: EncodeOptions): Promise<Tensor> {
    return runEncodeAsync(this.handle, this.config, inputIds, options);
  }

  /** Copies of the encoder's weights under their Hugging Face names (shared.weight, encoder.*). */
  weightsForExport(): Map<string, Float32Array> {
    return encoderWeights(this.handle);
  }

  /**
   * The encoder as an ONNX model of standard ops (opset 18; lib/onnx/longt5-encoder.ts) with this
   * model's weights: inputs "input_ids" and "attention_mask" (int64 [B, N]), output
   * "last_hidden_state" float32 [B, N, d_model] — ONNX Runtime's second opinion on encode().
   */
  toOnnx(options?: LongT5OnnxOptions): Uint8Array {
    return buildLongT5EncoderOnnx(this.config, this.weightsForExport(), options);
  }

  /** Bytes of native memory the weights occupy (about half of float32's with precision 'bf16' / 'fp16'). */
  get weightBytes(): number {
    return native.modelWeightBytes(this.handle);
  }

  /**
   * Bytes of native scratch the model keeps between encoder calls: one forward's buffers, at the
   * largest size seen (reused, so the next call of that size maps and zeroes no fresh pages).
   */
  get scratchBytes(): number {
    return native.modelScratchBytes(this.handle);
  }

  /** Frees that scratch now (e.g. after one very long input); the next call allocates its own again. */
  releaseScratch(): void {
    native.modelReleaseScratch(this.handle);
  }

  /** Frees the native weights now rather than at garbage collection; later calls throw. */
  dispose(): void {
    native.modelDispose(this.handle);
  }
}

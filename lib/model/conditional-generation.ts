// LongT5ForConditionalGeneration: Hugging Face's encoder-decoder model. encode() is the encoder
// (one native call); forward() runs the decoder teacher-forced over all T positions at once;
// generate() encodes once, projects the cross-attention keys/values once, then advances every
// row (and beam) by one native decoder call per token, with the self-attention cache held and
// grown natively.
import type { NativeDecoderStepArgs, NativeModelHandle, NativeSessionHandle } from '../../binding';
import { native } from '../native';
import type { LongT5OnnxOptions } from '../onnx/longt5';
import { buildLongT5EncoderOnnx } from '../onnx/longt5-encoder';
import { Tensor, checkOptions, checkSize, checkTensor, checkThreads, checkedProduct, describe } from '../tensor';
import type { LongT5ModelConfig, ResolvedLongT5ModelConfig } from './config';
import { EncodeOptions, encodeArgs, encoderWeights, runEncode, runEncodeAsync } from './encoder';
import { abortError, checkSignal, watchAbort } from './abort';
import { beamSearch, greedySearch, runSearch, runSearchAsync, GeneratedIds, Search } from './generation';
import { AttentionMask, TokenIds, checkAttentionMask, checkTokenIds } from './inputs';
import { ModelLoadOptions, loadPretrained, loadSafetensors } from './load';
import type { Precision } from '../precision';

export interface ForwardArgs {
  /** Encoder token ids [B, N] (not needed when encoderOutput is given). */
  inputIds?: TokenIds;
  /** Encoder padding mask [B, N]. */
  attentionMask?: AttentionMask;
  /** Teacher-forced decoder input [B, T] (column 0 is usually decoder_start_token_id). */
  decoderInputIds: TokenIds;
  /** The encoder's output [B, N, d_model] (from encode()), to skip running the encoder again. */
  encoderOutput?: Tensor;
  threads?: number;
  /** forwardAsync: aborting rejects with an Error named 'AbortError'. */
  signal?: AbortSignal;
}

export interface GenerateOptions {
  /** Encoder padding mask [B, N] (1 = token, 0 = padding). Absent: as HF's generate, positions holding pad_token_id are padding (unless pad is also eos). */
  attentionMask?: AttentionMask;
  /** Tokens to generate at most per row (required). */
  maxNewTokens: number;
  /** Beam search with this many beams (HF semantics, length_penalty 1.0, early_stopping false); 1 (default) = greedy. */
  numBeams?: number;
  /** Aborting stops generation between decode steps: the call rejects (throws, sync) with an Error named 'AbortError'. */
  signal?: AbortSignal;
  /** Called after every decode step with the number of tokens generated so far per row (1, 2, ...). */
  onProgress?: (tokensSoFar: number) => void;
  threads?: number;
}

const MAX_NEW_TOKENS = 1 << 20;
const MAX_BEAMS = 1024;

interface Prepared {
  encode?: ReturnType<typeof encodeArgs>;
  encoderOutput?: Float32Array;
  mask?: Uint8Array;
  B: number;
  N: number;
  threads: number;
}

/** Hugging Face `LongT5ForConditionalGeneration`: encoder, decoder, LM head and generation. */
export class LongT5ForConditionalGeneration {
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

  /** A Hugging Face checkpoint folder: config.json + model.safetensors (or a sharded model.safetensors.index.json). */
  static fromPretrained(dir: string, options?: ModelLoadOptions): LongT5ForConditionalGeneration {
    const { config, handle, precision } = loadPretrained(dir, true, options);
    return new LongT5ForConditionalGeneration(config, handle, precision);
  }

  /** One .safetensors file (or a shard index .json) with HF names, and the config (config.json's fields). */
  static fromSafetensors(path: string, config: LongT5ModelConfig, options?: ModelLoadOptions): LongT5ForConditionalGeneration {
    const r = loadSafetensors(path, config, true, options);
    return new LongT5ForConditionalGeneration(r.config, r.handle, r.precision);
  }

  /** The encoder's last hidden state [B, N, d_model]. */
  encode(inputIds: TokenIds, options?: EncodeOptions): Tensor {
    return runEncode(this.handle, this.config, inputIds, options);
  }

  /** encode() off the event loop; rejects (never throws) on bad input; options.signal aborts. */
  encodeAsync(inputIds: TokenIds, options?: EncodeOptions): Promise<Tensor> {
    return runEncodeAsync(this.handle, this.config, inputIds, options);
  }

  // ---- forward (teacher forcing) ----------------------------------------------------------

  // where: '' for forward's argument object, 'options.' for generate's options (error messages).
  private prepareEncoder(inputIds: unknown, attentionMask: unknown, encoderOutput: unknown, threads: number, where: string): Prepared {
    if (encoderOutput !== undefined) {
      const e = checkTensor('encoderOutput', encoderOutput, 3);
      const [B, N, C] = e.dims;
      if (C !== this.config.d_model) throw new RangeError(`encoderOutput must be [B, N, d_model ${this.config.d_model}], got [${e.dims.join(', ')}]`);
      if (B < 1 || N < 1) throw new RangeError(`encoderOutput must have B >= 1 and N >= 1, got [${e.dims.join(', ')}]`);
      return { encoderOutput: e.data, mask: checkAttentionMask(`${where}attentionMask`, attentionMask, B, N), B, N, threads };
    }
    if (inputIds === undefined) throw new TypeError('inputIds is required (or encoderOutput)');
    const enc = encodeArgs(this.handle, this.config, inputIds, attentionMask === undefined ? { threads } : { attentionMask, threads }, 'inputIds', `${where}attentionMask`);
    if (enc.B < 1 || enc.N < 1) throw new RangeError(`inputIds must have B >= 1 and N >= 1, got [${enc.B}, ${enc.N}]`);
    return { encode: enc, mask: enc.mask as Uint8Array | undefined, B: enc.B, N: enc.N, threads };
  }

  private prepareForward(args: unknown) {
    if (args === null || typeof args !== 'object' || Array.isArray(args) || ArrayBuffer.isView(args))
      throw new TypeError(`forward takes { inputIds, attentionMask?, decoderInputIds, encoderOutput? }, got ${describe(args)}`);
    const a = checkOptions<ForwardArgs>('forward arguments', args, ['inputIds', 'attentionMask', 'decoderInputIds', 'encoderOutput', 'threads', 'signal']);
    const threads = checkThreads('threads', a.threads);
    const signal = checkSignal('signal', a.signal);
    const enc = this.prepareEncoder(a.inputIds, a.attentionMask, a.encoderOutput, threads, '');
    if (a.decoderInputIds === undefined) throw new TypeError('decoderInputIds is required');
    const dec = checkTokenIds('decoderInputIds', a.decoderInputIds, this.config.vocab_size);
    if (dec.B !== enc.B) throw new RangeError(`decoderInputIds has B = ${dec.B} rows but the encoder input has ${enc.B}`);
    if (dec.N < 1) throw new RangeError('decoderInputIds must have at least one position');
    const logits = new Float32Array(checkedProduct('logits', [dec.B, dec.N, this.config.vocab_size]));
    if (signal?.aborted) throw abortError(signal);
    return { enc, dec, logits, signal };
  }

  private session(p: Prepared, beams: number): NativeSessionHandle {
    return native.decoderCreate({ model: this.handle, B: p.B, N: p.N, beams });
  }

  private startArgs(p: Prepared, session: NativeSessionHandle, encoderOutput: Float32Array) {
    const s = { session, encoderOutput, threads: p.threads } as Parameters<typeof native.decoderStart>[0];
    if (p.mask) s.mask = p.mask;
    return s;
  }

  /** Teacher-forced logits [B, T, vocab] (HF `model(input_ids, attention_mask, decoder_input_ids).logits`). */
  forward(args: ForwardArgs): Tensor {
    const { enc, dec, logits } = this.prepareForward(args);
    let out = enc.encoderOutput;
    if (!out) {
      native.modelEncode(enc.encode!);
      out = enc.encode!.out;
    }
    const session = this.session(enc, 1);
    try {
      native.decoderStart(this.startArgs(enc, session, out));
      native.decoderStep({ session, ids: dec.ids, T: dec.N, logits, lastOnly: false, threads: enc.threads });
    } finally {
      native.decoderDispose(session);
    }
    return { data: logits, dims: [dec.B, dec.N, this.config.vocab_size] };
  }

  /** forward() off the event loop; rejects (never throws) on bad input; signal aborts. */
  async forwardAsync(args: ForwardArgs): Promise<Tensor> {
    const { enc, dec, logits, signal } = this.prepareForward(args);
    const watch = watchAbort(signal);
    let session: NativeSessionHandle | undefined;
    try {
      let out = enc.encoderOutput;
      if (!out) {
        await watch.race(native.modelEncodeAsync(enc.encode!));
        out = enc.encode!.out;
      }
      session = this.session(enc, 1);
      await watch.race(native.decoderStartAsync(this.startArgs(enc, session, out)));
      await watch.race(native.decoderStepAsync({ session, ids: dec.ids, T: dec.N, logits, lastOnly: false, threads: enc.threads }));
    } finally {
      watch.done();
      if (session) native.decoderDispose(session);
    }
    return { data: logits, dims: [dec.B, dec.N, this.config.vocab_size] };
  }

  // ---- generation -------------------------------------------------------------------------

  private prepareGenerate(inputIds: unknown, options: unknown) {
    if (options === undefined || options === null) throw new TypeError('generate needs options with maxNewTokens');
    const o = checkOptions<GenerateOptions>('options', options, ['attentionMask', 'maxNewTokens', 'numBeams', 'signal', 'onProgress', 'threads']);
    if (o.maxNewTokens === undefined) throw new TypeError('options.maxNewTokens is required');
    const maxNewTokens = checkSize('options.maxNewTokens', o.maxNewTokens, { min: 0, max: MAX_NEW_TOKENS });
    const beams = o.numBeams === undefined ? 1 : checkSize('options.numBeams', o.numBeams, { min: 1, max: MAX_BEAMS });
    if (o.onProgress !== undefined && typeof o.onProgress !== 'function')
      throw new TypeError(`options.onProgress must be a function, got ${describe(o.onProgress)}`);
    const threads = checkThreads('options.threads', o.threads);
    let attentionMask: unknown = o.attentionMask;
    if (attentionMask === undefined) {
      // HF generate() without an attention_mask masks the pad tokens of the input (when pad is not
      // also eos): _prepare_attention_mask_for_generation.
      const c = this.config;
      const { ids, B, N } = checkTokenIds('inputIds', inputIds, c.vocab_size);
      if (!c.eos_token_ids.includes(c.pad_token_id) && ids.includes(c.pad_token_id))
        attentionMask = { data: Uint8Array.from(ids, (x) => (x === c.pad_token_id ? 0 : 1)), dims: [B, N] };
    }
    const enc = this.prepareEncoder(inputIds, attentionMask, undefined, threads, 'options.');
    const c = this.config;
    const params = { B: enc.B, beams, vocab: c.vocab_size, maxNewTokens, startId: c.decoder_start_token_id, padId: c.pad_token_id, eosIds: c.eos_token_ids };
    const search: Search = beams === 1 ? greedySearch(params) : beamSearch(params);
    const R = enc.B * beams;
    const stepArgs = (session: NativeSessionHandle, ids: Int32Array, reorder: Int32Array | undefined): NativeDecoderStepArgs => {
      const a: NativeDecoderStepArgs = { session, ids, T: 1, logits: new Float32Array(R * c.vocab_size), lastOnly: true, threads };
      if (reorder) a.reorder = reorder;
      return a;
    };
    const signal = checkSignal('options.signal', o.signal);
    const onProgress = o.onProgress;
    const onStep = (n: number) => {
      if (signal?.aborted) throw abortError(signal);
      onProgress?.(n);
      if (signal?.aborted) throw abortError(signal);
    };
    return { enc, beams, search, stepArgs, signal, onStep };
  }

  /**
   * Generates token ids as HF's `generate` does (greedy, or beam search with numBeams > 1):
   * `{ data, dims: [B, S] }`, column 0 = decoder_start_token_id, rows that finished early padded
   * with pad_token_id.
   */
  generate(inputIds: TokenIds, options: GenerateOptions): GeneratedIds {
    const g = this.prepareGenerate(inputIds, options);
    if (g.signal?.aborted) throw abortError(g.signal);
    let out = g.enc.encoderOutput;
    if (!out) {
      native.modelEncode(g.enc.encode!);
      out = g.enc.encode!.out;
    }
    const session = this.session(g.enc, g.beams);
    try {
      native.decoderStart(this.startArgs(g.enc, session, out));
      return runSearch(
        g.search,
        {
          step: (ids, reorder) => {
            const a = g.stepArgs(session, ids, reorder);
            native.decoderStep(a);
            return a.logits;
          },
        },
        g.onStep,
      );
    } finally {
      native.decoderDispose(session);
    }
  }

  /**
   * generate() off the event loop: each decode step is one native job. options.signal aborts
   * between steps (and rejects at once if already aborted, or while a step is in flight: the
   * running step finishes in the background and its result is dropped).
   */
  async generateAsync(inputIds: TokenIds, options: GenerateOptions): Promise<GeneratedIds> {
    const g = this.prepareGenerate(inputIds, options);
    const signal = g.signal;
    if (signal?.aborted) throw abortError(signal);
    const watch = watchAbort(signal);
    let session: NativeSessionHandle | undefined;
    try {
      let out = g.enc.encoderOutput;
      if (!out) {
        await watch.race(native.modelEncodeAsync(g.enc.encode!));
        out = g.enc.encode!.out;
      }
      session = this.session(g.enc, g.beams);
      const s = session;
      await watch.race(native.decoderStartAsync(this.startArgs(g.enc, s, out)));
      return await runSearchAsync(
        g.search,
        {
          step: async (ids, reorder) => {
            const a = g.stepArgs(s, ids, reorder);
            await watch.race(native.decoderStepAsync(a));
            return a.logits;
          },
        },
        g.onStep,
      );
    } finally {
      watch.done();
      if (session) native.decoderDispose(session);
    }
  }

  /** Copies of the encoder's weights under their Hugging Face names (shared.weight, encoder.*), for exporters. */
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

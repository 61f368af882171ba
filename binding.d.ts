// Typings of the raw native addon (build/Release/global_attention.node). Not public API: the
// TypeScript facade in lib/ validates and normalises every argument before calling these.

export interface NativeInfo {
  isa: string;
  vectorWidth: number;
  availableIsas: string[];
  threads: number;
  hardwareThreads: number;
  openmp: boolean;
  arch: string;
  isaOverrideError?: string;
  /** Native reduced-precision kernel sets this CPU and build run (lib/precision.ts). */
  reducedPrecision: string[];
  /** The set precision 'bf16' runs on now, or 'emulated'. */
  reducedPrecisionIsa: string;
  /** What the CPU reports (run-time detection), whether or not a kernel uses it. */
  reducedPrecisionCpu: NativeReducedPrecisionCpu;
  reducedPrecisionOverrideError?: string;
}

export interface NativeLinearReducedArgs {
  x: Float32Array; out: Float32Array; M: number; K: number; N: number; threads?: number;
  precision?: 'bf16' | 'fp16';          // default 'bf16'
  w?: Float32Array;                     // [N, K] float32, or
  w16?: Uint16Array;                    // [N, K] bit patterns of the precision's type
  cancel?: NativeCancelToken;
}

export interface NativeReducedPrecisionCpu {
  avx512bf16: boolean; avx512fp16: boolean; f16c: boolean;
  amxBf16: boolean; amxPermission: boolean;  // amxPermission: granted to this process (asked only when an AMX kernel set needs it)
  armBf16: boolean; armFp16: boolean; armAsimdhp: boolean; armFhm: boolean;
}

export type NativeMask = Uint8Array | Int32Array;

export interface NativeDenseArgs {
  q: Float32Array; k: Float32Array; v: Float32Array; out: Float32Array;   // q, k, v unused (empty) with halfType
  B: number; H: number; Hk: number; Nq: number; Nk: number; D: number; Dv: number;
  scale: number;
  causal: boolean;
  layout?: 'bnhd' | 'bhnd';             // default 'bhnd'; 'bnhd': q [B,Nq,H,D], k/v [B,Nk,Hk,·], out [B,Nq,H,Dv]
  keyMask?: NativeMask;                 // [B, Nk]
  bias?: Float32Array;                  // shape biasDims, each dim 1 or full
  biasDims?: [number, number, number, number];
  weights?: Float32Array;               // optional output [B, H, Nq, Nk]: the probabilities
  threads?: number;                     // 0 or absent = the whole budget
  path?: 'auto' | 'flash' | 'decode';   // tests and benches: force a kernel ('auto' = by Nq)
  kvCapacity?: number;                  // k/v are KVCache storage [B, Hk, kvCapacity, D]: the first Nk rows per head are used
  kvFormat?: 'float16' | 'bfloat16';    // with kvCapacity: k/v are Uint16Array storage (the decode kernel widens them in its loads)
  cancel?: NativeCancelToken;           // async: stops the call when set (cancelToken)
  precision?: 'fp32' | 'bf16' | 'fp16'; // default 'fp32' (lib/precision.ts)
  // The standard operator's options (lib/attention-options.ts):
  softcap?: number;                     // > 0: scores become softcap * tanh(s / softcap) before bias and masks
  causalOffset?: number;                // diagonal p = i + causalOffset for causal and the window (default Nk - Nq)
  causalOffsets?: Int32Array;           // [B]: one diagonal offset per batch (instead of causalOffset)
  windowLeft?: number;                  // key j allowed iff p - windowLeft <= j; -1 = open
  windowRight?: number;                 // key j allowed iff j <= p + windowRight; -1 = open
  keyLengths?: Int32Array;              // [B], each in [0, Nk]: keys j >= keyLengths[b] excluded
  scores?: Float32Array;                // optional output [B, H, Nq, Nk]: the scores at scoresStage
  scoresStage?: number;                 // 0 matmul, 1 softcapped, 2 masked, 3 softmax (ONNX qk_matmul_output_mode)
  lse?: Float32Array;                   // optional output [B, H, Nq]: per-row log-sum-exp (natural log)
  relTable?: Float32Array;              // T5 relative_attention_bias.weight [relNumBuckets, H]: bias by bucket(j - (i + offset))
  relNumBuckets?: number;
  relMaxDistance?: number;
  relBidirectional?: boolean;           // default true
  halfType?: 'float16' | 'bfloat16';    // q, k, v given as qHalf, kHalf, vHalf bits; out: ceil(n/2) floats whose bytes get n halves
  qHalf?: Uint16Array; kHalf?: Uint16Array; vHalf?: Uint16Array;
}

/** Dense attention over a packed batch: q [T,H,D], k [Tk,Hk,D], v [Tk,Hk,Dv], out [T,H,Dv]. */
export interface NativeDensePackedArgs {
  q: Float32Array; k: Float32Array; v: Float32Array; out: Float32Array;
  T: number; Tk: number; H: number; Hk: number; D: number; Dv: number;
  seqs: number;
  seqStarts: Int32Array;                // [seqs + 1], 0 ... T, non-decreasing
  keySeqStarts: Int32Array;             // [seqs + 1], 0 ... Tk, non-decreasing
  scale: number;
  causal: boolean;                      // per sequence, bottom-right
  threads?: number;
  path?: 'auto' | 'flash';              // tests: 'flash' keeps short sequences off the decode kernel
  cancel?: NativeCancelToken;
}

/** An opaque token (newCancelToken): set by cancelToken(), polled by the running call. */
export type NativeCancelToken = { readonly __nativeCancelToken: unique symbol };

export interface NativeTGlobalArgs {
  q: Float32Array; k: Float32Array; v: Float32Array; out: Float32Array;
  globalK: Float32Array; globalV: Float32Array;
  B: number; H: number; N: number; D: number; Dv: number; G: number;
  radius: number;
  scale: number;
  layout?: 'bnhd' | 'bhnd';             // default 'bhnd'
  mask?: NativeMask;                    // [B, N]
  globalValid?: NativeMask;             // [B, G]
  localBias?: Float32Array;             // [H, 2r+1] by (j - i + r)
  globalBias?: Float32Array;            // [H, 2G+1] by (m - blockIds[i] + G); needs blockIds
  blockIds?: Int32Array;                // [B, N]
  weights?: Float32Array;               // optional output [B, H, N, N + G]: local columns, then globals (fp32 only)
  precision?: 'fp32' | 'bf16' | 'fp16'; // the products' type (lib/precision.ts); default fp32
  threads?: number;
  cancel?: NativeCancelToken;
}

export interface NativeTGlobalBatchArgs {
  calls: NativeTGlobalArgs[];           // each call's own threads and cancel are ignored; one precision for all
  threads?: number;
  cancel?: NativeCancelToken;
}

export interface NativeBlockGlobalArgs {
  q: Float32Array; k: Float32Array; v: Float32Array; out: Float32Array;   // [B, H, N, D]
  B: number; H: number; N: number; D: number; Dv: number;
  blockSize: number;
  scale: number;
  weights?: Float32Array;               // optional output [B, H, N, N + N/blockSize]
  threads?: number;
  cancel?: NativeCancelToken;
}

/**
 * Any async call's arguments with `out` left to the addon (`allocateOutputs: true`; every async entry point
 * reads its outputs through the same code): it allocates the output, the job writes it in place (no
 * JavaScript can reach it until the call has succeeded), and the promise resolves with it as `{ out }`
 * (binding/call_buffers.h; lib/abort.ts runCancellableOut). Spares the main thread zeroing a private copy and
 * copying it back into a fresh array.
 */
export type WithAllocatedOut<A> = Omit<A, 'out'> & { allocateOutputs: true };
/** What an async call with `allocateOutputs: true` resolves with: the outputs the addon allocated. */
export interface AllocatedOutputs {
  out?: Float32Array;
}

export interface NativeLayerArgs {
  kind: 'tglobal' | 'local' | 'full';
  B: number; N: number; dModel: number; H: number; dKv: number;
  localRadius?: number; globalBlockSize?: number;
  numBuckets: number; maxDistance: number; eps?: number;
  hidden: Float32Array; out: Float32Array; mask?: NativeMask;
  wq: Float32Array; wk: Float32Array; wv: Float32Array; wo: Float32Array;
  relBias: Float32Array; globalRelBias?: Float32Array; globalNormWeight?: Float32Array;
  threads?: number;
  cancel?: NativeCancelToken;
  seqs?: number; seqStarts?: Int32Array;  // a packed batch: B = 1, N = T, hidden [T, d_model]; no mask
  precision?: 'fp32' | 'bf16' | 'fp16';   // the products' type (lib/precision.ts); default fp32
}

// ---- the whole LongT5 model (native/binding/model_binding.cc) ----------------------------------

/** Opaque handles (type-tagged N-API externals). */
export type NativeModelHandle = { readonly __nativeModel: unique symbol };
export type NativeSessionHandle = { readonly __nativeSession: unique symbol };

export interface NativeModelConfig {
  vocab: number; dModel: number; dKv: number; heads: number; dFf: number;
  encoderLayers: number; decoderLayers: number;
  localRadius: number; globalBlockSize: number; numBuckets: number; maxDistance: number; eps: number;
  transientGlobal: boolean; gated: boolean; activation: 'relu' | 'gelu_new'; tied: boolean;
  /** false: the encoder alone (no decoder weights expected). */
  decoder: boolean;
  /** 'bf16' / 'fp16': matrices held in that 16-bit type and multiplied in it (default 'fp32'). */
  precision?: 'fp32' | 'bf16' | 'fp16';
}

export interface NativeEncodeArgs {
  model: NativeModelHandle;
  ids: Int32Array;                      // [B, N], each in [0, vocab)
  mask?: NativeMask;                    // [B, N]
  B: number; N: number;
  out: Float32Array;                    // [B, N, dModel]
  threads?: number;
}

export interface NativeDecoderStartArgs {
  session: NativeSessionHandle;
  encoderOutput: Float32Array;          // [B, N, dModel]
  mask?: NativeMask;                    // [B, N] encoder padding (excluded from cross-attention)
  threads?: number;
}

export interface NativeDecoderStepArgs {
  session: NativeSessionHandle;
  ids: Int32Array;                      // [R, T], R = B * beams
  T: number;
  logits: Float32Array;                 // [R, T, vocab], or [R, vocab] with lastOnly
  lastOnly?: boolean;
  reorder?: Int32Array;                 // [R]: before the step, row r's cache becomes old row reorder[r]
  threads?: number;
}

export interface NativeBinding {
  info(): NativeInfo;
  setThreads(n: number): number;
  setIsa(name: string): string;
  measureFmaPeak(seconds: number): number;
  /**
   * GFLOP/s of the attention kernel's Q·Kᵀ and P·V micro-kernels on L1-resident operands, one thread,
   * active ISA, `seconds` each (bench only): the products' own ceiling, beside measureFmaPeak.
   */
  measureMicrokernels(seconds: number): { qk: number; pv: number };
  /** Asks for transparent huge pages under a freshly allocated buffer (Linux; a hint): whether one was advised. */
  adviseHugePages(array: ArrayBufferView | ArrayBuffer): boolean;
  /** Bytes async calls have copied so far, process-wide (arrays on a SharedArrayBuffer are used in place). */
  asyncCopiedBytes(): number;
  denseAttention(args: NativeDenseArgs): void;
  denseAttentionAsync(args: NativeDenseArgs): Promise<void>;
  denseAttentionAsync(args: WithAllocatedOut<NativeDenseArgs>): Promise<AllocatedOutputs>;
  tglobalAttention(args: NativeTGlobalArgs): void;
  tglobalAttentionAsync(args: NativeTGlobalArgs): Promise<void>;
  /** Several TGlobal calls (same D, Dv; no weights) in one job whose threads balance across them (a packed batch). */
  tglobalAttentionBatch(args: NativeTGlobalBatchArgs): void;
  tglobalAttentionBatchAsync(args: NativeTGlobalBatchArgs): Promise<void>;
  blockGlobalAttention(args: NativeBlockGlobalArgs): void;
  blockGlobalAttentionAsync(args: NativeBlockGlobalArgs): Promise<void>;
  globalBlockIds(args: { mask?: NativeMask; B: number; N: number; g: number; blockIds: Int32Array; segmentIds: Int32Array }): void;
  relativePositionBuckets(args: { relative: Int32Array; numBuckets: number; maxDistance: number; out: Int32Array; bidirectional?: boolean }): void;
  /** The TGlobal core's capped window and per-head bias tables ([H, 2r+1] local, [H, 2G+1] global), built natively. */
  tglobalBiasTables(args: {
    H: number; N: number; G: number; radius: number; numBuckets: number; globalNumBuckets?: number; maxDistance: number;
    relativeAttentionBias?: Float32Array; globalRelativeAttentionBias?: Float32Array;
  }): { radius: number; localBias?: Float32Array; globalBias?: Float32Array };
  globalAggregates(args: { x: Float32Array; B: number; N: number; C: number; blockIds: Int32Array; G: number; normWeight?: Float32Array; eps: number; out: Float32Array }): void;
  linear(args: { x: Float32Array; w: Float32Array; out: Float32Array; M: number; K: number; N: number; threads?: number }): void;
  linearAsync(args: { x: Float32Array; w: Float32Array; out: Float32Array; M: number; K: number; N: number; threads?: number; cancel?: NativeCancelToken }): Promise<void>;
  longt5Forward(args: NativeLayerArgs): void;
  longt5ForwardAsync(args: NativeLayerArgs): Promise<void>;
  longt5ForwardAsync(args: WithAllocatedOut<NativeLayerArgs>): Promise<AllocatedOutputs>;
  denseAttentionPacked(args: NativeDensePackedArgs): void;
  denseAttentionPackedAsync(args: NativeDensePackedArgs): Promise<void>;
  /** A fresh cancel token for one async call (its `cancel` field). */
  newCancelToken(): NativeCancelToken;
  /** Sets the token: the call it was given to stops and rejects with an Error named 'AbortError'. */
  cancelToken(token: NativeCancelToken): void;
  /** 'auto' | 'emulated' | native sets of info().reducedPrecision (several joined by '+'); returns the sets in use. */
  setReducedPrecisionIsa(name: string): string;
  /** linear with bfloat16 products (lib/precision.ts); the weight as float32 (w) or bfloat16 bit patterns (w16). */
  linearReduced(args: NativeLinearReducedArgs): void;
  linearReducedAsync(args: NativeLinearReducedArgs): Promise<void>;
  modelCreate(config: NativeModelConfig): NativeModelHandle;
  /** Every weight the model expects (Hugging Face names), in model order. */
  modelWeightNames(model: NativeModelHandle): { name: string; shape: number[] }[];
  /** Copies one weight into native memory (before modelFinalize). */
  modelSetWeight(model: NativeModelHandle, name: string, data: Float32Array): void;
  /** The same from a BF16 / F16 tensor's bit patterns: kept in 16 bits by a model of that precision, widened otherwise. */
  modelSetWeight(model: NativeModelHandle, name: string, data: Uint16Array, dtype: 'BF16' | 'F16'): void;
  /** Bytes of native memory the model's weights occupy. */
  modelWeightBytes(model: NativeModelHandle): number;
  /** Bytes of encoder scratch the model keeps between calls (one forward's, at the largest size seen). */
  modelScratchBytes(model: NativeModelHandle): number;
  /** Frees that scratch now; calls in flight keep theirs, the next call allocates again. */
  modelReleaseScratch(model: NativeModelHandle): void;
  /** Names of weights still missing; [] means the model is ready (and now immutable). */
  modelFinalize(model: NativeModelHandle): string[];
  /** A copy of one weight, or undefined if the model has none of that name (or it is unset). */
  modelGetWeight(model: NativeModelHandle, name: string): Float32Array | undefined;
  /** Frees the weights now (calls in flight keep them until they end). */
  modelDispose(model: NativeModelHandle): void;
  modelEncode(args: NativeEncodeArgs): void;
  modelEncodeAsync(args: NativeEncodeArgs): Promise<void>;
  decoderCreate(args: { model: NativeModelHandle; B: number; N: number; beams: number }): NativeSessionHandle;
  decoderStart(args: NativeDecoderStartArgs): void;
  decoderStartAsync(args: NativeDecoderStartArgs): Promise<void>;
  decoderStep(args: NativeDecoderStepArgs): void;
  decoderStepAsync(args: NativeDecoderStepArgs): Promise<void>;
  /** Beam search: row r's cache becomes old row rows[r]. */
  decoderReorder(args: { session: NativeSessionHandle; rows: Int32Array }): void;
  decoderLength(session: NativeSessionHandle): number;
  decoderDispose(session: NativeSessionHandle): void;
}

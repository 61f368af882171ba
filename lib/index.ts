// global-attention: the public surface. Everything users import comes through here.
export type { Tensor, MaskInput, AttentionResult, AttentionResultWithWeights, Layout } from './tensor';
export { attention, attentionAsync } from './dense';
export type { AttentionOptions } from './dense';
export type { PackedAttentionOptions } from './packed';
export type { ScoreStage, StandardAttentionOptions, StandardAttentionOutputs, RelativeBias, WithStandardOutputs } from './attention-options';
export type { HalfTensor, HalfType } from './half';
export type { HalfAttentionResult } from './dense';
export { onnxAttention, onnxAttentionAsync } from './onnx-attention';
export type {
  OnnxAttentionInputs, OnnxAttentionAttributes, OnnxAttentionOptions, OnnxAttentionResult, OnnxAttentionOutputName, OnnxFloatTensor,
  OnnxBoolTensor, OnnxLengths,
} from './onnx-attention';
export { info, setThreads, setIsa } from './runtime';
export type { AbortOptions } from './abort';
export type { Info } from './runtime';
export { linear, linearAsync } from './linear';
export type { LinearOptions } from './linear';
export { setReducedPrecisionIsa, toBf16 } from './precision';
export type { Precision, Bf16Tensor, Fp16Tensor } from './precision';
export {
  globalAggregates, globalBlockIds, relativePositionBuckets, transientGlobalAttention, transientGlobalAttentionAsync, blockGlobalAttention,
  blockGlobalAttentionAsync,
} from './tglobal';
export type { GlobalBlockIdsResult, TransientGlobalAttentionOptions, BlockGlobalAttentionOptions } from './tglobal';
export { LongT5TransientGlobalAttention, LongT5LocalAttention, LongT5Attention } from './longt5';
export type { LongT5Config, LongT5Weights, ForwardOptions } from './longt5';
export { readSafetensors, writeSafetensors } from './safetensors';
export { crossCheck } from './crosscheck';
export type { CrossCheckTarget, CrossCheckInputs, CrossCheckReport, CrossCheckOutputReport } from './crosscheck';
export { exportOnnx } from './onnx/longt5';
export type { LongT5OnnxOptions } from './onnx/longt5';
export { KVCache, KVCacheView } from './kv-cache';
export type { KVCacheOptions } from './kv-cache';
export { LongT5EncoderModel } from './model/encoder';
export type { EncodeOptions } from './model/encoder';
export { LongT5ForConditionalGeneration } from './model/conditional-generation';
export type { ForwardArgs, GenerateOptions } from './model/conditional-generation';
export type { GeneratedIds } from './model/generation';
export type { ModelLoadOptions } from './model/load';
export type { TokenIds, AttentionMask } from './model/inputs';
export { resolveModelConfig } from './model/config';
export type { LongT5ModelConfig, ResolvedLongT5ModelConfig } from './model/config';
export { loadCheckpointTensors } from './model/checkpoint';
export type { CheckpointTensors, CheckpointTensor } from './model/checkpoint';

// lib/onnx: a dependency-free ONNX model writer, graphs of standard ops (dense attention, the LongT5
// attention layers, the whole LongT5 encoder), and a runner for onnxruntime-node (loaded lazily,
// only by run.ts).
export { ProtoWriter, WireType, littleEndianBytes } from './protobuf';
export type { Int64Like } from './protobuf';
export {
  GraphBuilder, DataType, AttributeType, TypedAttr, attr, tensor, dataTypeOf, encodeTensor, encodeValueInfo,
  encodeAttribute, encodeNode, DEFAULT_OPSET,
} from './model';
export type { ElemType, TensorData, TensorValue, Dim, ValueInfo, AttrValue, NodeSpec, Opsets, ModelOptions, AddNodeOptions } from './model';
export { buildDenseAttentionModel, MASKED_SCORE } from './dense';
export type { DenseOnnxSpec } from './dense';
export { OnnxSession, runOnnx, OnnxRuntimeUnavailableError, isOnnxRuntimeUnavailable } from './run';
export type { OnnxSessionOptions, OnnxFeed, OnnxOutput } from './run';
export { buildLongT5Model, exportOnnx, LONGT5_MASKED_SCORE } from './longt5';
export type { LongT5OnnxKind, LongT5OnnxConfig, LongT5OnnxOptions, OnnxExportable } from './longt5';
export { buildLongT5EncoderOnnx } from './longt5-encoder';
export type { LongT5EncoderOnnxConfig } from './longt5-encoder';
export { t5RelativeBucket, t5SaturationDistance, t5BiasByDistance } from './t5-buckets';

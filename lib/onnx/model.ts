// ONNX message builders (field numbers from onnx/onnx.proto) and GraphBuilder, a small helper
// for writing graphs by hand: SSA value names, topological order and opset imports are checked
// as the graph is built, so a mistake is reported where it is made, not by a runtime later.
import { Int64Like, ProtoWriter, littleEndianBytes } from './protobuf';

// ---------------------------------------------------------------------------------------------
// Element types

/** TensorProto.DataType values. */
export const DataType = {
  UNDEFINED: 0, FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9,
  FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, BFLOAT16: 16,
} as const;

/** Element types by the names onnxruntime's Tensor uses. */
export type ElemType =
  | 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32'
  | 'int64' | 'uint64' | 'bool';

const ELEM: Record<ElemType, number> = {
  float32: DataType.FLOAT, float64: DataType.DOUBLE, float16: DataType.FLOAT16, bfloat16: DataType.BFLOAT16,
  int8: DataType.INT8, uint8: DataType.UINT8, int16: DataType.INT16, uint16: DataType.UINT16, int32: DataType.INT32,
  uint32: DataType.UINT32, int64: DataType.INT64, uint64: DataType.UINT64, bool: DataType.BOOL,
};

/** The TensorProto.DataType number of an element type name. */
export function dataTypeOf(type: ElemType): number {
  const t = ELEM[type];
  if (t === undefined) throw new TypeError(`unknown ONNX element type '${String(type)}' (known: ${Object.keys(ELEM).join(', ')})`);
  return t;
}

// ---------------------------------------------------------------------------------------------
// Tensors (TensorProto)

export type TensorData =
  | Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array
  | BigInt64Array | BigUint64Array | readonly number[] | readonly bigint[] | readonly boolean[];

/** A constant tensor: initializer or TENSOR attribute. float16/bfloat16 data are raw 16-bit patterns. */
export interface TensorValue {
  type: ElemType;
  dims: readonly number[];
  data: TensorData;
}

/** Shorthand for a TensorValue. */
export function tensor(type: ElemType, dims: readonly number[], data: TensorData): TensorValue {
  return { type, dims, data };
}

function isTensorValue(x: unknown): x is TensorValue {
  return x !== null && typeof x === 'object' && 'dims' in x && 'data' in x && 'type' in x;
}

function numel(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** The tensor's elements as little-endian bytes for raw_data, after checking count and type. */
function rawData(where: string, t: TensorValue): Uint8Array {
  dataTypeOf(t.type);
  t.dims.forEach((d, i) => {
    if (!Number.isSafeInteger(d) || d < 0) throw new RangeError(`${where}: dims[${i}] = ${d} is not a size`);
  });
  const n = numel(t.dims);
  if (t.data.length !== n)
    throw new RangeError(`${where}: ${t.data.length} values for dims [${t.dims.join(', ')}] (needs ${n})`);
  const src = t.data as ArrayLike<number | bigint | boolean>;
  const num = (x: number | bigint | boolean): number => (typeof x === 'boolean' ? (x ? 1 : 0) : Number(x));
  const big = (x: number | bigint | boolean): bigint => {
    if (typeof x === 'bigint') return x;
    const v = num(x);
    if (!Number.isSafeInteger(v)) throw new RangeError(`${where}: ${v} is not an integer`);
    return BigInt(v);
  };
  switch (t.type) {
    case 'float32': return littleEndianBytes(t.data instanceof Float32Array ? t.data : Float32Array.from(src, num));
    case 'float64': return littleEndianBytes(t.data instanceof Float64Array ? t.data : Float64Array.from(src, num));
    case 'int8': return littleEndianBytes(t.data instanceof Int8Array ? t.data : Int8Array.from(src, num));
    case 'uint8': return littleEndianBytes(t.data instanceof Uint8Array ? t.data : Uint8Array.from(src, num));
    case 'bool': return Uint8Array.from(src, (x) => (num(x) !== 0 ? 1 : 0));
    case 'int16': return littleEndianBytes(t.data instanceof Int16Array ? t.data : Int16Array.from(src, num));
    case 'float16':
    case 'bfloat16':
    case 'uint16': return littleEndianBytes(t.data instanceof Uint16Array ? t.data : Uint16Array.from(src, num));
    case 'int32': return littleEndianBytes(t.data instanceof Int32Array ? t.data : Int32Array.from(src, num));
    case 'uint32': {
      const a = Uint32Array.from(src, num);
      const out = new Uint8Array(a.length * 4);
      const dv = new DataView(out.buffer);
      a.forEach((x, i) => dv.setUint32(i * 4, x, true));
      return out;
    }
    case 'int64': return littleEndianBytes(t.data instanceof BigInt64Array ? t.data : BigInt64Array.from(src, big));
    case 'uint64': {
      const out = new Uint8Array(n * 8);
      const dv = new DataView(out.buffer);
      for (let i = 0; i < n; i++) dv.setBigUint64(i * 8, BigInt.asUintN(64, big(src[i])), true);
      return out;
    }
  }
}

/** TensorProto bytes: dims = 1, data_type = 2, name = 8, raw_data = 9. */
export function encodeTensor(t: TensorValue, name?: string, where = name ?? 'tensor'): Uint8Array {
  const raw = rawData(where, t);
  const w = new ProtoWriter(raw.length + 32);
  for (const d of t.dims) w.varint(1, d);
  w.varint(2, dataTypeOf(t.type));
  if (name !== undefined) w.string(8, name);
  w.bytes(9, raw);
  return w.finish();
}

// ---------------------------------------------------------------------------------------------
// Value infos (ValueInfoProto / TypeProto / TensorShapeProto)

/** A dimension: a fixed size, a symbolic name (dim_param), or null for unknown. */
export type Dim = number | string | null;

export interface ValueInfo {
  name: string;
  type: ElemType;
  /** Omit for unknown rank. */
  shape?: readonly Dim[];
}

/** ValueInfoProto bytes: name = 1, type = 2 (TypeProto.tensor_type = 1: elem_type = 1, shape = 2). */
export function encodeValueInfo(v: ValueInfo): Uint8Array {
  const w = new ProtoWriter();
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tt) => {
      tt.varint(1, dataTypeOf(v.type));
      if (v.shape === undefined) return;
      tt.message(2, (shape) => {
        v.shape!.forEach((d, i) =>
          shape.message(1, (dim) => {
            if (d === null) return;
            if (typeof d === 'string') {
              if (d === '') throw new RangeError(`value '${v.name}': dim ${i} has an empty symbolic name`);
              dim.string(2, d);
            } else {
              if (!Number.isSafeInteger(d) || d < 0) throw new RangeError(`value '${v.name}': dim ${i} = ${d} is not a size`);
              dim.varint(1, d);
            }
          }),
        );
      });
    }),
  );
  return w.finish();
}

// ---------------------------------------------------------------------------------------------
// Attributes (AttributeProto)

/** AttributeProto.AttributeType values. */
export const AttributeType = {
  FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8, TENSORS: 9, GRAPHS: 10,
} as const;

/** An attribute value with its ONNX type made explicit (see `attr`). */
export class TypedAttr {
  constructor(readonly type: number, readonly value: unknown) {}
}

/**
 * Explicitly typed attribute values. Plain JS values map as: integer number / bigint / boolean →
 * INT, string → STRING, number[] → INTS, string[] → STRINGS, TensorValue → TENSOR. A JS number
 * cannot say "float", so FLOAT / FLOATS must be written `attr.float(x)` / `attr.floats([...])`.
 */
export const attr = {
  int: (v: Int64Like) => new TypedAttr(AttributeType.INT, v),
  float: (v: number) => new TypedAttr(AttributeType.FLOAT, v),
  string: (v: string) => new TypedAttr(AttributeType.STRING, v),
  tensor: (v: TensorValue) => new TypedAttr(AttributeType.TENSOR, v),
  graph: (v: GraphBuilder) => new TypedAttr(AttributeType.GRAPH, v),
  ints: (v: readonly Int64Like[]) => new TypedAttr(AttributeType.INTS, v),
  floats: (v: readonly number[]) => new TypedAttr(AttributeType.FLOATS, v),
  strings: (v: readonly string[]) => new TypedAttr(AttributeType.STRINGS, v),
};

export type AttrValue =
  | number | bigint | boolean | string | readonly number[] | readonly bigint[] | readonly string[] | TensorValue | TypedAttr;

function typed(where: string, v: AttrValue): TypedAttr {
  if (v instanceof TypedAttr) return v;
  if (typeof v === 'boolean') return attr.int(v ? 1 : 0);
  if (typeof v === 'bigint') return attr.int(v);
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v))
      throw new TypeError(`${where} = ${v} is not an integer; write attr.float(${v}) for a FLOAT attribute`);
    return attr.int(v);
  }
  if (typeof v === 'string') return attr.string(v);
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'string')) return attr.strings(v as string[]);
    if (v.every((x) => typeof x === 'bigint' || Number.isSafeInteger(x))) return attr.ints(v as Int64Like[]);
    throw new TypeError(`${where}: a list must hold only integers or only strings; write attr.floats([...]) for FLOATS`);
  }
  if (isTensorValue(v)) return attr.tensor(v);
  throw new TypeError(`${where}: unsupported attribute value ${Object.prototype.toString.call(v)}`);
}

/**
 * AttributeProto bytes: name = 1, f = 2, i = 3, s = 4, t = 5, g = 6, floats = 7, ints = 8,
 * strings = 9, tensors = 10, graphs = 11, type = 20. Repeated scalars are written unpacked, as
 * onnx.proto (proto2, no [packed]) declares them.
 */
export function encodeAttribute(name: string, value: AttrValue, where = `attribute '${name}'`): Uint8Array {
  const a = typed(where, value);
  const w = new ProtoWriter();
  w.string(1, name);
  const v = a.value;
  const num = (x: unknown): number => {
    if (typeof x !== 'number') throw new TypeError(`${where}: expected a float, got ${String(x)}`);
    return x;
  };
  switch (a.type) {
    case AttributeType.FLOAT: w.float(2, num(v)); break;
    case AttributeType.INT: w.varint(3, v as Int64Like); break;
    case AttributeType.STRING: w.string(4, v as string); break;
    case AttributeType.TENSOR: w.bytes(5, encodeTensor(v as TensorValue, undefined, where)); break;
    case AttributeType.GRAPH: w.bytes(6, (v as GraphBuilder).toGraphProto()); break;
    case AttributeType.FLOATS: for (const x of v as number[]) w.float(7, num(x)); break;
    case AttributeType.INTS: for (const x of v as Int64Like[]) w.varint(8, x); break;
    case AttributeType.STRINGS: for (const x of v as string[]) w.string(9, x); break;
    case AttributeType.TENSORS: for (const x of v as TensorValue[]) w.bytes(10, encodeTensor(x, undefined, where)); break;
    case AttributeType.GRAPHS: for (const x of v as GraphBuilder[]) w.bytes(11, x.toGraphProto()); break;
    default: throw new TypeError(`${where}: unknown attribute type ${a.type}`);
  }
  w.varint(20, a.type);
  return w.finish();
}

// ---------------------------------------------------------------------------------------------
// Nodes (NodeProto)

export interface NodeSpec {
  opType: string;
  /** '' marks an omitted optional input. */
  inputs: readonly string[];
  outputs: readonly string[];
  name?: string;
  /** '' (default) is the standard ONNX domain. */
  domain?: string;
  attributes?: Readonly<Record<string, AttrValue | undefined>>;
}

/** NodeProto bytes: input = 1, output = 2, name = 3, op_type = 4, attribute = 5, domain = 7. */
export function encodeNode(n: NodeSpec): Uint8Array {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  if (n.name) w.string(3, n.name);
  w.string(4, n.opType);
  for (const [k, v] of Object.entries(n.attributes ?? {}))
    if (v !== undefined) w.bytes(5, encodeAttribute(k, v, `${n.opType} node '${n.name ?? ''}' attribute '${k}'`));
  if (n.domain) w.string(7, n.domain);
  return w.finish();
}

// ---------------------------------------------------------------------------------------------
// Graphs and models

/** Opset versions by domain ('' = the standard ONNX domain, 'com.microsoft' = ORT contrib ops). */
export type Opsets = Readonly<Record<string, number>>;

export interface ModelOptions {
  /** Default { '': 23 }. Every domain a node uses must be listed. */
  opsets?: Opsets;
  /** Default: the IR version that goes with the standard opset (11 for opset 23). */
  irVersion?: number;
  producerName?: string;
  producerVersion?: string;
  docString?: string;
  metadata?: Readonly<Record<string, string>>;
}

export const DEFAULT_OPSET = 23;

/** IR version released with each standard opset (onnx/helper.py's VERSION_TABLE). */
function irVersionFor(opset: number): number {
  if (opset >= 23) return 11;
  if (opset >= 21) return 10;
  if (opset >= 19) return 9;
  if (opset >= 15) return 8;
  if (opset >= 12) return 7;
  if (opset >= 11) return 6;
  if (opset >= 10) return 5;
  if (opset >= 9) return 4;
  return 3;
}

export interface AddNodeOptions {
  domain?: string;
  /** Node name; default `<opType>_<n>`. */
  name?: string;
}

/**
 * Builds one ONNX graph. Value names are SSA: each is produced once (graph input, initializer or
 * node output), and a node may only consume values that already exist, so nodes come out in
 * topological order. Methods that create values return their names.
 */
export class GraphBuilder {
  private readonly nodes: NodeSpec[] = [];
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private readonly valueInfos: ValueInfo[] = [];
  private readonly initializers: { name: string; value: TensorValue; bytes: Uint8Array }[] = [];
  /** Names that have a producer. */
  private readonly produced = new Set<string>();
  /** Names reserved by uniqueName (produced or about to be). */
  private readonly reserved = new Set<string>();
  private readonly nodeNames = new Set<string>();
  private readonly domains = new Set<string>();

  constructor(readonly name = 'graph', readonly docString?: string) {}

  /** `base` if no value has that name yet, else `base_1`, `base_2`, …; the name is reserved. */
  uniqueName(base = 'v'): string {
    let n = base;
    for (let i = 1; this.reserved.has(n) || this.produced.has(n); i++) n = `${base}_${i}`;
    this.reserved.add(n);
    return n;
  }

  /** Whether a value of this name exists (input, initializer or node output). */
  has(name: string): boolean {
    return this.produced.has(name);
  }

  private produce(name: string, what: string): string {
    if (typeof name !== 'string' || name === '') throw new TypeError(`${what}: a value name must be a non-empty string`);
    if (this.produced.has(name)) throw new RangeError(`${what}: value '${name}' already exists (values are assigned once)`);
    this.produced.add(name);
    this.reserved.add(name);
    return name;
  }

  /** A graph input; returns its name. */
  addInput(name: string, type: ElemType, shape?: readonly Dim[]): string {
    const v = { name, type, shape };
    encodeValueInfo(v); // validate now, not at serialisation
    this.inputs.push(v);
    return this.produce(name, `input '${name}'`);
  }

  /** A graph output: an existing value, or one a later node will produce (checked by toGraphProto). */
  addOutput(name: string, type: ElemType, shape?: readonly Dim[]): string {
    const v = { name, type, shape };
    encodeValueInfo(v);
    if (this.outputs.some((o) => o.name === name)) throw new RangeError(`output '${name}' is declared twice`);
    this.outputs.push(v);
    this.reserved.add(name);
    return name;
  }

  /** Type/shape annotation for an intermediate value (optional in ONNX). */
  addValueInfo(name: string, type: ElemType, shape?: readonly Dim[]): void {
    const v = { name, type, shape };
    encodeValueInfo(v);
    this.valueInfos.push(v);
  }

  /** A named constant tensor; returns its name. */
  addInitializer(name: string, value: TensorValue): string {
    const bytes = encodeTensor(value, name, `initializer '${name}'`);
    this.produce(name, `initializer '${name}'`);
    this.initializers.push({ name, value, bytes });
    return name;
  }

  /** An initializer under a fresh name derived from `base`. */
  constant(value: TensorValue, base = 'const'): string {
    const name = this.uniqueName(base);
    this.reserved.delete(name);
    return this.addInitializer(name, value);
  }

  /** Shorthands for small constants; a plain number gives a scalar (dims []). */
  constFloat(values: number | readonly number[], dims?: readonly number[], base = 'const_f'): string {
    const data = typeof values === 'number' ? [values] : values;
    return this.constant(tensor('float32', dims ?? (typeof values === 'number' ? [] : [data.length]), data), base);
  }

  constInt64(values: Int64Like | readonly Int64Like[], dims?: readonly number[], base = 'const_i64'): string {
    const data = (typeof values === 'number' || typeof values === 'bigint' ? [values] : values) as readonly Int64Like[];
    const scalar = typeof values === 'number' || typeof values === 'bigint';
    return this.constant(tensor('int64', dims ?? (scalar ? [] : [data.length]), data.map((x) => BigInt(x))), base);
  }

  constInt32(values: number | readonly number[], dims?: readonly number[], base = 'const_i32'): string {
    const data = typeof values === 'number' ? [values] : values;
    return this.constant(tensor('int32', dims ?? (typeof values === 'number' ? [] : [data.length]), data), base);
  }

  /**
   * Appends a node. `outputs` is a list of names or a count (names are then generated from the
   * op type). Inputs must already exist; '' marks an omitted optional input. Returns the outputs.
   */
  addNode(
    opType: string,
    inputs: readonly string[],
    outputs: readonly string[] | number = 1,
    attributes: Readonly<Record<string, AttrValue | undefined>> = {},
    options: AddNodeOptions = {},
  ): string[] {
    if (typeof opType !== 'string' || opType === '') throw new TypeError('addNode: opType must be a non-empty string');
    const domain = options.domain ?? '';
    let name = options.name;
    if (name === undefined) for (let i = this.nodes.length; name === undefined || this.nodeNames.has(name); i++) name = `${opType}_${i}`;
    if (this.nodeNames.has(name)) throw new RangeError(`node name '${name}' is used twice`);
    const what = `${opType} node '${name}'`;
    inputs.forEach((x, i) => {
      if (typeof x !== 'string') throw new TypeError(`${what}: input ${i} must be a value name, got ${String(x)}`);
      if (x !== '' && !this.produced.has(x))
        throw new RangeError(`${what}: input ${i} '${x}' is not defined yet (add the graph input, initializer or producing node first)`);
    });
    const base = opType.charAt(0).toLowerCase() + opType.slice(1);
    const outs =
      typeof outputs === 'number'
        ? Array.from({ length: outputs }, (_, i) => this.uniqueName(outputs === 1 ? base : `${base}_${i}`))
        : outputs.slice();
    if (outs.length === 0) throw new RangeError(`${what}: a node needs at least one output`);
    // Encode first so a bad attribute leaves the builder unchanged.
    const node: NodeSpec = { opType, inputs: inputs.slice(), outputs: outs, name, domain, attributes: { ...attributes } };
    encodeNode(node);
    outs.forEach((o, i) => {
      if (o !== '' || i === 0) this.produce(o, `${what} output ${i}`);
    });
    this.nodes.push(node);
    this.nodeNames.add(name);
    this.domains.add(domain);
    return outs;
  }

  /** addNode for the common single-output case; returns the output name. */
  op(opType: string, inputs: readonly string[], attributes: Readonly<Record<string, AttrValue | undefined>> = {}, options: AddNodeOptions & { output?: string } = {}): string {
    return this.addNode(opType, inputs, options.output === undefined ? 1 : [options.output], attributes, options)[0];
  }

  /** Domains used by the nodes so far. */
  usedDomains(): string[] {
    return [...this.domains];
  }

  /**
   * GraphProto bytes: node = 1, name = 2, initializer = 5, doc_string = 10, input = 11,
   * output = 12, value_info = 13.
   */
  toGraphProto(): Uint8Array {
    for (const o of this.outputs)
      if (!this.produced.has(o.name)) throw new RangeError(`graph '${this.name}': output '${o.name}' is never produced`);
    if (this.outputs.length === 0) throw new RangeError(`graph '${this.name}' has no outputs`);
    const w = new ProtoWriter(this.initializers.reduce((s, i) => s + i.bytes.length + 8, 256));
    for (const n of this.nodes) w.bytes(1, encodeNode(n));
    w.string(2, this.name);
    for (const i of this.initializers) w.bytes(5, i.bytes);
    if (this.docString) w.string(10, this.docString);
    for (const v of this.inputs) w.bytes(11, encodeValueInfo(v));
    for (const v of this.outputs) w.bytes(12, encodeValueInfo(v));
    for (const v of this.valueInfos) w.bytes(13, encodeValueInfo(v));
    return w.finish();
  }

  /**
   * ModelProto bytes: ir_version = 1, producer_name = 2, producer_version = 3, doc_string = 6,
   * graph = 7, opset_import = 8 (OperatorSetIdProto: domain = 1, version = 2),
   * metadata_props = 14 (StringStringEntryProto: key = 1, value = 2).
   */
  toModel(options: ModelOptions = {}): Uint8Array {
    const opsets: Opsets = options.opsets ?? { '': DEFAULT_OPSET };
    for (const [d, v] of Object.entries(opsets))
      if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`opset version for domain '${d}' must be a positive integer, got ${v}`);
    for (const d of this.domains)
      if (opsets[d] === undefined)
        throw new RangeError(`a node uses domain '${d || 'ai.onnx'}' but opsets imports only: ${Object.keys(opsets).map((k) => `'${k}'`).join(', ')}`);
    const std = opsets[''] ?? opsets['ai.onnx'];
    const ir = options.irVersion ?? irVersionFor(std ?? DEFAULT_OPSET);
    const graph = this.toGraphProto();
    const w = new ProtoWriter(graph.length + 256);
    w.varint(1, ir);
    w.string(2, options.producerName ?? 'global-attention');
    if (options.producerVersion) w.string(3, options.producerVersion);
    if (options.docString) w.string(6, options.docString);
    w.bytes(7, graph);
    for (const [d, v] of Object.entries(opsets))
      w.message(8, (o) => {
        if (d !== '') o.string(1, d);
        o.varint(2, v);
      });
    for (const [k, v] of Object.entries(options.metadata ?? {}))
      w.message(14, (e) => e.string(1, k).string(2, v));
    return w.finish();
  }
}

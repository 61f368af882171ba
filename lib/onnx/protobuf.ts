// Minimal protobuf wire-format writer: just what ONNX's messages need (varint, fixed32/64,
// length-delimited, packed scalars). Messages are encoded bottom-up: a sub-message is built
// with its own ProtoWriter and embedded as bytes.

/** Wire types (protobuf encoding spec). */
export const WireType = { Varint: 0, Fixed64: 1, LengthDelimited: 2, Fixed32: 5 } as const;
export type WireType = (typeof WireType)[keyof typeof WireType];

const utf8 = new TextEncoder();
const TWO_64 = BigInt(1) << BigInt(64);
const MIN_I64 = -(BigInt(1) << BigInt(63));
const MAX_U64 = TWO_64 - BigInt(1);

/** An integer for a 64-bit varint field: a safe-integer number or a bigint in [-2^63, 2^64). */
export type Int64Like = number | bigint;

function toBigInt64(name: string, v: Int64Like): bigint {
  if (typeof v === 'bigint') {
    if (v < MIN_I64 || v > MAX_U64) throw new RangeError(`${name}: ${v} does not fit in 64 bits`);
    return v;
  }
  if (typeof v !== 'number' || !Number.isSafeInteger(v))
    throw new RangeError(`${name}: expected a safe integer or a bigint, got ${String(v)}`);
  return BigInt(v);
}

export class ProtoWriter {
  private buf: Uint8Array;
  private view: DataView;
  private len = 0;

  constructor(initialCapacity = 256) {
    this.buf = new Uint8Array(Math.max(16, initialCapacity));
    this.view = new DataView(this.buf.buffer);
  }

  get length(): number {
    return this.len;
  }

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  /** Raw unsigned varint; negative int64 values are written as their 10-byte two's complement. */
  rawVarint(v: Int64Like): this {
    if (typeof v === 'number' && v >= 0 && v <= 0x7fffffff) {
      this.reserve(5);
      while (v > 0x7f) {
        this.buf[this.len++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      this.buf[this.len++] = v;
      return this;
    }
    let b = toBigInt64('varint', v);
    if (b < BigInt(0)) b += TWO_64;
    this.reserve(10);
    const mask = BigInt(0x7f);
    const seven = BigInt(7);
    while (b > mask) {
      this.buf[this.len++] = Number(b & mask) | 0x80;
      b >>= seven;
    }
    this.buf[this.len++] = Number(b);
    return this;
  }

  rawBytes(bytes: Uint8Array): this {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
    return this;
  }

  tag(field: number, wire: WireType): this {
    if (!Number.isInteger(field) || field < 1 || field > 0x1fffffff) throw new RangeError(`bad protobuf field number ${field}`);
    return this.rawVarint(field * 8 + wire);
  }

  /** int32/int64/uint64/enum/bool field (varint). */
  varint(field: number, v: Int64Like | boolean): this {
    return this.tag(field, WireType.Varint).rawVarint(typeof v === 'boolean' ? (v ? 1 : 0) : v);
  }

  /** `float` field (fixed32, little-endian IEEE 754). */
  float(field: number, v: number): this {
    this.tag(field, WireType.Fixed32);
    this.reserve(4);
    this.view.setFloat32(this.len, v, true);
    this.len += 4;
    return this;
  }

  /** `double` field (fixed64). */
  double(field: number, v: number): this {
    this.tag(field, WireType.Fixed64);
    this.reserve(8);
    this.view.setFloat64(this.len, v, true);
    this.len += 8;
    return this;
  }

  /** `bytes` or embedded-message field. */
  bytes(field: number, bytes: Uint8Array): this {
    return this.tag(field, WireType.LengthDelimited).rawVarint(bytes.length).rawBytes(bytes);
  }

  /** `string` field (UTF-8). */
  string(field: number, s: string): this {
    return this.bytes(field, utf8.encode(s));
  }

  /** Embedded message written by `fill` into its own writer. */
  message(field: number, fill: (w: ProtoWriter) => void): this {
    const w = new ProtoWriter();
    fill(w);
    return this.bytes(field, w.finish());
  }

  /** Packed repeated float (one length-delimited run of fixed32). */
  packedFloats(field: number, values: ArrayLike<number>): this {
    const b = new Uint8Array(values.length * 4);
    const dv = new DataView(b.buffer);
    for (let i = 0; i < values.length; i++) dv.setFloat32(i * 4, values[i], true);
    return this.bytes(field, b);
  }

  /** Packed repeated double. */
  packedDoubles(field: number, values: ArrayLike<number>): this {
    const b = new Uint8Array(values.length * 8);
    const dv = new DataView(b.buffer);
    for (let i = 0; i < values.length; i++) dv.setFloat64(i * 8, values[i], true);
    return this.bytes(field, b);
  }

  /** Packed repeated varint (int32/int64/uint64). */
  packedVarints(field: number, values: ArrayLike<Int64Like>): this {
    const w = new ProtoWriter(values.length * 2);
    for (let i = 0; i < values.length; i++) w.rawVarint(values[i]);
    return this.bytes(field, w.finish());
  }

  /** The encoded bytes (a copy trimmed to length). */
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** Little-endian bytes of a typed array, as ONNX's TensorProto.raw_data wants them. */
export function littleEndianBytes(
  data: Float32Array | Float64Array | Int32Array | Uint8Array | Int8Array | BigInt64Array | Uint16Array | Int16Array,
): Uint8Array {
  const out = new Uint8Array(data.byteLength);
  const dv = new DataView(out.buffer);
  const n = data.length;
  if (data instanceof Float32Array) for (let i = 0; i < n; i++) dv.setFloat32(i * 4, data[i], true);
  else if (data instanceof Float64Array) for (let i = 0; i < n; i++) dv.setFloat64(i * 8, data[i], true);
  else if (data instanceof Int32Array) for (let i = 0; i < n; i++) dv.setInt32(i * 4, data[i], true);
  else if (data instanceof BigInt64Array) for (let i = 0; i < n; i++) dv.setBigInt64(i * 8, data[i], true);
  else if (data instanceof Uint16Array) for (let i = 0; i < n; i++) dv.setUint16(i * 2, data[i], true);
  else if (data instanceof Int16Array) for (let i = 0; i < n; i++) dv.setInt16(i * 2, data[i], true);
  else out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return out;
}

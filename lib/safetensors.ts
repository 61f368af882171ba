// Reading and writing the safetensors format (https://github.com/huggingface/safetensors):
//
//   8 bytes   header length N, unsigned 64-bit little-endian
//   N bytes   UTF-8 JSON object: name -> { dtype, shape, data_offsets: [begin, end] },
//             plus an optional "__metadata__": { string: string }
//   rest      the data section; offsets are relative to its start, little-endian, row-major
//
// The reader trusts nothing in the file: the header length must fit the file, the JSON must be an
// object, every entry needs a known dtype, an integer shape and in-range offsets whose size matches
// shape x dtype, entries may neither overlap nor leave holes (as the format requires), and every
// failure is an Error that names the file and the tensor. Tensor data is copied into freshly
// allocated typed arrays (so always aligned, never a view of the file's bytes). From a path, the
// file is read piecewise: the header first, then each tensor straight into its own array.
import * as fs from 'fs';

/** Element types of the safetensors format. */
export type SafetensorsDtype =
  | 'BOOL' | 'U8' | 'I8' | 'U16' | 'I16' | 'U32' | 'I32' | 'U64' | 'I64'
  | 'F16' | 'BF16' | 'F32' | 'F64' | 'F8_E4M3' | 'F8_E5M2';

/**
 * The typed array each dtype is read into. F16, BF16 and the F8 types have no JavaScript array
 * of their own: their raw bit patterns are returned (Uint16Array / Uint8Array); `toFloat32`
 * converts F16 and BF16. BOOL is a Uint8Array of bytes.
 */
export type SafetensorsData =
  | Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array
  | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

export interface SafetensorsTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: SafetensorsData;
}

export interface SafetensorsFile {
  /** Tensors in the order of their data offsets. */
  tensors: Map<string, SafetensorsTensor>;
  /** The "__metadata__" object (string values only); {} when absent. */
  metadata: Record<string, string>;
}

/** Input accepted by the writer: `dtype` defaults to the one matching the data's array type. */
export interface SafetensorsInput {
  dtype?: SafetensorsDtype;
  shape: readonly number[];
  data: SafetensorsData;
}

interface DtypeInfo {
  size: number;
  make: (buf: ArrayBuffer) => SafetensorsData;
  ctor: string;
}

const DTYPES: Record<SafetensorsDtype, DtypeInfo> = {
  BOOL: { size: 1, make: (b) => new Uint8Array(b), ctor: 'Uint8Array' },
  U8: { size: 1, make: (b) => new Uint8Array(b), ctor: 'Uint8Array' },
  I8: { size: 1, make: (b) => new Int8Array(b), ctor: 'Int8Array' },
  U16: { size: 2, make: (b) => new Uint16Array(b), ctor: 'Uint16Array' },
  I16: { size: 2, make: (b) => new Int16Array(b), ctor: 'Int16Array' },
  U32: { size: 4, make: (b) => new Uint32Array(b), ctor: 'Uint32Array' },
  I32: { size: 4, make: (b) => new Int32Array(b), ctor: 'Int32Array' },
  U64: { size: 8, make: (b) => new BigUint64Array(b), ctor: 'BigUint64Array' },
  I64: { size: 8, make: (b) => new BigInt64Array(b), ctor: 'BigInt64Array' },
  F16: { size: 2, make: (b) => new Uint16Array(b), ctor: 'Uint16Array' },
  BF16: { size: 2, make: (b) => new Uint16Array(b), ctor: 'Uint16Array' },
  F32: { size: 4, make: (b) => new Float32Array(b), ctor: 'Float32Array' },
  F64: { size: 8, make: (b) => new Float64Array(b), ctor: 'Float64Array' },
  F8_E4M3: { size: 1, make: (b) => new Uint8Array(b), ctor: 'Uint8Array' },
  F8_E5M2: { size: 1, make: (b) => new Uint8Array(b), ctor: 'Uint8Array' },
};

/** The dtype the writer picks for an array type when none is given. */
const DEFAULT_DTYPE: Record<string, SafetensorsDtype> = {
  Float32Array: 'F32', Float64Array: 'F64', Int8Array: 'I8', Uint8Array: 'U8', Int16Array: 'I16',
  Uint16Array: 'U16', Int32Array: 'I32', Uint32Array: 'U32', BigInt64Array: 'I64', BigUint64Array: 'U64',
};

/** Largest header we parse (the reference implementation's limit). */
export const MAX_HEADER_BYTES = 100_000_000;

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const typeTag = (x: unknown): string => Object.prototype.toString.call(x).slice(8, -1);
const isDtype = (x: unknown): x is SafetensorsDtype =>
  typeof x === 'string' && Object.prototype.hasOwnProperty.call(DTYPES, x);
const isPlainObject = (x: unknown): x is Record<string, unknown> =>
  x !== null && typeof x === 'object' && !Array.isArray(x);

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (x === undefined) return 'undefined';
  if (Array.isArray(x)) return 'an array';
  if (typeof x === 'object') return 'an object';
  if (typeof x === 'string') return `string ${JSON.stringify(x.length > 40 ? x.slice(0, 40) + '...' : x)}`;
  return `${typeof x} ${String(x)}`;
}

/** Where bytes come from: a file read piecewise, or a byte array in memory. */
interface Source {
  name: string;
  size: number;
  /** Copies `into.length` bytes starting at `offset` into `into`. */
  read(offset: number, into: Uint8Array): void;
  close(): void;
}

function fileSource(path: string): Source {
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (e) {
    throw new Error(`safetensors: cannot open ${JSON.stringify(path)}: ${(e as Error).message}`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new Error(`safetensors: ${JSON.stringify(path)} is not a regular file`);
    return {
      name: JSON.stringify(path),
      size: st.size,
      read(offset, into) {
        let done = 0;
        while (done < into.length) {
          const n = fs.readSync(fd, into, done, into.length - done, offset + done);
          if (n <= 0) throw new Error(`safetensors: ${JSON.stringify(path)}: unexpected end of file (was it truncated while being read?)`);
          done += n;
        }
      },
      close() {
        fs.closeSync(fd);
      },
    };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

function bytesSource(bytes: Uint8Array, name: string): Source {
  return {
    name,
    size: bytes.length,
    read(offset, into) {
      into.set(bytes.subarray(offset, offset + into.length));
    },
    close() {},
  };
}

function byteSwap(bytes: Uint8Array, size: number): void {
  for (let i = 0; i < bytes.length; i += size)
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = t;
    }
}

/** A non-negative safe integer, or undefined. */
const asSize = (x: unknown): number | undefined =>
  typeof x === 'number' && Number.isSafeInteger(x) && x >= 0 ? x : undefined;

interface Entry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

function parseEntry(file: string, name: string, raw: unknown, dataBytes: number): Entry {
  const where = `safetensors: ${file}: tensor ${JSON.stringify(name)}`;
  if (!isPlainObject(raw)) throw new Error(`${where}: entry must be an object, got ${describe(raw)}`);
  const { dtype, shape, data_offsets: offsets } = raw;
  if (dtype === undefined) throw new Error(`${where}: missing "dtype"`);
  if (!isDtype(dtype))
    throw new Error(`${where}: unknown dtype ${describe(dtype)} (known: ${Object.keys(DTYPES).join(', ')})`);
  if (!Array.isArray(shape)) throw new Error(`${where}: "shape" must be an array of integers, got ${describe(shape)}`);
  let elements = 1;
  shape.forEach((d, i) => {
    const s = asSize(d);
    if (s === undefined) throw new Error(`${where}: shape[${i}] must be a non-negative integer, got ${describe(d)}`);
    elements *= s;
  });
  if (!Array.isArray(offsets) || offsets.length !== 2)
    throw new Error(`${where}: "data_offsets" must be [begin, end], got ${describe(offsets)}`);
  const begin = asSize(offsets[0]);
  const end = asSize(offsets[1]);
  const hugeInteger = (x: unknown) => typeof x === 'number' && Number.isInteger(x) && x > Number.MAX_SAFE_INTEGER;
  if ((begin !== undefined || hugeInteger(offsets[0])) && hugeInteger(offsets[1]))
    throw new Error(`${where}: data_offsets [${offsets.join(', ')}] run past the end of the data section (${dataBytes} bytes)`);
  if (begin === undefined || end === undefined)
    throw new Error(`${where}: data_offsets must be non-negative integers, got [${offsets.map(describe).join(', ')}]`);
  if (begin > end) throw new Error(`${where}: data_offsets [${begin}, ${end}] end before they begin`);
  if (end > dataBytes)
    throw new Error(`${where}: data_offsets [${begin}, ${end}] run past the end of the data section (${dataBytes} bytes; file truncated?)`);
  const expected = elements * DTYPES[dtype].size;
  if (end - begin !== expected)
    throw new Error(`${where}: shape [${shape.join(', ')}] of ${dtype} needs ${expected} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`);
  return { name, dtype, shape: shape.slice() as number[], begin, end };
}

interface Header {
  metadata: Record<string, string>;
  /** In the order of their data offsets. */
  entries: Entry[];
  /** Byte offset of the data section in the file. */
  dataStart: number;
}

function parseHeader(src: Source): Header {
  const file = src.name;
  if (src.size < 8) throw new Error(`safetensors: ${file}: file is ${src.size} bytes, too short for the 8-byte header length (truncated?)`);
  const lenBytes = new Uint8Array(8);
  src.read(0, lenBytes);
  const headerLen = new DataView(lenBytes.buffer).getBigUint64(0, true);
  if (headerLen > BigInt(src.size - 8))
    throw new Error(`safetensors: ${file}: header length ${headerLen} exceeds the ${src.size - 8} bytes after it (truncated or not a safetensors file?)`);
  if (headerLen > BigInt(MAX_HEADER_BYTES))
    throw new Error(`safetensors: ${file}: header length ${headerLen} exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
  const n = Number(headerLen);
  const headerBytes = new Uint8Array(n);
  src.read(8, headerBytes);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    throw new Error(`safetensors: ${file}: header is not valid UTF-8 (not a safetensors file?)`);
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw new Error(`safetensors: ${file}: header is not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(header)) throw new Error(`safetensors: ${file}: header must be a JSON object, got ${describe(header)}`);

  const metadata: Record<string, string> = {};
  const rawMeta = header.__metadata__;
  if (rawMeta !== undefined) {
    if (!isPlainObject(rawMeta)) throw new Error(`safetensors: ${file}: "__metadata__" must be an object of strings, got ${describe(rawMeta)}`);
    for (const [key, value] of Object.entries(rawMeta)) {
      if (typeof value !== 'string')
        throw new Error(`safetensors: ${file}: "__metadata__" entry ${JSON.stringify(key)} must be a string, got ${describe(value)}`);
      // defineProperty, not assignment: a key named "__proto__" must stay a plain entry.
      Object.defineProperty(metadata, key, { value, enumerable: true, writable: true, configurable: true });
    }
  }

  const dataStart = 8 + n;
  const dataBytes = src.size - dataStart;
  const entries = Object.entries(header)
    .filter(([name]) => name !== '__metadata__')
    .map(([name, raw]) => parseEntry(file, name, raw, dataBytes))
    .sort((a, b) => a.begin - b.begin || a.end - b.end);

  // The data section must be covered exactly: no overlap, no hole, nothing after the last tensor.
  let pos = 0;
  let prev: Entry | undefined;
  for (const e of entries) {
    if (e.begin < pos)
      throw new Error(`safetensors: ${file}: tensor ${JSON.stringify(e.name)} (bytes ${e.begin}-${e.end}) overlaps tensor ${JSON.stringify(prev!.name)} (bytes ${prev!.begin}-${prev!.end})`);
    if (e.begin > pos)
      throw new Error(`safetensors: ${file}: tensor ${JSON.stringify(e.name)} starts at byte ${e.begin} of the data section, leaving a hole after byte ${pos}`);
    pos = e.end;
    prev = e;
  }
  if (pos !== dataBytes)
    throw new Error(`safetensors: ${file}: the tensors cover ${pos} bytes of the data section but it has ${dataBytes} (trailing bytes)`);
  return { metadata, entries, dataStart };
}

function readEntry(src: Source, dataStart: number, e: Entry): SafetensorsTensor {
  const info = DTYPES[e.dtype];
  const buf = new ArrayBuffer(e.end - e.begin);
  const bytes = new Uint8Array(buf);
  src.read(dataStart + e.begin, bytes);
  if (!LITTLE_ENDIAN_HOST && info.size > 1) byteSwap(bytes, info.size);
  return { dtype: e.dtype, shape: e.shape.slice(), data: info.make(buf) };
}

function read(src: Source): SafetensorsFile {
  const { metadata, entries, dataStart } = parseHeader(src);
  const tensors = new Map<string, SafetensorsTensor>();
  for (const e of entries) tensors.set(e.name, readEntry(src, dataStart, e));
  return { tensors, metadata };
}

/** What the header says about one tensor. */
export interface SafetensorsEntryInfo {
  dtype: SafetensorsDtype;
  shape: number[];
}

/**
 * A safetensors file opened for reading tensor by tensor: the header is parsed and checked at
 * open (as readSafetensors does), and each `read(name)` copies just that tensor's bytes from the
 * file into a fresh array (positioned reads, never the whole file). Call `close()` when done.
 */
export interface SafetensorsReader {
  readonly path: string;
  readonly metadata: Record<string, string>;
  /** Tensor names in the order of their data offsets. */
  names(): string[];
  info(name: string): SafetensorsEntryInfo | undefined;
  read(name: string): SafetensorsTensor;
  close(): void;
}

export function openSafetensors(path: string): SafetensorsReader {
  if (typeof path !== 'string') throw new TypeError(`openSafetensors: path must be a string, got ${describe(path)}`);
  const src = fileSource(path);
  let header: Header;
  try {
    header = parseHeader(src);
  } catch (e) {
    src.close();
    throw e;
  }
  const byName = new Map(header.entries.map((e) => [e.name, e]));
  let open = true;
  return {
    path,
    metadata: header.metadata,
    names: () => header.entries.map((e) => e.name),
    info: (name) => {
      const e = byName.get(name);
      return e && { dtype: e.dtype, shape: e.shape.slice() };
    },
    read: (name) => {
      if (!open) throw new Error(`safetensors: ${src.name} is closed`);
      const e = byName.get(name);
      if (!e) throw new Error(`safetensors: ${src.name}: no tensor ${JSON.stringify(name)}`);
      return readEntry(src, header.dataStart, e);
    },
    close: () => {
      if (open) src.close();
      open = false;
    },
  };
}

/**
 * Reads a safetensors file (a path) or its bytes. Every tensor comes back in its own freshly
 * allocated typed array; nothing refers to the input bytes. Throws an Error naming the file
 * (or `name`, for bytes) and the offending tensor when the file is malformed.
 */
export function readSafetensors(pathOrBytes: string | Uint8Array, options: { name?: string } = {}): SafetensorsFile {
  // A tag test, not instanceof: a Buffer or Uint8Array from another realm (vm, jest) counts too.
  let src: Source;
  if (typeof pathOrBytes === 'string') src = fileSource(pathOrBytes);
  else if (typeTag(pathOrBytes) === 'Uint8Array') src = bytesSource(pathOrBytes as Uint8Array, options.name ?? '<bytes>');
  else throw new TypeError(`readSafetensors: expected a path (string) or the bytes (Uint8Array), got ${describe(pathOrBytes)}`);
  try {
    return read(src);
  } finally {
    src.close();
  }
}

/**
 * Writes tensors (in a Map's or object's order, stably regrouped so that larger elements come
 * first and every tensor is aligned to its element size) and string metadata as safetensors bytes.
 */
export function writeSafetensors(
  tensors: Map<string, SafetensorsInput> | Record<string, SafetensorsInput>,
  metadata?: Record<string, string>,
): Uint8Array {
  const list = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const items = list.map(([name, t]) => {
    const where = `writeSafetensors: tensor ${JSON.stringify(name)}`;
    if (name === '__metadata__') throw new Error(`${where}: the name is reserved for the metadata`);
    if (!isPlainObject(t)) throw new TypeError(`${where}: expected {dtype?, shape, data}, got ${describe(t)}`);
    const ctor = typeTag(t.data);
    if (!ArrayBuffer.isView(t.data) || !(ctor in DEFAULT_DTYPE))
      throw new TypeError(`${where}: data must be a typed array, got ${describe(t.data)}`);
    const dtype = t.dtype ?? DEFAULT_DTYPE[ctor];
    if (!isDtype(dtype)) throw new TypeError(`${where}: unknown dtype ${describe(dtype)}`);
    const info = DTYPES[dtype];
    if (info.ctor !== ctor) throw new TypeError(`${where}: dtype ${dtype} needs a ${info.ctor}, got a ${ctor}`);
    if (!Array.isArray(t.shape)) throw new TypeError(`${where}: shape must be an array, got ${describe(t.shape)}`);
    let elements = 1;
    t.shape.forEach((d, i) => {
      if (asSize(d) === undefined) throw new RangeError(`${where}: shape[${i}] must be a non-negative integer, got ${describe(d)}`);
      elements *= d;
    });
    const data = t.data as SafetensorsData;
    if (data.length !== elements)
      throw new RangeError(`${where}: shape [${t.shape.join(', ')}] has ${elements} elements but data has ${data.length}`);
    return { name, dtype, shape: t.shape.slice(), data, size: info.size };
  });
  // Stable: larger element sizes first, so each offset is a multiple of its element size.
  const order = items.map((it, i) => ({ it, i })).sort((a, b) => b.it.size - a.it.size || a.i - b.i).map((x) => x.it);

  // No prototype: a tensor named "__proto__" (or "constructor") is an ordinary key here.
  const header: Record<string, unknown> = Object.create(null);
  if (metadata !== undefined) {
    if (!isPlainObject(metadata)) throw new TypeError(`writeSafetensors: metadata must be an object of strings, got ${describe(metadata)}`);
    for (const [k, v] of Object.entries(metadata))
      if (typeof v !== 'string') throw new TypeError(`writeSafetensors: metadata ${JSON.stringify(k)} must be a string, got ${describe(v)}`);
    header.__metadata__ = { ...metadata };
  }
  let offset = 0;
  for (const it of order) {
    header[it.name] = { dtype: it.dtype, shape: it.shape, data_offsets: [offset, offset + it.data.byteLength] };
    offset += it.data.byteLength;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let pos = 8 + json.length;
  for (const it of order) {
    const bytes = new Uint8Array(it.data.buffer, it.data.byteOffset, it.data.byteLength);
    out.set(bytes, pos);
    if (!LITTLE_ENDIAN_HOST && it.size > 1) byteSwap(out.subarray(pos, pos + bytes.length), it.size);
    pos += bytes.length;
  }
  return out;
}

/** IEEE half -> float. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

let halfTableCache: Float32Array | undefined;
function halfTable(): Float32Array {
  if (!halfTableCache) {
    halfTableCache = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTableCache[h] = halfToFloat(h);
  }
  return halfTableCache;
}

/**
 * A floating-point tensor's values as a Float32Array (F32 as is; F64 rounded; F16 and BF16
 * widened exactly). `name` only labels the error for other dtypes.
 */
export function toFloat32(t: SafetensorsTensor, name = 'tensor'): Float32Array {
  switch (t.dtype) {
    case 'F32':
      return t.data as Float32Array;
    case 'F64':
      return Float32Array.from(t.data as Float64Array);
    case 'F16': {
      // All 65536 halves decoded once: a table lookup per value (checkpoints hold millions).
      const src = t.data as Uint16Array;
      if (src.length < 65536) return Float32Array.from(src, halfToFloat);
      const table = halfTable();
      const out = new Float32Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = table[src[i]];
      return out;
    }
    case 'BF16': {
      const src = t.data as Uint16Array;
      const bits = new Uint32Array(src.length);
      for (let i = 0; i < src.length; i++) bits[i] = src[i] << 16;
      return new Float32Array(bits.buffer);
    }
    default:
      throw new TypeError(`${name} has dtype ${t.dtype}, not a floating-point type convertible to float32`);
  }
}

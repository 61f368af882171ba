// float16 / bfloat16 tensors in ONNX Runtime's form ({ type, data: Uint16Array, dims }, or a
// Float16Array where the runtime has one). q, k, v go to the addon as bits (it converts them to
// float32 on its worker and rounds the result back, native/kernels/half.h); the conversions here
// serve the bias and the tests, with the same rounding (to nearest, ties to even).
import { Tensor, checkDims, checkedProduct, describe, isDetached } from './tensor';

export type HalfType = 'float16' | 'bfloat16';

/** A float16 or bfloat16 tensor: IEEE binary16 or bfloat16 bit patterns in a Uint16Array (Float16Array also for float16). */
export interface HalfTensor {
  type: HalfType;
  data: Uint16Array;
  dims: readonly number[];
}

const tag = (x: unknown) => Object.prototype.toString.call(x).slice(8, -1);

/** Whether `t` is a half tensor (by its `type`, or by Float16Array data): the caller then converts it. */
export function isHalfTensor(t: unknown): boolean {
  if (t === null || typeof t !== 'object') return false;
  const o = t as { type?: unknown; data?: unknown };
  return o.type === 'float16' || o.type === 'bfloat16' || tag(o.data) === 'Float16Array';
}

let f16Table: Float32Array | undefined;

/** float32 value of every binary16 bit pattern (exact: every half is a float). */
function halfTable(): Float32Array {
  if (f16Table) return f16Table;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const m = h & 0x3ff;
    t[h] = e === 0 ? sign * m * 2 ** -24 : e === 31 ? (m ? NaN : sign * Infinity) : sign * (1024 + m) * 2 ** (e - 25);
  }
  return (f16Table = t);
}

const scratch = new Float32Array(1);
const scratchBits = new Uint32Array(scratch.buffer);

/** The binary16 bits nearest to x (ties to even; overflow to ±Infinity; NaN stays NaN). */
export function toFloat16Bits(x: number): number {
  scratch[0] = x;
  const bits = scratchBits[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 112; // rebias 127 -> 15
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half: m * 2^-24 with m = (1.mant) * 2^(exp - 150 + 24).
    if (e < -10) return sign;
    const full = mant | 0x800000;
    const shift = 14 - e;
    let h = full >>> shift;
    const rem = full & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++; // a carry into the exponent is still right (up to Infinity)
  return sign | h;
}

/** The bfloat16 bits nearest to x (ties to even; NaN stays a quiet NaN). */
export function toBfloat16Bits(x: number): number {
  scratch[0] = x;
  const u = scratchBits[0];
  if ((u & 0x7f800000) === 0x7f800000 && u & 0x7fffff) return (u >>> 16) | 0x40;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Half bits -> float32 values. */
export function halfToFloat32(type: HalfType, bits: Uint16Array, out: Float32Array = new Float32Array(bits.length)): Float32Array {
  if (type === 'float16') {
    const t = halfTable();
    for (let i = 0; i < bits.length; i++) out[i] = t[bits[i]];
  } else {
    const u = new Uint32Array(out.buffer, out.byteOffset, out.length);
    for (let i = 0; i < bits.length; i++) u[i] = bits[i] << 16;
  }
  return out;
}

/** float32 values -> half bits (Float16Array's own conversion where the runtime has it). */
export function float32ToHalf(type: HalfType, x: Float32Array, out: Uint16Array = new Uint16Array(x.length)): Uint16Array {
  const F16 = (globalThis as { Float16Array?: new (b: ArrayBufferLike, o: number, n: number) => ArrayLike<number> & { set(a: ArrayLike<number>): void } }).Float16Array;
  if (type === 'float16' && F16) {
    new F16(out.buffer, out.byteOffset, out.length).set(x);
    return out;
  }
  const conv = type === 'float16' ? toFloat16Bits : toBfloat16Bits;
  for (let i = 0; i < x.length; i++) out[i] = conv(x[i]);
  return out;
}

/** The Uint16Array bits of half data named `name` (a Float16Array is viewed, not copied). */
function bitsOf(name: string, type: HalfType, data: unknown): Uint16Array {
  const t = tag(data);
  if (t === 'Uint16Array') return data as Uint16Array;
  if (t === 'Float16Array' && type === 'float16') {
    const a = data as ArrayBufferView & { length: number };
    return new Uint16Array(a.buffer, a.byteOffset, a.length);
  }
  throw new TypeError(
    `${name} must be a Uint16Array${type === 'float16' ? ' or Float16Array' : ''} for ${type} data, got ${describe(data)}`,
  );
}

/** Checks a half tensor; returns its type, bits and dims (no conversion). */
export function checkHalfBits(name: string, t: unknown, rank?: number): { type: HalfType; bits: Uint16Array; dims: number[] } {
  const o = t as { type?: unknown; data?: unknown; dims?: unknown };
  const type: HalfType = o.type === undefined && tag(o.data) === 'Float16Array' ? 'float16' : (o.type as HalfType);
  if (type !== 'float16' && type !== 'bfloat16')
    throw new TypeError(`${name}.type must be 'float32', 'float16' or 'bfloat16', got ${describe(o.type)}`);
  const bits = bitsOf(`${name}.data`, type, o.data);
  const dims = checkDims(name, o.dims, rank);
  const n = checkedProduct(name, dims);
  if (bits.length !== n) {
    if (isDetached(bits)) throw new TypeError(`${name}.data is backed by a detached ArrayBuffer`);
    throw new RangeError(`${name}.data has ${bits.length} elements but its dims say ${n}`);
  }
  return { type, bits, dims };
}

/** Checks a half tensor and converts it to float32; returns its type too. */
export function checkHalfTensor(name: string, t: unknown, rank?: number): Tensor & { type: HalfType; dims: number[] } {
  const h = checkHalfBits(name, t, rank);
  return { type: h.type, data: halfToFloat32(h.type, h.bits), dims: h.dims };
}

/** Half q, k, v (all three of one type; checked, not converted), or undefined when none is half. */
export function halfInputs(q: unknown, k: unknown, v: unknown): { type: HalfType; bits: Uint16Array[]; dims: number[][] } | undefined {
  const given = [q, k, v];
  const half = given.map(isHalfTensor);
  if (!half.some(Boolean)) return undefined;
  const names = ['q', 'k', 'v'];
  const first = half.indexOf(true);
  const ts = given.map((t, i) => {
    if (half[i]) return checkHalfBits(names[i], t, 4);
    const type = (t as { type?: unknown } | null)?.type;
    if (type !== undefined && type !== 'float32')
      throw new TypeError(`${names[i]}.type must be 'float32', 'float16' or 'bfloat16', got ${describe(type)}`);
    throw new TypeError(`${names[i]} must be a half tensor like ${names[first]} (q, k and v share one element type), got float32`);
  });
  if (ts[1].type !== ts[0].type || ts[2].type !== ts[0].type)
    throw new TypeError(`q, k and v must have one element type, got ${ts.map((t) => t.type).join(', ')}`);
  return { type: ts[0].type, bits: ts.map((t) => t.bits), dims: ts.map((t) => t.dims) };
}

/** The output of a half call: options.out (a Uint16Array, or Float16Array for float16) or a new array. */
export function halfOutput(name: string, type: HalfType, out: unknown, n: number): Uint16Array {
  if (out === undefined) return new Uint16Array(n);
  const bits = bitsOf(name, type, out);
  if (bits.length !== n) {
    if (isDetached(bits)) throw new TypeError(`${name} is backed by a detached ArrayBuffer`);
    throw new RangeError(`${name} has ${bits.length} elements but the result needs ${n}`);
  }
  return bits;
}

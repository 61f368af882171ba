// A key/value cache for generation: keys [B, Hk, capacity, D] and values [B, Hk, capacity, Dv]
// in float32 storage that grows in place (to a preset capacity, or by doubling), so a decode step
// appends one token per row instead of re-copying the whole history. `cache.keys` / `cache.values`
// are views over the storage usable as attention()'s k and v without copying (the kernels read
// the first `length` rows of each head with the capacity's strides). With `dtype: 'float16'` or
// 'bfloat16' the storage holds half the bytes (rounded to nearest even on append) and the decode
// kernel widens them to float32 in its vector loads: half the memory traffic of a decode step.
// The storage lies on a SharedArrayBuffer, which attentionAsync() also reads in place (an ordinary
// buffer it must copy: the caller could detach it while the call runs). Appending while an async
// call reads the cache is safe (it writes past the call's length); clear() and append() then
// overwrite what the call may still be reading.
import { native } from './native';
import { Tensor, checkSize, checkTensor, checkedProduct, describe } from './tensor';

/** How a KVCache stores its keys and values. */
export type KVCacheDType = 'float32' | 'float16' | 'bfloat16';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 -> IEEE binary16 bits, round to nearest even (overflow -> Inf, NaN kept). */
export function toFloat16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 112;  // the binary16 exponent field
  if (e >= 31) return sign | 0x7c00;
  let h: number, rem: number, half: number;
  if (e <= 0) {  // a subnormal half (or zero)
    if (e < -10) return sign;
    const shift = 14 - e;
    const m = mant | 0x800000;
    h = m >>> shift;
    rem = m & ((1 << shift) - 1);
    half = 1 << (shift - 1);
  } else {
    h = (e << 10) | (mant >>> 13);
    rem = mant & 0x1fff;
    half = 0x1000;
  }
  if (rem > half || (rem === half && (h & 1))) h++;  // a carry into the exponent is right (up to Inf)
  return sign | h;
}

/** float32 -> bfloat16 bits, round to nearest even (NaN kept quiet). */
export function toBFloat16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0];
  if ((b & 0x7fffffff) > 0x7f800000) return ((b >>> 16) & 0x8000) | 0x7fc0;
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

/** IEEE binary16 bits -> number. */
export function fromFloat16Bits(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** bfloat16 bits -> number. */
export function fromBFloat16Bits(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0];
}

export interface KVCacheOptions {
  /** B: sequences in the batch. */
  batch: number;
  /** Hk: key/value heads. */
  kvHeads: number;
  /** D: key head size. */
  headSize: number;
  /** Dv: value head size (default headSize). */
  valueHeadSize?: number;
  /** Tokens per row to allocate up front (default 16); append() doubles it when it runs out. */
  capacity?: number;
  /** Storage type (default 'float32'); 16-bit storage is converted back to float32 by the kernel. */
  dtype?: KVCacheDType;
}

/**
 * A view of a cache's keys or values: dims [B, Hk, length, D] over the whole storage `data`
 * ([B, Hk, capacity, D]). attention() reads it in place; other consumers should call toTensor().
 * A view taken before an append() that grew the cache still shows the old storage: take views
 * after appending.
 */
export class KVCacheView {
  /** @internal */
  constructor(readonly data: Float32Array | Uint16Array, readonly dims: readonly [number, number, number, number], readonly capacity: number,
              readonly dtype: KVCacheDType = 'float32') {}

  /** A compact float32 copy [B, Hk, length, D] (16-bit storage decoded). */
  toTensor(): Tensor {
    const [B, Hk, N, D] = this.dims;
    const out = new Float32Array(B * Hk * N * D);
    const decode = this.dtype === 'float16' ? fromFloat16Bits : fromBFloat16Bits;
    for (let bh = 0; bh < B * Hk; bh++) {
      const src = this.data.subarray(bh * this.capacity * D, (bh * this.capacity + N) * D);
      if (this.dtype === 'float32') out.set(src, bh * N * D);
      else for (let i = 0; i < src.length; i++) out[bh * N * D + i] = decode(src[i]);
    }
    return { data: out, dims: this.dims.slice() };
  }
}

/** Key or value storage of at least this many bytes (two huge pages) is advised for huge pages. */
const HUGE_PAGE_CACHE_BYTES = 4 * 2 ** 20;

export class KVCache {
  readonly batch: number;
  readonly kvHeads: number;
  readonly headSize: number;
  readonly valueHeadSize: number;
  readonly dtype: KVCacheDType;
  private len = 0;
  private cap: number;
  private k: Float32Array | Uint16Array;
  private v: Float32Array | Uint16Array;

  constructor(options: KVCacheOptions) {
    if (options === null || typeof options !== 'object') throw new TypeError(`options must be an object, got ${describe(options)}`);
    for (const key of Object.keys(options))
      if (!['batch', 'kvHeads', 'headSize', 'valueHeadSize', 'capacity', 'dtype'].includes(key))
        throw new TypeError(`options: unknown option '${key}' (allowed: batch, kvHeads, headSize, valueHeadSize, capacity, dtype)`);
    const dtype = options.dtype ?? 'float32';
    if (dtype !== 'float32' && dtype !== 'float16' && dtype !== 'bfloat16')
      throw new (typeof dtype === 'string' ? RangeError : TypeError)(`options.dtype must be 'float32', 'float16' or 'bfloat16', got ${describe(dtype)}`);
    this.dtype = dtype;
    this.batch = checkSize('options.batch', options.batch, { min: 1 });
    this.kvHeads = checkSize('options.kvHeads', options.kvHeads, { min: 1 });
    this.headSize = checkSize('options.headSize', options.headSize, { min: 1 });
    this.valueHeadSize = options.valueHeadSize === undefined ? this.headSize : checkSize('options.valueHeadSize', options.valueHeadSize, { min: 1 });
    this.cap = options.capacity === undefined ? 16 : checkSize('options.capacity', options.capacity);
    this.k = this.alloc(this.cap, this.headSize);
    this.v = this.alloc(this.cap, this.valueHeadSize);
  }

  /** Tokens stored per row. */
  get length(): number {
    return this.len;
  }

  /** Tokens per row the storage holds before it must grow. */
  get capacity(): number {
    return this.cap;
  }

  /** The keys [B, Hk, length, D], read in place by attention(). */
  get keys(): KVCacheView {
    return new KVCacheView(this.k, [this.batch, this.kvHeads, this.len, this.headSize], this.cap, this.dtype);
  }

  /** The values [B, Hk, length, Dv], read in place by attention(). */
  get values(): KVCacheView {
    return new KVCacheView(this.v, [this.batch, this.kvHeads, this.len, this.valueHeadSize], this.cap, this.dtype);
  }

  private alloc(cap: number, d: number): Float32Array | Uint16Array {
    const n = checkedProduct('KVCache storage', [this.batch, this.kvHeads, cap, d]);
    // On a SharedArrayBuffer: it never detaches, so an async call reads it in place rather than
    // copying the whole cache for every step (native/binding/call_buffers.h).
    const bytes = checkedProduct('KVCache storage bytes', [n, this.dtype === 'float32' ? 4 : 2]);
    const buffer = typeof SharedArrayBuffer === 'function' ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
    const a = this.dtype === 'float32' ? new Float32Array(buffer) : new Uint16Array(buffer);
    // Every decode step reads the whole cache: a large one asks for huge pages before its first
    // touch (4 KiB pages cost a TLB miss each; measured ~1.2x faster float32 steps after other
    // work). It then becomes resident 2 MiB at a time rather than 4 KiB.
    if (a.byteLength >= HUGE_PAGE_CACHE_BYTES) native.adviseHugePages(a);
    return a;
  }

  /** Grows the storage to hold at least `capacity` tokens per row (one copy of what is stored). */
  reserve(capacity: number): void {
    checkSize('capacity', capacity);
    if (capacity <= this.cap) return;
    const grow = (old: Float32Array | Uint16Array, d: number) => {
      const next = this.alloc(capacity, d);
      for (let bh = 0; bh < this.batch * this.kvHeads; bh++)
        next.set(old.subarray(bh * this.cap * d, (bh * this.cap + this.len) * d), bh * capacity * d);
      return next;
    };
    const k = grow(this.k, this.headSize);
    const v = grow(this.v, this.valueHeadSize);
    this.k = k;
    this.v = v;
    this.cap = capacity;
  }

  /** Appends n tokens per row: k [B, Hk, n, D], v [B, Hk, n, Dv]. Grows by doubling when full. */
  append(k: Tensor, v: Tensor): void {
    const kt = checkTensor('k', k, 4);
    const vt = checkTensor('v', v, 4);
    const [B, Hk, n, D] = kt.dims;
    const want = `[${this.batch}, ${this.kvHeads}, n, ${this.headSize}]`;
    if (B !== this.batch || Hk !== this.kvHeads || D !== this.headSize) throw new RangeError(`k must be ${want}, got [${kt.dims.join(', ')}]`);
    const [Bv, Hv, nv, Dv] = vt.dims;
    if (Bv !== this.batch || Hv !== this.kvHeads || nv !== n || Dv !== this.valueHeadSize)
      throw new RangeError(`v must be [${this.batch}, ${this.kvHeads}, ${n}, ${this.valueHeadSize}] (n as k), got [${vt.dims.join(', ')}]`);
    const need = this.len + n;
    if (need > this.cap) this.reserve(Math.max(need, 2 * this.cap, 16));
    const put = (dst: Float32Array | Uint16Array, src: Float32Array, at: number) => {
      if (dst instanceof Float32Array) return dst.set(src, at);
      const enc = this.dtype === 'float16' ? toFloat16Bits : toBFloat16Bits;
      for (let i = 0; i < src.length; i++) dst[at + i] = enc(src[i]);
    };
    for (let bh = 0; bh < B * Hk; bh++) {
      put(this.k, kt.data.subarray(bh * n * D, (bh + 1) * n * D), (bh * this.cap + this.len) * D);
      put(this.v, vt.data.subarray(bh * n * Dv, (bh + 1) * n * Dv), (bh * this.cap + this.len) * Dv);
    }
    this.len = need;
  }

  /** Forgets the stored tokens (keeps the storage). */
  clear(): void {
    this.len = 0;
  }
}

/** attention()'s k and v as KVCache views: both or neither, of the same cache geometry. */
export function checkCacheViews(k: unknown, v: unknown): { k: KVCacheView; v: KVCacheView } | undefined {
  const kc = k instanceof KVCacheView, vc = v instanceof KVCacheView;
  if (!kc && !vc) return undefined;
  if (!kc || !vc) throw new RangeError('k and v must both be KVCache views (cache.keys, cache.values) or both plain tensors');
  if (k.capacity !== v.capacity || k.dims[2] !== v.dims[2] || k.dtype !== v.dtype) throw new RangeError('k and v must be views of the same KVCache');
  return { k, v };
}

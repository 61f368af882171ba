// A key/value cache for generation: keys [B, Hk, capacity, D] and values [B, Hk, capacity, Dv]
// in float32 storage that grows in place (to a preset capacity, or by doubling), so a decode step
// appends one token per row instead of re-copying the whole history. `cache.keys` / `cache.values`
// are views over the storage usable as attention()'s k and v without copying (the kernels read
// the first `length` rows of each head with the capacity's strides).
import { Tensor, checkSize, checkTensor, checkedProduct, describe } from './tensor';

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
}

/**
 * A view of a cache's keys or values: dims [B, Hk, length, D] over the whole storage `data`
 * ([B, Hk, capacity, D]). attention() reads it in place; other consumers should call toTensor().
 * A view taken before an append() that grew the cache still shows the old storage: take views
 * after appending.
 */
export class KVCacheView {
  /** @internal */
  constructor(readonly data: Float32Array, readonly dims: readonly [number, number, number, number], readonly capacity: number) {}

  /** A compact copy [B, Hk, length, D]. */
  toTensor(): Tensor {
    const [B, Hk, N, D] = this.dims;
    const out = new Float32Array(B * Hk * N * D);
    for (let bh = 0; bh < B * Hk; bh++) out.set(this.data.subarray(bh * this.capacity * D, (bh * this.capacity + N) * D), bh * N * D);
    return { data: out, dims: this.dims.slice() };
  }
}

export class KVCache {
  readonly batch: number;
  readonly kvHeads: number;
  readonly headSize: number;
  readonly valueHeadSize: number;
  private len = 0;
  private cap: number;
  private k: Float32Array;
  private v: Float32Array;

  constructor(options: KVCacheOptions) {
    if (options === null || typeof options !== 'object') throw new TypeError(`options must be an object, got ${describe(options)}`);
    for (const key of Object.keys(options))
      if (!['batch', 'kvHeads', 'headSize', 'valueHeadSize', 'capacity'].includes(key))
        throw new TypeError(`options: unknown option '${key}' (allowed: batch, kvHeads, headSize, valueHeadSize, capacity)`);
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
    return new KVCacheView(this.k, [this.batch, this.kvHeads, this.len, this.headSize], this.cap);
  }

  /** The values [B, Hk, length, Dv], read in place by attention(). */
  get values(): KVCacheView {
    return new KVCacheView(this.v, [this.batch, this.kvHeads, this.len, this.valueHeadSize], this.cap);
  }

  private alloc(cap: number, d: number): Float32Array {
    return new Float32Array(checkedProduct('KVCache storage', [this.batch, this.kvHeads, cap, d]));
  }

  /** Grows the storage to hold at least `capacity` tokens per row (one copy of what is stored). */
  reserve(capacity: number): void {
    checkSize('capacity', capacity);
    if (capacity <= this.cap) return;
    const grow = (old: Float32Array, d: number) => {
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
    for (let bh = 0; bh < B * Hk; bh++) {
      this.k.set(kt.data.subarray(bh * n * D, (bh + 1) * n * D), (bh * this.cap + this.len) * D);
      this.v.set(vt.data.subarray(bh * n * Dv, (bh + 1) * n * Dv), (bh * this.cap + this.len) * Dv);
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
  if (k.capacity !== v.capacity || k.dims[2] !== v.dims[2]) throw new RangeError('k and v must be views of the same KVCache');
  return { k, v };
}

// KVCache: keys/values storage [B, Hk, capacity, D] that grows in place (preset capacity, or
// doubling), and views (cache.keys / cache.values) that attention() reads without copying. A
// generation loop over the cache must give the same bits as attention() on the compact tensors
// of the same tokens, for decode steps (Nq = 1) and prefill chunks (Nq > 1, causal), GQA, masks,
// under every ISA, sync and async.
import { KVCache, KVCacheView, attention, attentionAsync } from '../lib/index';
import { maxAbsDiff, mulberry32, randomData, randomMask } from './helpers/fixtures';
import { availableIsas, withIsa } from './helpers/isa';

const rng = mulberry32(77);
const B = 2, H = 6, Hk = 2, D = 24, Dv = 20;

/** A random step's k, v ([B, Hk, n, ·]) and q ([B, H, n, D]). */
function step(n: number) {
  return {
    q: { data: randomData(rng, B * H * n * D), dims: [B, H, n, D] },
    k: { data: randomData(rng, B * Hk * n * D), dims: [B, Hk, n, D] },
    v: { data: randomData(rng, B * Hk * n * Dv), dims: [B, Hk, n, Dv] },
  };
}

/** Concatenates [B, Hk, n_i, d] chunks along the token axis. */
function concat(parts: { data: Float32Array; dims: number[] }[], d: number) {
  const N = parts.reduce((a, p) => a + p.dims[2], 0);
  const out = new Float32Array(B * Hk * N * d);
  let off = 0;
  for (const p of parts) {
    const n = p.dims[2];
    for (let bh = 0; bh < B * Hk; bh++) out.set(p.data.subarray(bh * n * d, (bh + 1) * n * d), (bh * N + off) * d);
    off += n;
  }
  return { data: out, dims: [B, Hk, N, d] };
}

describe.each(availableIsas())('KVCache with attention(), ISA %s', (isa) => {
  test('a prefill then decode steps, growing from capacity 4: same bits as compact tensors', () => {
    withIsa(isa, () => {
      const cache = new KVCache({ batch: B, kvHeads: Hk, headSize: D, valueHeadSize: Dv, capacity: 4 });
      const ks: { data: Float32Array; dims: number[] }[] = [], vs: typeof ks = [];
      const caps = new Set<number>();
      for (const n of [7, 1, 1, 3, 1, 1, 1, 40, 1, 1]) {
        const s = step(n);
        cache.append(s.k, s.v);
        ks.push(s.k);
        vs.push(s.v);
        caps.add(cache.capacity);
        const kf = concat(ks, D), vf = concat(vs, Dv);
        expect(cache.length).toBe(kf.dims[2]);
        for (const causal of [false, true]) {
          const got = attention(s.q, cache.keys, cache.values, { causal });
          const want = attention(s.q, kf, vf, { causal });
          expect(maxAbsDiff(got.data, want.data)).toBe(0);
        }
        const mask = randomMask(rng, B * cache.length, 0.6);
        expect(maxAbsDiff(attention(s.q, cache.keys, cache.values, { keyMask: mask, threads: 2 }).data,
          attention(s.q, kf, vf, { keyMask: mask, threads: 2 }).data)).toBe(0);
      }
      expect(caps.size).toBeGreaterThan(2);  // it grew more than once
      expect(cache.capacity).toBeGreaterThanOrEqual(cache.length);
    });
  });
});

describe('KVCache', () => {
  test('views are the storage itself (no copies); a preset capacity never reallocates', () => {
    const cache = new KVCache({ batch: B, kvHeads: Hk, headSize: D, valueHeadSize: Dv, capacity: 64 });
    const storage = cache.keys.data;
    for (let i = 0; i < 64; i++) {
      const s = step(1);
      cache.append(s.k, s.v);
      expect(cache.keys.data).toBe(storage);
    }
    expect(cache.keys.dims).toEqual([B, Hk, 64, D]);
    const s = step(1);
    cache.append(s.k, s.v);  // the 65th token: doubles
    expect(cache.capacity).toBe(128);
    expect(cache.keys.data).not.toBe(storage);
    expect(cache.keys).toBeInstanceOf(KVCacheView);
  });

  test('toTensor() is the compact copy; clear() keeps the storage; reserve() grows once', () => {
    const cache = new KVCache({ batch: B, kvHeads: Hk, headSize: D, valueHeadSize: Dv, capacity: 3 });
    const a = step(2), b = step(2);
    cache.append(a.k, a.v);
    cache.append(b.k, b.v);
    expect(maxAbsDiff(cache.keys.toTensor().data, concat([a.k, b.k], D).data)).toBe(0);
    expect(maxAbsDiff(cache.values.toTensor().data, concat([a.v, b.v], Dv).data)).toBe(0);
    cache.reserve(100);
    expect(cache.capacity).toBe(100);
    expect(maxAbsDiff(cache.keys.toTensor().data, concat([a.k, b.k], D).data)).toBe(0);
    const storage = cache.keys.data;
    cache.clear();
    expect(cache.length).toBe(0);
    cache.append(b.k, b.v);
    expect(cache.keys.data).toBe(storage);
    expect(maxAbsDiff(cache.keys.toTensor().data, b.k.data)).toBe(0);
  });

  test('attentionAsync reads the views too', async () => {
    const cache = new KVCache({ batch: B, kvHeads: Hk, headSize: D, valueHeadSize: Dv });
    const s = step(50);
    cache.append(s.k, s.v);
    const q = step(1).q;
    const r = await attentionAsync(q, cache.keys, cache.values, { signal: new AbortController().signal });
    expect(maxAbsDiff(r.data, attention(q, s.k, s.v).data)).toBe(0);
  });

  test('bad input', () => {
    expect(() => new KVCache({ batch: 0, kvHeads: 1, headSize: 1 })).toThrow(RangeError);
    expect(() => new KVCache({ batch: 1, kvHeads: 1, headSize: 1, capcity: 3 } as never)).toThrow(/unknown option 'capcity'/);
    expect(() => new KVCache(null as never)).toThrow(TypeError);
    const cache = new KVCache({ batch: B, kvHeads: Hk, headSize: D, valueHeadSize: Dv });
    const s = step(2);
    expect(() => cache.append({ data: s.k.data, dims: [B, Hk + 1, 1, D] }, s.v)).toThrow(RangeError);
    expect(() => cache.append(s.k, { data: s.v.data.subarray(0, B * Hk * Dv), dims: [B, Hk, 1, Dv] })).toThrow(/v must be/);
    expect(() => cache.append(s.k, { data: s.v.data, dims: [B, Hk, 2, Dv + 1] })).toThrow(RangeError);
    expect(cache.length).toBe(0);  // failed appends store nothing
    cache.append(s.k, s.v);
    const q = step(1).q;
    expect(() => attention(q, cache.keys, s.v)).toThrow(/both be KVCache views/);
    expect(() => attention({ data: q.data, dims: [B, 1, H, D] }, cache.keys, cache.values, { layout: 'bnhd' })).toThrow(/need options.layout 'bhnd'/);
    expect(() => new KVCache({ batch: 2 ** 20, kvHeads: 2 ** 10, headSize: 2 ** 10, capacity: 16 })).toThrow(/too many elements/);
    expect(() => attention({ data: new Float32Array(H * D), dims: [1, H, D] }, cache.keys, cache.values, { layout: 'packed', seqStarts: Int32Array.from([0, 1]) }))
      .toThrow(/do not go with layout 'packed'/);
  });
});

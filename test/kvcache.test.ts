// KVCache: keys/values storage [B, Hk, capacity, D] that grows in place (preset capacity, or
// doubling), and views (cache.keys / cache.values) that attention() reads without copying. A
// generation loop over the cache must give the same bits as attention() on the compact tensors
// of the same tokens, for decode steps (Nq = 1) and prefill chunks (Nq > 1, causal), GQA, masks,
// under every ISA, sync and async. 16-bit caches (float16, bfloat16) store rounded values and the
// decode kernel converts them back per tile: the same bits as float32 tensors holding those values.
import * as fs from 'fs';
import { KVCache, KVCacheView, attention, attentionAsync } from '../lib/index';
import { native } from '../lib/native';
import { fromBFloat16Bits, fromFloat16Bits, toBFloat16Bits, toFloat16Bits } from '../lib/kv-cache';
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

  test.each(['float32', 'bfloat16', 'float16'] as const)('%s: attentionAsync reads the cache in place (only q is copied); same bits as sync', async (dtype) => {
    const cache = new KVCache({ batch: B, kvHeads: Hk, headSize: D, valueHeadSize: Dv, dtype });
    cache.append(step(40).k, step(40).v);
    expect(Object.prototype.toString.call(cache.keys.data.buffer)).toBe('[object SharedArrayBuffer]');
    const q = step(1).q;
    const sync = attention(q, cache.keys, cache.values).data;
    const before = native.asyncCopiedBytes();
    const r = await attentionAsync(q, cache.keys, cache.values);
    // q copied; not the cache's keys and values, nor the output (allocated by the addon, written in place).
    expect(native.asyncCopiedBytes() - before).toBe(q.data.byteLength);
    expect(maxAbsDiff(r.data, sync)).toBe(0);
    expect(Array.from(r.data)).toEqual(Array.from(sync));
  });

  test('appending while an async call reads the cache: the call sees the tokens it started with', async () => {
    const cache = new KVCache({ batch: B, kvHeads: Hk, headSize: D, valueHeadSize: Dv, capacity: 300 });
    const s = step(200);
    cache.append(s.k, s.v);
    const q = step(1).q;
    const want = attention(q, s.k, s.v).data;
    const pending = Array.from({ length: 8 }, () => attentionAsync(q, cache.keys, cache.values));
    for (let i = 0; i < 20; i++) cache.append(step(1).k, step(1).v);  // past the calls' length, same storage
    for (const r of await Promise.all(pending)) expect(maxAbsDiff(r.data, want)).toBe(0);
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

describe('large caches (storage advised for huge pages, where the system gives them)', () => {
  // Key/value storage of 4 MiB or more is advised for transparent huge pages when allocated.
  test.each([['float32', 8200], ['bfloat16', 16400]] as const)('%s: zeroed, grown into from a small cache, same bits as a small cache', (dtype, cap) => {
    const hk = 2, d = 64;
    const big = new KVCache({ batch: 1, kvHeads: hk, headSize: d, capacity: 16, dtype });
    const small = new KVCache({ batch: 1, kvHeads: hk, headSize: d, capacity: 16, dtype });
    const chunk = (n: number) => ({ k: { data: randomData(rng, hk * n * d), dims: [1, hk, n, d] }, v: { data: randomData(rng, hk * n * d), dims: [1, hk, n, d] } });
    const a = chunk(40), b = chunk(300);
    big.append(a.k, a.v);
    small.append(a.k, a.v);
    big.reserve(cap);  // 16 -> cap tokens: the storage moves to a large (advised) buffer, contents copied
    const storage = big.keys.data;
    expect(storage).toBeInstanceOf(dtype === 'float32' ? Float32Array : Uint16Array);
    expect(storage.length).toBe(hk * cap * d);
    expect(storage.byteLength).toBeGreaterThanOrEqual(4 * 2 ** 20);
    for (let h = 0; h < hk; h++)  // past the stored tokens: zeros
      expect(storage.subarray((h * cap + 40) * d, (h + 1) * cap * d).every((x) => x === 0)).toBe(true);
    big.append(b.k, b.v);
    small.append(b.k, b.v);
    expect(big.keys.data).toBe(storage);
    expect(maxAbsDiff(big.keys.toTensor().data, small.keys.toTensor().data)).toBe(0);
    expect(maxAbsDiff(big.values.toTensor().data, small.values.toTensor().data)).toBe(0);
    const q = { data: randomData(rng, 4 * d), dims: [1, 4, 1, d] };
    const want = attention(q, small.keys, small.values, { causal: true }).data;
    expect(maxAbsDiff(attention(q, big.keys, big.values, { causal: true }).data, want)).toBe(0);
    expect(maxAbsDiff(attention(q, big.keys, big.values, { causal: true, threads: 2 }).data, want)).toBe(0);
    big.clear();
    expect(big.keys.data).toBe(storage);
  });
});

test('adviseHugePages: a hint on a buffer, contents unchanged; bad arguments are TypeErrors', () => {
  const a = Float32Array.from({ length: 2 ** 21 }, (_, i) => i);
  const advised = native.adviseHugePages(a);
  // Linux with transparent huge pages built in takes the hint (whatever its mode); elsewhere false.
  if (fs.existsSync('/sys/kernel/mm/transparent_hugepage/enabled')) expect(advised).toBe(true);
  else expect(typeof advised).toBe('boolean');
  expect(a.every((x, i) => x === i)).toBe(true);
  const shared = new Float32Array(new SharedArrayBuffer(2 ** 23));  // a KVCache's storage: a SharedArrayBuffer
  if (fs.existsSync('/sys/kernel/mm/transparent_hugepage/enabled')) expect(native.adviseHugePages(shared)).toBe(true);
  else expect(typeof native.adviseHugePages(shared)).toBe('boolean');
  expect(native.adviseHugePages(new Uint16Array(4))).toBe(false);  // no whole huge page inside
  expect(native.adviseHugePages(new ArrayBuffer(0))).toBe(false);
  for (const bad of [4, undefined, [1, 2]]) {
    let err: Error | undefined;
    try {
      native.adviseHugePages(bad as never);
    } catch (e) {
      err = e as Error;
    }
    expect(err?.name).toBe('TypeError');  // the addon's realm: name, not instanceof
    expect(err?.message).toMatch(/array must be a typed array or an ArrayBuffer/);
  }
});

describe('16-bit storage: the conversions', () => {
  test('float16: known values, rounding to nearest even, and every half round-trips', () => {
    const cases: [number, number][] = [
      [0, 0], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [0.1, 0x2e66], [65504, 0x7bff], [65519, 0x7bff], [65520, 0x7c00],
      [1e10, 0x7c00], [Infinity, 0x7c00], [-Infinity, 0xfc00], [2 ** -24, 0x0001], [2 ** -25, 0], [1.5 * 2 ** -25, 1],
      [2 ** -14, 0x0400], [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02],
    ];
    for (const [x, h] of cases) expect([x, toFloat16Bits(x)]).toEqual([x, h]);
    expect(toFloat16Bits(NaN) & 0x7e00).toBe(0x7e00);
    for (let h = 0; h < 0x10000; h++) {
      const x = fromFloat16Bits(h);
      if (Number.isNaN(x)) continue;
      if (toFloat16Bits(x) !== h) throw new Error(`half 0x${h.toString(16)} -> ${x} -> 0x${toFloat16Bits(x).toString(16)}`);
    }
  });

  test('bfloat16: known values, rounding to nearest even, and every value round-trips', () => {
    expect(toBFloat16Bits(1)).toBe(0x3f80);
    expect(toBFloat16Bits(-2)).toBe(0xc000);
    expect(toBFloat16Bits(1 + 2 ** -8)).toBe(0x3f80);  // a tie: to even
    expect(toBFloat16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(toBFloat16Bits(NaN) & 0x7fc0).toBe(0x7fc0);
    for (let h = 0; h < 0x10000; h++) {
      const x = fromBFloat16Bits(h);
      if (Number.isNaN(x)) continue;
      if (toBFloat16Bits(x) !== h) throw new Error(`bf16 0x${h.toString(16)} -> ${x} -> 0x${toBFloat16Bits(x).toString(16)}`);
    }
  });
});

describe.each(availableIsas())('16-bit KVCache with attention(), ISA %s', (isa) => {
  test.each(['float16', 'bfloat16'] as const)('%s: same bits as float32 tensors of the stored values (decode steps, causal, masks)', (dtype) => {
    withIsa(isa, () => {
      const cache = new KVCache({ batch: B, kvHeads: Hk, headSize: D, valueHeadSize: Dv, capacity: 8, dtype });
      for (const n of [9, 1, 1, 70, 1]) {
        const s = step(n);
        cache.append(s.k, s.v);
        const kf = cache.keys.toTensor(), vf = cache.values.toTensor();
        expect(cache.keys.data).toBeInstanceOf(Uint16Array);
        const q1 = step(1).q;
        for (const causal of [false, true])
          expect(maxAbsDiff(attention(q1, cache.keys, cache.values, { causal, threads: 2 }).data, attention(q1, kf, vf, { causal, threads: 2 }).data)).toBe(0);
        const mask = randomMask(rng, B * cache.length, 0.6);
        expect(maxAbsDiff(attention(q1, cache.keys, cache.values, { keyMask: mask }).data, attention(q1, kf, vf, { keyMask: mask }).data)).toBe(0);
        // More queries than the decode path's 4: still the decode kernel (it converts), within float32 rounding of the other.
        const q7 = step(7).q;
        expect(maxAbsDiff(attention(q7, cache.keys, cache.values, { causal: true }).data, attention(q7, kf, vf, { causal: true }).data)).toBeLessThan(2e-6);
      }
      // The stored values are the inputs rounded: |error| <= 2^-11 (float16) or 2^-8 (bfloat16) relative.
      const last = step(1);
      const c2 = new KVCache({ batch: B, kvHeads: Hk, headSize: D, valueHeadSize: Dv, dtype });
      c2.append(last.k, last.v);
      const back = c2.keys.toTensor().data, tol = dtype === 'float16' ? 2 ** -11 : 2 ** -8;
      last.k.data.forEach((x, i) => expect(Math.abs(back[i] - x)).toBeLessThanOrEqual(tol * Math.abs(x) + 2 ** -24));
    });
  });
});

describe('16-bit KVCache: async and bad input', () => {
  test('attentionAsync reads a bfloat16 cache; returnWeights and bad dtypes are refused', async () => {
    const cache = new KVCache({ batch: B, kvHeads: Hk, headSize: D, valueHeadSize: Dv, dtype: 'bfloat16' });
    const s = step(30);
    cache.append(s.k, s.v);
    const q = step(1).q;
    const r = await attentionAsync(q, cache.keys, cache.values);
    expect(maxAbsDiff(r.data, attention(q, cache.keys.toTensor(), cache.values.toTensor()).data)).toBe(0);
    expect(() => attention(q, cache.keys, cache.values, { returnWeights: true })).toThrow(/not supported with a 16-bit KVCache/);
    expect(() => new KVCache({ batch: 1, kvHeads: 1, headSize: 1, dtype: 'float64' as never })).toThrow(RangeError);
    expect(() => new KVCache({ batch: 1, kvHeads: 1, headSize: 1, dtype: 16 as never })).toThrow(TypeError);
    const c32 = new KVCache({ batch: B, kvHeads: Hk, headSize: D, valueHeadSize: Dv });
    c32.append(s.k, s.v);
    expect(() => attention(q, cache.keys, c32.values)).toThrow(/views of the same KVCache/);
  });
});

describe.each(availableIsas())('16-bit KVCache: the kernel decodes every value exactly, ISA %s', (isa) => {
  // One key per row: the output is that key's value row, i.e. the kernel's own decoding of the
  // stored bits. 16 rows x 4096 = all 65536 bit patterns (subnormals, Inf, NaN included).
  test.each([['float16', fromFloat16Bits], ['bfloat16', fromBFloat16Bits]] as const)('%s', (dtype, decode) => {
    withIsa(isa, () => {
      const Bn = 16, Dvn = 4096;
      const values = Float32Array.from({ length: Bn * Dvn }, (_, h) => decode(h));
      const cache = new KVCache({ batch: Bn, kvHeads: 1, headSize: 1, valueHeadSize: Dvn, capacity: 1, dtype });
      cache.append({ data: new Float32Array(Bn).fill(0.5), dims: [Bn, 1, 1, 1] }, { data: values, dims: [Bn, 1, 1, Dvn] });
      const stored = cache.values.data as Uint16Array;
      for (let h = 0; h < stored.length; h++) if (!Number.isNaN(values[h])) expect(stored[h]).toBe(h);
      const out = attention({ data: new Float32Array(Bn).fill(1), dims: [Bn, 1, 1, 1] }, cache.keys, cache.values).data;
      let bad = 0;
      // (=== : -0 comes out +0, the accumulator starts at +0.)
      for (let h = 0; h < out.length; h++) if (out[h] !== values[h] && !(Number.isNaN(out[h]) && Number.isNaN(values[h]))) bad++;
      expect(bad).toBe(0);
    });
  });
});

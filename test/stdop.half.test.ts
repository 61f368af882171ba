// float16 / bfloat16 tensors (ORT's { type, data: Uint16Array, dims }): the conversions (every
// binary16 pattern, round-to-nearest-even against exact neighbours), attention() on half inputs
// against the float32 path, the float64 reference and ORT's float16 Attention, and bad half inputs.
import { AttentionOptions, attention, attentionAsync } from '../lib/index';
import { float32ToHalf, halfToFloat32, toBfloat16Bits, toFloat16Bits, HalfTensor } from '../lib/half';
import { DenseOnnxSpec, buildDenseAttentionModel, runOnnx } from '../lib/onnx';
import { mulberry32, randomTensor } from './helpers/fixtures';
import { availableIsas, withIsa } from './helpers/isa';
import { referenceStandardAttention } from './helpers/standard-reference';

describe('conversions', () => {
  test('every binary16 pattern survives float16 -> float32 -> float16', () => {
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const f = halfToFloat32('float16', all);
    const back = float32ToHalf('float16', f);
    for (let h = 0; h < 65536; h++) {
      if (Number.isNaN(f[h])) {
        expect((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0).toBe(true);
        expect(Number.isNaN(halfToFloat32('float16', Uint16Array.of(back[h]))[0])).toBe(true);
      } else if (back[h] !== h) throw new Error(`pattern ${h.toString(16)} came back as ${back[h].toString(16)}`);
    }
    expect(f[0x3c00]).toBe(1);
    expect(f[0x0001]).toBe(2 ** -24);
    expect(f[0x7bff]).toBe(65504);
    expect(f[0xfc00]).toBe(-Infinity);
  });

  test('float32 -> float16 and bfloat16 round to the nearest, ties to even', () => {
    const rng = mulberry32(11);
    const table = halfToFloat32('float16', Uint16Array.from({ length: 65536 }, (_, i) => i));
    const bf = (bits: number) => halfToFloat32('bfloat16', Uint16Array.of(bits))[0];
    // Random magnitudes across the float16 range (subnormals included), and exact midpoints.
    const xs: number[] = [];
    for (let i = 0; i < 20000; i++) xs.push(Math.fround((rng() < 0.5 ? -1 : 1) * 2 ** (rng() * 44 - 28) * (1 + rng())));
    for (let h = 0; h < 0x7bff; h += 37) xs.push(Math.fround((table[h] + table[h + 1]) / 2));
    for (const x of xs) {
      const check = (bits: number, value: (b: number) => number, what: string) => {
        const v = value(bits);
        const err = Math.abs(v - x);
        for (const nb of [bits - 1, bits + 1]) {
          if (nb < 0 || (nb & 0x7fff) >= 0x7c00 || (what === 'bfloat16' && (nb & 0x7fff) >= 0x7f80)) continue;
          const e2 = Math.abs(value(nb) - x);
          if (e2 < err || (e2 === err && (bits & 1) === 1 && Math.abs(x) < 65504))
            throw new Error(`${what} of ${x}: ${bits.toString(16)} (${v}) but ${nb.toString(16)} (${value(nb)}) is nearer or even`);
        }
      };
      if (Math.abs(x) < 65504) check(toFloat16Bits(x), (b) => table[b], 'float16');
      check(toBfloat16Bits(x), bf, 'bfloat16');
    }
    expect(toFloat16Bits(65520)).toBe(0x7c00); // halfway to 2^16: ties to even = Infinity
    expect(toFloat16Bits(2 ** -25)).toBe(0); // halfway to the smallest subnormal: ties to even = 0
    expect(toFloat16Bits(Math.fround(2 ** -25 * 1.5))).toBe(1);
    expect(toBfloat16Bits(NaN) & 0x7fc0).toBe(0x7fc0);
  });
});

function toHalfTensor(type: 'float16' | 'bfloat16', t: { data: Float32Array; dims: number[] }): HalfTensor {
  return { type, data: float32ToHalf(type, t.data), dims: t.dims };
}

describe('attention() on half tensors', () => {
  for (const type of ['float16', 'bfloat16'] as const)
    test(`${type}: the float32 path on the same values, output rounded to ${type}; close to the float64 reference`, async () => {
      const rng = mulberry32(type === 'float16' ? 3 : 4);
      const [B, H, Hk, Nq, Nk, D] = [2, 4, 2, 33, 140, 16];
      const q = toHalfTensor(type, randomTensor(rng, [B, H, Nq, D]));
      const k = toHalfTensor(type, randomTensor(rng, [B, Hk, Nk, D]));
      const v = toHalfTensor(type, randomTensor(rng, [B, Hk, Nk, D]));
      const bias = toHalfTensor(type, randomTensor(rng, [1, H, Nq, Nk]));
      const f = (t: HalfTensor) => ({ data: halfToFloat32(type, t.data), dims: t.dims.slice() });
      const opts = { causal: true, softcap: 4, window: [50, 3] as [number, number], bias, returnLogSumExp: true };
      const r = attention(q, k, v, opts);
      expect(r.type).toBe(type);
      expect(r.data).toBeInstanceOf(Uint16Array);
      expect(r.dims).toEqual([B, H, Nq, D]);
      const r32 = attention(f(q), f(k), f(v), { ...opts, bias: f(bias) });
      expect(Array.from(r.data)).toEqual(Array.from(float32ToHalf(type, r32.data)));
      expect(r.logSumExp!.data).toEqual(r32.logSumExp!.data); // float32 whatever the input type
      const ref = referenceStandardAttention(f(q), f(k), f(v), { causal: true, softcap: 4, window: [50, 3], bias: f(bias) });
      const got = halfToFloat32(type, r.data);
      const ulp = type === 'float16' ? 2 ** -11 : 2 ** -8; // half a unit in the last place, relative
      for (let i = 0; i < got.length; i++) expect(Math.abs(got[i] - ref.out[i])).toBeLessThanOrEqual(ulp * Math.abs(ref.out[i]) + 2e-5);
      // async and a preallocated half output
      const out = new Uint16Array(r.data.length);
      const ra = await attentionAsync(q, k, v, { ...opts, out });
      expect(ra.data).toBe(out);
      expect(Array.from(out)).toEqual(Array.from(r.data));
      // async calls work on copies: changing (or transferring away) the inputs after the call changes nothing
      const kc = { ...k, data: k.data.slice() };
      const pending = attentionAsync(q, kc, v, opts);
      kc.data.fill(0x7e00);
      structuredClone(kc.data.buffer, { transfer: [kc.data.buffer] });
      expect(Array.from((await pending).data)).toEqual(Array.from(r.data));
    });

  // options.out: the addon writes into it directly where its bytes can be viewed as float32 pairs
  // (even length, 4-byte offset, no array the call reads sharing them), else into a buffer of its
  // own that is copied over. Either way: the same bits as without out, out itself as the result's
  // data, and not one element written outside it.
  test('options.out: written in place or through a copy, the same bits, nothing outside it touched', async () => {
    const rng = mulberry32(41);
    const run = (call: 'sync' | 'async', q: HalfTensor, k: HalfTensor, v: HalfTensor, o: AttentionOptions) =>
      call === 'sync' ? attention(q, k, v, o) : attentionAsync(q, k, v, o);
    const GUARD = 0xabcd;
    for (const [B, H, N, D] of [[2, 3, 40, 16], [1, 1, 3, 5]]) {  // n = 3840 (even) and 15 (odd)
      const q = toHalfTensor('float16', randomTensor(rng, [B, H, N, D]));
      const k = toHalfTensor('float16', randomTensor(rng, [B, H, N, D]));
      const v = toHalfTensor('float16', randomTensor(rng, [B, H, N, D]));
      const opts = { causal: true, window: [7, 1] as [number, number] };
      const want = Array.from(attention(q, k, v, opts).data);
      const n = want.length;
      // Offsets of 0, 1, 2 elements into a guarded buffer: 4-byte aligned or not.
      for (const offset of [0, 1, 2])
        for (const call of ['sync', 'async'] as const) {
          const buf = new Uint16Array(offset + n + 3).fill(GUARD);
          const out = buf.subarray(offset, offset + n);
          const r = await run(call, q, k, v, { ...opts, out });
          expect(r.data).toBe(out);
          expect(Array.from(out)).toEqual(want);
          expect(Array.from(buf.subarray(0, offset)).every((x) => x === GUARD)).toBe(true);
          expect(Array.from(buf.subarray(offset + n)).every((x) => x === GUARD)).toBe(true);
        }
      // out sharing the bytes of an input (q itself): the result is computed from q as it was.
      for (const call of ['sync', 'async'] as const) {
        const qc = { ...q, data: q.data.slice() };
        const r = await run(call, qc, k, v, { ...opts, out: qc.data });
        expect(r.data).toBe(qc.data);
        expect(Array.from(qc.data)).toEqual(want);
      }
    }
    // out over the second half of v's bytes, with twice as many keys as queries: the first heads'
    // output rows land on values later heads still read, so only a copy gives the right result.
    const [B, H, N, D] = [2, 3, 40, 16];
    const q = toHalfTensor('float16', randomTensor(rng, [B, H, N, D]));
    const k = toHalfTensor('float16', randomTensor(rng, [B, H, 2 * N, D]));
    const v = toHalfTensor('float16', randomTensor(rng, [B, H, 2 * N, D]));
    const want = Array.from(attention(q, k, v).data);
    for (const call of ['sync', 'async'] as const) {
      const vc = { ...v, data: v.data.slice() };
      const out = vc.data.subarray(vc.data.length - want.length);
      const r = await run(call, q, k, vc, { out, threads: 2 });
      expect(r.data).toBe(out);
      expect(Array.from(out)).toEqual(want);
    }
    // out over the bytes of a float32 bias every head reads: copied in too.
    const bias = randomTensor(rng, [1, 1, N, 2 * N]);
    const wantB = Array.from(attention(q, k, v, { bias }).data);
    for (const call of ['sync', 'async'] as const) {
      const bc = { data: bias.data.slice(), dims: bias.dims };
      const out = new Uint16Array(bc.data.buffer, 0, wantB.length);
      const r = await run(call, q, k, v, { bias: bc, out });
      expect(r.data).toBe(out);
      expect(Array.from(out)).toEqual(wantB);
    }
  });

  for (const type of ['float16', 'bfloat16'] as const)
    test(`${type}: the addon's conversions, every pattern and every midpoint (one batch per value)`, () => {
      const n = 65536;
      const one = (data: Uint16Array) => ({ type, data, dims: [n, 1, data.length / n, 1] });
      // One key per batch: the output is that key's value, so every pattern must come back.
      const all = Uint16Array.from({ length: n }, (_, i) => i);
      const r = attention(one(new Uint16Array(n)), one(new Uint16Array(n)), one(all));
      const f = halfToFloat32(type, all);
      for (let i = 0; i < n; i++)
        if (Number.isNaN(f[i])) expect(Number.isNaN(halfToFloat32(type, Uint16Array.of(r.data[i]))[0])).toBe(true);
        // (-0 comes back as +0: the kernel's 0 + 1 * -0 is +0)
        else if (r.data[i] !== i && !(i === 0x8000 && r.data[i] === 0)) throw new Error(`${type} pattern ${i.toString(16)} came back as ${r.data[i].toString(16)}`);
      // Two keys with equal scores: the output is the exact midpoint of two neighbours, rounded to even.
      const pairs = new Uint16Array(2 * n);
      for (let i = 0; i < n; i++) [pairs[2 * i], pairs[2 * i + 1]] = [i, (i + 1) & 0xffff];
      const m = attention(one(new Uint16Array(n)), one(new Uint16Array(2 * n)), one(pairs));
      const mid = halfToFloat32(type, pairs);
      const conv = type === 'float16' ? toFloat16Bits : toBfloat16Bits;
      for (let i = 0; i < n; i++) {
        const want = Math.fround((mid[2 * i] + mid[2 * i + 1]) / 2);
        // (NaN, and sums past float32's range: the kernel adds before it divides, as softmax·v does)
        if (Number.isNaN(want) || !Number.isFinite(Math.fround(mid[2 * i] + mid[2 * i + 1]))) continue;
        if (want === 0 && m.data[i] === 0) continue; // -0 midpoints: the kernel's sum is +0
        if (m.data[i] !== conv(want)) throw new Error(`${type} midpoint after ${i.toString(16)}: ${m.data[i].toString(16)} vs ${conv(want).toString(16)}`);
      }
    });

  // Every ISA's conversions (F16C, AVX-512, NEON or scalar): every pattern comes back, and the
  // outputs of two-key averages, near every midpoint, are the float32 path's outputs rounded. (Against
  // the float32 path, not the exact midpoint: the scalar kernel's softmax weights are not exactly 1/2.)
  for (const isa of availableIsas())
    for (const type of ['float16', 'bfloat16'] as const)
      test(`${isa} ${type}: the conversions of every pattern and near every midpoint`, () => withIsa(isa, () => {
        const n = 65536;
        const one = (data: Uint16Array) => ({ type, data, dims: [n, 1, data.length / n, 1] });
        const all = Uint16Array.from({ length: n }, (_, i) => i);
        const r = attention(one(new Uint16Array(n)), one(new Uint16Array(n)), one(all));
        const f = halfToFloat32(type, all);
        for (let i = 0; i < n; i++)
          if (Number.isNaN(f[i])) expect(Number.isNaN(halfToFloat32(type, Uint16Array.of(r.data[i]))[0])).toBe(true);
          else if (r.data[i] !== i && !(i === 0x8000 && r.data[i] === 0)) throw new Error(`${type} pattern ${i.toString(16)} came back as ${r.data[i].toString(16)}`);
        const pairs = new Uint16Array(2 * n);
        for (let i = 0; i < n; i++) [pairs[2 * i], pairs[2 * i + 1]] = [i, (i + 1) & 0xffff];
        const m = attention(one(new Uint16Array(n)), one(new Uint16Array(2 * n)), one(pairs));
        const f32 = (len: number, data = new Float32Array(n * len)) => ({ data, dims: [n, 1, len, 1] });
        const m32 = attention(f32(1), f32(2), f32(2, halfToFloat32(type, pairs)));
        const want = float32ToHalf(type, m32.data);
        for (let i = 0; i < n; i++) {
          if (Number.isNaN(m32.data[i])) expect(Number.isNaN(halfToFloat32(type, Uint16Array.of(m.data[i]))[0])).toBe(true);
          else if (m.data[i] !== want[i]) throw new Error(`${type} average after ${i.toString(16)}: ${m.data[i].toString(16)} vs ${want[i].toString(16)}`);
        }
      }));

  // Sizes that are no multiple of any vector width: the conversions' last, partial vector.
  for (const isa of availableIsas())
    for (const type of ['float16', 'bfloat16'] as const)
      test(`${isa} ${type}: odd sizes and tiny values give the float32 path's output, rounded`, () => withIsa(isa, () => {
        const rng = mulberry32(type === 'float16' ? 21 : 22);
        const [B, H, Nq, Nk, D] = [1, 3, 7, 5, 3];
        const make = (dims: number[], scale: number) => {
          const t = randomTensor(rng, dims);
          return toHalfTensor(type, { data: t.data.map((x) => x * scale), dims });
        };
        // v down to float16's subnormals, so the output's narrowing rounds there too
        const [q, k, v] = [make([B, H, Nq, D], 1), make([B, H, Nk, D], 1), make([B, H, Nk, D], 2 ** -16)];
        const f = (t: HalfTensor) => ({ data: halfToFloat32(type, t.data), dims: t.dims.slice() });
        const r = attention(q, k, v);
        const r32 = attention(f(q), f(k), f(v));
        expect(r.data.length % 16).not.toBe(0);
        expect(Array.from(r.data)).toEqual(Array.from(float32ToHalf(type, r32.data)));
      }));

  // The prefill kernel widens half rows as it loads them (no float32 copies): every ISA, both layouts,
  // GQA, Dv != D, one and two threads, a window with a moved diagonal, key lengths, and a NaN key
  // outside some rows' window (the non-finite-safe recomputation) give the float32 path's bits, rounded.
  for (const isa of availableIsas())
    for (const type of ['float16', 'bfloat16'] as const)
      test(`${isa} ${type}: conversion in the kernel's loads, every layout and option`, () => withIsa(isa, () => {
        const rng = mulberry32(type === 'float16' ? 31 : 32);
        const [B, H, Hk, Nq, Nk, D, Dv] = [2, 4, 2, 37, 300, 24, 40];
        for (const layout of ['bhnd', 'bnhd'] as const)
          for (const threads of [1, 2]) {
            const dimsOf = (heads: number, n: number, d: number) => (layout === 'bnhd' ? [B, n, heads, d] : [B, heads, n, d]);
            const q = toHalfTensor(type, randomTensor(rng, dimsOf(H, Nq, D)));
            const k = toHalfTensor(type, randomTensor(rng, dimsOf(Hk, Nk, D)));
            const v = toHalfTensor(type, randomTensor(rng, dimsOf(Hk, Nk, Dv)));
            k.data[5] = type === 'float16' ? 0x7e00 : 0x7fc0; // NaN in key 0 (both layouts): outside most rows' window
            const f = (t: HalfTensor) => ({ data: halfToFloat32(type, t.data), dims: t.dims.slice() });
            for (const opts of [
              { layout, threads },
              { layout, threads, causal: true, window: [30, 4] as [number, number], causalOffset: Int32Array.of(200, 250) },
              { layout, threads, keyLengths: Int32Array.of(300, 123), returnLogSumExp: true },
            ]) {
              const r = attention(q, k, v, opts);
              const r32 = attention(f(q), f(k), f(v), opts);
              expect(r.type).toBe(type);
              expect(Array.from(r.data)).toEqual(Array.from(float32ToHalf(type, r32.data)));
            }
          }
      }));

  test('bad half inputs are TypeErrors/RangeErrors naming the argument', () => {
    const rng = mulberry32(8);
    const t32 = randomTensor(rng, [1, 2, 3, 4]);
    const h = toHalfTensor('float16', t32);
    const bad: [unknown[], Record<string, unknown> | undefined, typeof TypeError | typeof RangeError, RegExp][] = [
      [[h, t32, h], undefined, TypeError, /^k must be a half tensor like q \(q, k and v share one element type\)/],
      [[h, toHalfTensor('bfloat16', t32), h], undefined, TypeError, /q, k and v must have one element type, got float16, bfloat16, float16/],
      [[{ type: 'float16', data: t32.data, dims: t32.dims }, h, h], undefined, TypeError, /q\.data must be a Uint16Array or Float16Array for float16 data, got a Float32Array/],
      [[{ type: 'bfloat16', data: new Int16Array(24), dims: t32.dims }, h, h], undefined, TypeError, /q\.data must be a Uint16Array for bfloat16 data/],
      [[{ type: 'float16', data: new Uint16Array(23), dims: t32.dims }, h, h], undefined, RangeError, /q\.data has 23 elements but its dims say 24/],
      [[{ type: 'float64', data: new Uint16Array(24), dims: t32.dims }, h, h], undefined, TypeError, /q\.type must be 'float32', 'float16' or 'bfloat16'/],
      [[h, h, h], { out: new Float32Array(24) }, TypeError, /options\.out must be a Uint16Array or Float16Array for float16 data/],
      [[h, h, h], { out: new Uint16Array(5) }, RangeError, /options\.out has 5 elements but the result needs 24/],
    ];
    for (const [[q, k, v], o, Err, msg] of bad) {
      const call = () => attention(q as HalfTensor, k as HalfTensor, v as HalfTensor, o as never);
      expect(call).toThrow(Err);
      expect(call).toThrow(msg);
    }
  });
});

describe('float16 vs ONNX Runtime (its Attention runs in float16 too)', () => {
  const configs: { name: string; dims: [number, number, number, number, number, number]; spec: Partial<DenseOnnxSpec>; opts: Record<string, unknown> }[] = [
    { name: 'plain', dims: [2, 2, 2, 7, 9, 8], spec: {}, opts: {} },
    { name: 'softcap, GQA, top-left causal', dims: [1, 4, 2, 6, 10, 8], spec: { softcap: 2, causal: true, causalMode: 'native' }, opts: { softcap: 2, causal: true, causalOffset: 0 } },
    { name: 'window + moved diagonal + bias', dims: [2, 2, 1, 12, 20, 4], spec: { window: [3, 1], causalOffset: 5, biasDims: [2, 1, 12, 20] }, opts: { window: [3, 1], causalOffset: 5 } },
    { name: 'key lengths, causal by key length (opset 24)', dims: [2, 2, 2, 5, 11, 6], spec: { keyLengths: true, causal: true, causalMode: 'native' }, opts: { causal: true } },
  ];
  for (const cfg of configs)
    test(cfg.name, async () => {
      const [B, H, Hk, Nq, Nk, D] = cfg.dims;
      const rng = mulberry32(77);
      const h = (dims: number[]) => toHalfTensor('float16', randomTensor(rng, dims));
      const q = h([B, H, Nq, D]);
      const k = h([B, Hk, Nk, D]);
      const v = h([B, Hk, Nk, D]);
      const spec: DenseOnnxSpec = { op: 'Attention', numHeads: H, kvNumHeads: Hk, headSize: D, dataType: 'float16', ...cfg.spec };
      const feeds: Record<string, { data: Uint16Array | Int32Array; dims: number[]; type?: 'float16' }> = {
        q: { data: q.data, dims: q.dims.slice(), type: 'float16' }, k: { data: k.data, dims: k.dims.slice(), type: 'float16' },
        v: { data: v.data, dims: v.dims.slice(), type: 'float16' },
      };
      const opts: Record<string, unknown> = { ...cfg.opts };
      if (cfg.spec.biasDims) {
        const bias = h(cfg.spec.biasDims as number[]);
        feeds.bias = { data: bias.data, dims: bias.dims.slice(), type: 'float16' };
        opts.bias = bias;
      }
      if (cfg.spec.keyLengths) {
        const lengths = Int32Array.from({ length: B }, (_, b) => Nk - 3 * b);
        feeds.key_lengths = { data: lengths, dims: [B] };
        opts.keyLengths = lengths;
        opts.causalOffset = Int32Array.from(lengths, (l) => l - Nq); // ORT's diagonal with key lengths
      }
      const o = await runOnnx(buildDenseAttentionModel(spec), feeds as Parameters<typeof runOnnx>[1], { intraOpNumThreads: 1 });
      expect(o.out.type).toBe('float16');
      const theirs = halfToFloat32('float16', o.out.data as Uint16Array);
      const ours = halfToFloat32('float16', attention(q, k, v, opts).data);
      for (let i = 0; i < ours.length; i++) expect(Math.abs(ours[i] - theirs[i])).toBeLessThanOrEqual(3e-3);
    });
});

// Windowed calls over many query blocks: the kernel hands a window's query blocks to threads in
// runs of consecutive blocks (crossing heads and batches), and each block requests the rows it and
// the next block of its run will read (the previous block's keys, its newly admitted keys, the next
// block's queries). These cases have several blocks per head (96 queries per block on AVX-512 and
// NEON, 24 on AVX2, 8 with scalar vectors), odd sizes, GQA, [B, N, H, D] inputs, key masks, per-batch
// diagonals and key lengths. Every thread count must give the same bits as one thread (a block's
// arithmetic does not depend on which thread runs it or what it requested), and the result must
// match the plain float64 reference.
import { attention, AttentionOptions } from '../lib/index';
import { float32ToHalf, halfToFloat32 } from '../lib/half';
import { mulberry32, randomTensor, Rng } from './helpers/fixtures';
import { swap12 } from './helpers/longt5-reference';
import { referenceStandardAttention, StandardRefOptions } from './helpers/standard-reference';

const TOL = 3e-5;

interface Case {
  name: string;
  B: number; H: number; Hk: number; Nq: number; Nk: number; D: number; Dv: number;
  window: [number, number];
  causal?: boolean;
  causalOffset?: number | Int32Array;
  keyLengths?: Int32Array;
  maskEvery?: number;
  /** Inputs and output as [B, N, H, D] (the kernel then walks rows H * D apart). */
  bnhd?: boolean;
}

const CASES: Case[] = [
  { name: 'causal window [255, 0], 5 blocks per head', B: 1, H: 2, Hk: 2, Nq: 450, Nk: 450, D: 64, Dv: 64, window: [255, 0], causal: true },
  { name: 'window [40, 70], GQA, Nq not a multiple of any block', B: 2, H: 4, Hk: 2, Nq: 397, Nk: 430, D: 24, Dv: 16, window: [40, 70] },
  { name: 'window [0, 0] (one key per row), D = 1', B: 1, H: 3, Hk: 3, Nq: 300, Nk: 300, D: 1, Dv: 3, window: [0, 0] },
  {
    name: 'left side open, per-batch diagonals, key lengths', B: 3, H: 2, Hk: 1, Nq: 260, Nk: 340, D: 17, Dv: 17,
    window: [Infinity, 9], causalOffset: Int32Array.from([0, 80, -30]), keyLengths: Int32Array.from([340, 201, 0]),
  },
  { name: 'causal window [100, 0], key mask, [B, N, H, D]', B: 2, H: 3, Hk: 3, Nq: 333, Nk: 333, D: 20, Dv: 20, window: [100, 0], causal: true, maskEvery: 7, bnhd: true },
  { name: 'window wider than the keys', B: 1, H: 1, Hk: 1, Nq: 500, Nk: 120, D: 8, Dv: 8, window: [1000, 1000] },
];

function inputs(c: Case, rng: Rng) {
  const q = randomTensor(rng, [c.B, c.H, c.Nq, c.D]);
  const k = randomTensor(rng, [c.B, c.Hk, c.Nk, c.D]);
  const v = randomTensor(rng, [c.B, c.Hk, c.Nk, c.Dv]);
  const mask = c.maskEvery ? Int32Array.from({ length: c.B * c.Nk }, (_, i) => (i % c.maskEvery! === 3 ? 0 : 1)) : undefined;
  return { q, k, v, mask };
}

function run(c: Case, x: ReturnType<typeof inputs>, threads: number): Float32Array {
  const opts: AttentionOptions = { window: c.window, threads };
  if (c.causal) opts.causal = true;
  if (c.causalOffset !== undefined) opts.causalOffset = c.causalOffset;
  if (c.keyLengths) opts.keyLengths = c.keyLengths;
  if (x.mask) opts.keyMask = { data: x.mask, dims: [c.B, c.Nk] };
  if (!c.bnhd) return attention(x.q, x.k, x.v, opts).data as Float32Array;
  const out = attention(
    { data: swap12(x.q.data, c.B, c.H, c.Nq, c.D), dims: [c.B, c.Nq, c.H, c.D] },
    { data: swap12(x.k.data, c.B, c.Hk, c.Nk, c.D), dims: [c.B, c.Nk, c.Hk, c.D] },
    { data: swap12(x.v.data, c.B, c.Hk, c.Nk, c.Dv), dims: [c.B, c.Nk, c.Hk, c.Dv] },
    { ...opts, layout: 'bnhd' },
  ).data as Float32Array;
  return swap12(out, c.B, c.Nq, c.H, c.Dv); // back to [B, H, N, Dv] for the comparisons
}

describe('windowed attention over many query blocks (runs of blocks per thread)', () => {
  CASES.forEach((c, n) => {
    test(c.name, () => {
      const x = inputs(c, mulberry32(9100 + n));
      const one = run(c, x, 1);
      const ref: StandardRefOptions = { window: c.window, causal: c.causal };
      if (c.causalOffset !== undefined) ref.causalOffset = c.causalOffset;
      if (c.keyLengths) ref.keyLengths = c.keyLengths;
      if (x.mask) ref.keyMask = x.mask;
      const want = referenceStandardAttention(x.q, x.k, x.v, ref).out;
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(one[i] - want[i]));
      expect(worst).toBeLessThan(TOL);
      for (const threads of [2, 3, 5]) {
        const got = run(c, x, threads);
        expect(Buffer.from(got.buffer).equals(Buffer.from(one.buffer))).toBe(true);
      }
    });
  });
});

// float16 / bfloat16 inputs: each thread widens the keys its blocks read into a buffer of a few
// window spans that the window slides through (keys still needed move to its front). Long inputs
// with a short window make it slide many times; the result must equal the float32 call on the
// widened inputs, narrowed (the same arithmetic), for any thread count.
describe('windowed attention on float16 / bfloat16 inputs (sliding key buffers)', () => {
  const halfCases: Case[] = [
    { name: 'causal window [20, 0], 2000 keys', B: 1, H: 2, Hk: 1, Nq: 2000, Nk: 2000, D: 16, Dv: 8, window: [20, 0], causal: true },
    { name: 'window [7, 30], per-batch diagonals, key lengths', B: 2, H: 2, Hk: 2, Nq: 900, Nk: 1500, D: 9, Dv: 9, window: [7, 30], causalOffset: Int32Array.from([0, 400]), keyLengths: Int32Array.from([1500, 1100]) },
  ];
  for (const type of ['float16', 'bfloat16'] as const)
    halfCases.forEach((c, n) => {
      test(`${type}: ${c.name}`, () => {
        const x = inputs(c, mulberry32(9300 + n));
        const bits = [x.q, x.k, x.v].map((t) => float32ToHalf(type, t.data));
        const wide = bits.map((b) => halfToFloat32(type, b));
        const opts: AttentionOptions = { window: c.window };
        if (c.causal) opts.causal = true;
        if (c.causalOffset !== undefined) opts.causalOffset = c.causalOffset;
        if (c.keyLengths) opts.keyLengths = c.keyLengths;
        const want = float32ToHalf(type, attention({ data: wide[0], dims: x.q.dims }, { data: wide[1], dims: x.k.dims }, { data: wide[2], dims: x.v.dims }, { ...opts, threads: 1 }).data as Float32Array);
        for (const threads of [1, 3]) {
          const got = attention({ type, data: bits[0], dims: x.q.dims }, { type, data: bits[1], dims: x.k.dims }, { type, data: bits[2], dims: x.v.dims }, { ...opts, threads }).data as Uint16Array;
          expect(Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(Buffer.from(want.buffer))).toBe(true);
        }
      });
    });
});

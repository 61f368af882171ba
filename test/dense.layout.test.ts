// attention() with options.layout 'bnhd' (Hugging Face's / ORT MultiHeadAttention's [B, N, H, D]):
// on the transposed inputs it gives exactly the transposed output of the default 'bhnd' call (the
// kernel does the same arithmetic through different strides), under every ISA, sync and async,
// with GQA, masks, bias, causal, Nq != Nk, Dv != D, odd D, `out` and returnWeights; and the
// float64 reference agrees. Bad layout values and dims that only fit the other layout are refused.
import { attention, attentionAsync, AttentionOptions } from '../lib/index';
import { maxAbsDiff, mulberry32, randomData, randomMask, referenceAttention } from './helpers/fixtures';
import { availableIsas, withIsa, withIsaAsync } from './helpers/isa';
import { swap12 } from './helpers/longt5-reference';

const ISAS = availableIsas();
const TOL_REF = 1e-5;

interface Case {
  name: string;
  B: number; H: number; Hk: number; Nq: number; Nk: number; D: number; Dv: number;
  causal?: boolean;
  mask?: boolean;
  bias?: number[];
  scale?: number;
}

const CASES: Case[] = [
  { name: 'B1 H1 N7 D3', B: 1, H: 1, Hk: 1, Nq: 7, Nk: 7, D: 3, Dv: 3 },
  { name: 'B2 H4 N129 D64', B: 2, H: 4, Hk: 4, Nq: 129, Nk: 129, D: 64, Dv: 64 },
  { name: 'GQA H6 Hk2, Dv 9 != D 17, key mask', B: 2, H: 6, Hk: 2, Nq: 33, Nk: 40, D: 17, Dv: 9, mask: true },
  { name: 'causal bottom-right Nq 24 < Nk 70, bias [H,Nq,Nk]', B: 1, H: 3, Hk: 3, Nq: 24, Nk: 70, D: 16, Dv: 16, causal: true, bias: [3, 24, 70] },
  { name: 'MQA H4 Hk1, bias [B,1,1,Nk], scale 1', B: 2, H: 4, Hk: 1, Nq: 5, Nk: 200, D: 80, Dv: 8, bias: [2, 1, 1, 200], scale: 1 },
];

function inputs(c: Case) {
  const rng = mulberry32(c.B * 1000003 + c.H * 1009 + c.Nq * 31 + c.Nk * 7 + c.D);
  const q = { data: randomData(rng, c.B * c.H * c.Nq * c.D), dims: [c.B, c.H, c.Nq, c.D] };
  const k = { data: randomData(rng, c.B * c.Hk * c.Nk * c.D), dims: [c.B, c.Hk, c.Nk, c.D] };
  const v = { data: randomData(rng, c.B * c.Hk * c.Nk * c.Dv), dims: [c.B, c.Hk, c.Nk, c.Dv] };
  const opts: AttentionOptions = {};
  if (c.causal) opts.causal = true;
  if (c.scale !== undefined) opts.scale = c.scale;
  if (c.mask) {
    const m = randomMask(rng, c.B * c.Nk);
    m[0] = 1;  // at least one key per batch row
    m[c.Nk] = 1;
    opts.keyMask = { data: m, dims: [c.B, c.Nk] };
  }
  if (c.bias) opts.bias = { data: randomData(rng, c.bias.reduce((a, b) => a * b, 1), -2, 2), dims: c.bias };
  return { q, k, v, opts };
}

/** [d0, d1, d2, d3] -> [d0, d2, d1, d3] (bhnd <-> bnhd). */
const transpose = (t: { data: Float32Array; dims: number[] }) => ({
  data: swap12(t.data, t.dims[0], t.dims[1], t.dims[2], t.dims[3]),
  dims: [t.dims[0], t.dims[2], t.dims[1], t.dims[3]],
});

describe.each(CASES)('layout bnhd: $name', (c) => {
  const { q, k, v, opts } = inputs(c);
  const qn = transpose(q), kn = transpose(k), vn = transpose(v);
  const ref = referenceAttention(q, k, v, opts as never);

  test.each(ISAS)('isa %s: bnhd == transposed bhnd (bit for bit), both match the reference', (isa) => {
    for (const threads of [1, 2]) {
      const a = withIsa(isa, () => attention(q, k, v, { ...opts, threads }));
      const b = withIsa(isa, () => attention(qn, kn, vn, { ...opts, threads, layout: 'bnhd' }));
      expect(a.dims).toEqual([c.B, c.H, c.Nq, c.Dv]);
      expect(b.dims).toEqual([c.B, c.Nq, c.H, c.Dv]);
      expect(Array.from(transpose(b).data)).toEqual(Array.from(a.data));
      expect(maxAbsDiff(a.data, ref)).toBeLessThanOrEqual(TOL_REF);
      // 'bhnd' spelled out is the default
      const explicit = withIsa(isa, () => attention(q, k, v, { ...opts, threads, layout: 'bhnd' }));
      expect(Array.from(explicit.data)).toEqual(Array.from(a.data));
    }
  });

  test('async, out and returnWeights in bnhd', async () => {
    const isa = ISAS[ISAS.length - 1];
    const a = withIsa(isa, () => attention(q, k, v, { ...opts, returnWeights: true }));
    const out = new Float32Array(c.B * c.Nq * c.H * c.Dv).fill(Number.NaN);
    const b = await withIsaAsync(isa, () => attentionAsync(qn, kn, vn, { ...opts, layout: 'bnhd', out, returnWeights: true }));
    expect(b.data).toBe(out);
    expect(Array.from(transpose(b).data)).toEqual(Array.from(a.data));
    // the probabilities keep their documented [B, H, Nq, Nk] shape in either layout
    expect(b.weights!.dims).toEqual([c.B, c.H, c.Nq, c.Nk]);
    expect(Array.from(b.weights!.data)).toEqual(Array.from(a.weights!.data));
  });
});

describe('layout: bad values', () => {
  const q = { data: new Float32Array(1 * 3 * 2 * 4), dims: [1, 3, 2, 4] };  // bhnd: H 3, N 2; bnhd: N 3, H 2
  const k = { data: new Float32Array(1 * 3 * 5 * 4), dims: [1, 3, 5, 4] };
  test.each([3, true, null, {}, ['bnhd']])('layout %p: TypeError naming options.layout (sync and async)', async (layout) => {
    expect(() => attention(q, q, q, { layout: layout as never })).toThrow(TypeError);
    expect(() => attention(q, q, q, { layout: layout as never })).toThrow(/options\.layout/);
    await expect(attentionAsync(q, q, q, { layout: layout as never })).rejects.toThrow(/options\.layout/);
  });
  test.each(['BNHD', 'nhd', '', 'bshd'])('layout %p: RangeError naming options.layout', async (layout) => {
    expect(() => attention(q, q, q, { layout: layout as never })).toThrow(RangeError);
    expect(() => attention(q, q, q, { layout: layout as never })).toThrow(/options\.layout/);
    await expect(attentionAsync(q, q, q, { layout: layout as never })).rejects.toThrow(RangeError);
  });
  test('dims read in the chosen layout: k with 5 keys along dim 2 fits bhnd, not bnhd', () => {
    expect(() => attention(q, k, k)).not.toThrow();
    // bnhd: q has H = 2 heads, k has Hk = 5 heads -> not a divisor
    expect(() => attention(q, k, k, { layout: 'bnhd' })).toThrow(RangeError);
  });
  test('an out sized for the output in bnhd (same element count) is accepted; too small is not', () => {
    const out = new Float32Array(1 * 2 * 3 * 4);
    expect(attention(q, q, q, { layout: 'bnhd', out }).dims).toEqual([1, 3, 2, 4]);
    expect(() => attention(q, q, q, { layout: 'bnhd', out: new Float32Array(5) })).toThrow(/options\.out/);
  });
});

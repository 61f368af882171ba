// The decode path (flash-decoding, native/kernels/decode_attention_impl.h) against the float64
// JavaScript reference and against the query-block kernel, under every ISA: odd Nk (below one
// tile, one past a tile or a chunk, many chunks), odd D and Dv (not multiples of any vector
// width), GQA/MQA (row groups of up to 16 rows, more than one group), key masks (whole masked
// tiles, an all-masked batch row), every bias broadcast, causal with Nq < Nk and Nq > Nk, the
// [B, N, H, D] layout, 1 and 2 threads (the same bits: the split depends on the shapes only),
// and non-finite values in excluded keys. attention() picks the path by itself (Nq <= 4); the
// raw binding's `path` forces one.
import { attention } from '../lib/index';
import { native } from '../lib/native';
import type { NativeDenseArgs } from '../binding';
import { allFinite, emptyRows, fillKeyRows, firstMismatch, maxAbsDiff, mulberry32, randomData, randomMask, referenceAttention } from './helpers/fixtures';
import { availableIsas, withIsa } from './helpers/isa';

const TOL_REF = 1e-5;    // float32 kernel vs float64 reference, O(1) inputs
const TOL_PATHS = 2e-6;  // decode vs query-block kernel: both float32, different summation order

interface Case {
  name: string;
  B?: number; H?: number; Hk?: number;
  Nq: number; Nk: number; D: number; Dv?: number;
  causal?: boolean;
  mask?: 'random' | 'tiles';
  bias?: number[];
  scale?: number;
}

const CASES: Case[] = [
  { name: 'Nq1 Nk1 D1', Nq: 1, Nk: 1, D: 1 },
  { name: 'Nq1 Nk7 D3', Nq: 1, Nk: 7, D: 3 },
  { name: 'Nq1 Nk63 D17', Nq: 1, Nk: 63, D: 17 },
  { name: 'Nq1 Nk65 D64 (one past a tile)', Nq: 1, Nk: 65, D: 64 },
  { name: 'Nq1 Nk257 D80 (one past a chunk)', H: 2, Nq: 1, Nk: 257, D: 80 },
  { name: 'Nq1 Nk5000 D128 (many chunks)', Nq: 1, Nk: 5000, D: 128 },
  { name: 'Nq2 Nk1000 D64 Dv17', H: 3, Nq: 2, Nk: 1000, D: 64, Dv: 17 },
  { name: 'Nq4 Nk129 D33 Dv1', B: 2, H: 2, Nq: 4, Nk: 129, D: 33, Dv: 1 },
  { name: 'GQA H8 Hk2 Nq1 Nk700', B: 2, H: 8, Hk: 2, Nq: 1, Nk: 700, D: 64 },
  { name: 'GQA H8 Hk2 Nq3 (12 rows per group)', H: 8, Hk: 2, Nq: 3, Nk: 300, D: 17 },
  { name: 'MQA H20 Hk1 Nq1 (2 row groups)', H: 20, Hk: 1, Nq: 1, Nk: 400, D: 24 },
  { name: 'MQA H16 Hk1 Nq4 (64 rows, 4 groups)', H: 16, Hk: 1, Nq: 4, Nk: 130, D: 8 },
  { name: 'key mask, B3, row 1 all masked', B: 3, H: 2, Nq: 1, Nk: 600, D: 17, mask: 'random' },
  { name: 'key mask with whole masked tiles', B: 2, H: 2, Nq: 2, Nk: 1100, D: 64, mask: 'tiles' },
  { name: 'bias [B,H,Nq,Nk]', B: 2, H: 2, Nq: 3, Nk: 300, D: 16, bias: [2, 2, 3, 300] },
  { name: 'bias [B,1,1,Nk]', B: 2, H: 4, Hk: 2, Nq: 1, Nk: 700, D: 64, bias: [2, 1, 1, 700] },
  { name: 'bias [1,H,Nq,1]', H: 3, Nq: 2, Nk: 90, D: 7, bias: [1, 3, 2, 1] },
  { name: 'bias [1] (scalar)', H: 2, Nq: 1, Nk: 129, D: 64, bias: [1] },
  { name: 'causal Nq3 < Nk 1000', H: 2, Nq: 3, Nk: 1000, D: 64, causal: true },
  { name: 'causal Nq4 > Nk2 (2 empty rows)', H: 2, Nq: 4, Nk: 2, D: 5, causal: true },
  { name: 'causal GQA Nq2, mask, bias, scale 1', B: 2, H: 4, Hk: 2, Nq: 2, Nk: 520, D: 40, Dv: 24, causal: true, mask: 'random', bias: [2, 1, 2, 520], scale: 1 },
  { name: 'Nk 0', H: 2, Nq: 1, Nk: 0, D: 8 },
];

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

interface Built {
  c: Case;
  args: Omit<NativeDenseArgs, 'out'>;
  ref: Float64Array;
  empty: boolean[];
  dims: { B: number; H: number; Hk: number; Nq: number; Nk: number; D: number; Dv: number };
}

function build(c: Case): Built {
  const rng = mulberry32(hash(c.name));
  const B = c.B ?? 1, H = c.H ?? 1, Hk = c.Hk ?? H, Dv = c.Dv ?? c.D;
  const { Nq, Nk, D } = c;
  const q = randomData(rng, B * H * Nq * D);
  const k = randomData(rng, B * Hk * Nk * D);
  const v = randomData(rng, B * Hk * Nk * Dv);
  let keyMask: Uint8Array | undefined;
  if (c.mask === 'random') {
    keyMask = randomMask(rng, B * Nk);
    if (B > 1) keyMask.fill(0, Nk, 2 * Nk);
  } else if (c.mask === 'tiles') {
    keyMask = new Uint8Array(B * Nk);
    for (let i = 0; i < B * Nk; i++) keyMask[i] = (i % Nk) % 256 < 64 || rng() < 0.1 ? 1 : 0;  // tiles 1-3 of 4 mostly masked
  }
  const scale = c.scale ?? 1 / Math.sqrt(D);
  const args: Omit<NativeDenseArgs, 'out'> = { q, k, v, B, H, Hk, Nq, Nk, D, Dv, scale, causal: !!c.causal };
  let bias;
  if (c.bias) {
    const n = c.bias.reduce((a, b) => a * b, 1);
    bias = { data: randomData(rng, n, -2, 2), dims: c.bias };
    args.bias = bias.data;
    args.biasDims = [...Array(4 - c.bias.length).fill(1), ...c.bias] as [number, number, number, number];
  }
  if (keyMask) args.keyMask = keyMask;
  const ref = referenceAttention({ data: q, dims: [B, H, Nq, D] }, { data: k, dims: [B, Hk, Nk, D] }, { data: v, dims: [B, Hk, Nk, Dv] },
    { scale, causal: c.causal, keyMask, bias });
  return { c, args, ref, empty: emptyRows(B, H, Nq, Nk, !!c.causal, keyMask), dims: { B, H, Hk, Nq, Nk, D, Dv } };
}

function run(b: Built, path: 'auto' | 'flash' | 'decode', threads = 1, extra: Partial<NativeDenseArgs> = {}): Float32Array {
  const { B, H, Nq, Dv } = b.dims;
  const out = new Float32Array(B * H * Nq * Dv);
  native.denseAttention({ ...b.args, out, path, threads, ...extra });
  return out;
}

function checkEmptyRowsZero(b: Built, out: Float32Array): void {
  const Dv = b.dims.Dv;
  b.empty.forEach((e, r) => {
    if (e) for (let d = 0; d < Dv; d++) expect(Object.is(out[r * Dv + d], 0)).toBe(true);
  });
}

const BUILT = CASES.map(build);

describe.each(availableIsas())('decode path, ISA %s', (isa) => {
  test.each(BUILT.map((b) => [b.c.name, b] as const))('%s: matches the reference and the query-block kernel', (_n, b) => {
    withIsa(isa, () => {
      const dec = run(b, 'decode');
      const err = maxAbsDiff(dec, b.ref);
      if (!(err <= TOL_REF)) throw new Error(`decode vs reference: ${err} (${firstMismatch(dec, b.ref, TOL_REF)})`);
      const flash = run(b, 'flash');
      const dp = maxAbsDiff(dec, flash);
      if (!(dp <= TOL_PATHS)) throw new Error(`decode vs flash: ${dp} (${firstMismatch(dec, flash, TOL_PATHS)})`);
      checkEmptyRowsZero(b, dec);
      // attention()'s own choice for Nq <= 4 is the decode kernel: the same bits.
      expect(maxAbsDiff(run(b, 'auto'), dec)).toBe(0);
      // The split does not depend on the thread count.
      expect(maxAbsDiff(run(b, 'decode', 2), dec)).toBe(0);
    });
  });
});

describe('decode path: layouts, public API, forced on many queries', () => {
  test('[B, N, H, D] layout gives the transposed result of [B, H, N, D]', () => {
    const rng = mulberry32(7);
    const B = 2, H = 4, Hk = 2, Nq = 2, Nk = 333, D = 20;
    const q = randomData(rng, B * H * Nq * D), k = randomData(rng, B * Hk * Nk * D), v = randomData(rng, B * Hk * Nk * D);
    const tr = (x: Float32Array, h: number, n: number) => {
      const y = new Float32Array(x.length);
      for (let b = 0; b < B; b++) for (let i = 0; i < h; i++) for (let j = 0; j < n; j++) for (let d = 0; d < D; d++)
        y[((b * n + j) * h + i) * D + d] = x[((b * h + i) * n + j) * D + d];
      return y;
    };
    const a = attention({ data: q, dims: [B, H, Nq, D] }, { data: k, dims: [B, Hk, Nk, D] }, { data: v, dims: [B, Hk, Nk, D] });
    const t = attention({ data: tr(q, H, Nq), dims: [B, Nq, H, D] }, { data: tr(k, Hk, Nk), dims: [B, Nk, Hk, D] },
      { data: tr(v, Hk, Nk), dims: [B, Nk, Hk, D] }, { layout: 'bnhd' });
    expect(maxAbsDiff(t.data, tr(a.data, H, Nq))).toBe(0);
  });

  test('returnWeights still works on the decode path', () => {
    const b = BUILT.find((x) => x.c.name.startsWith('bias [B,H,Nq,Nk]'))!;
    const { B, H, Hk, Nq, Nk, D, Dv } = b.dims;
    const r = attention({ data: b.args.q, dims: [B, H, Nq, D] }, { data: b.args.k, dims: [B, Hk, Nk, D] }, { data: b.args.v, dims: [B, Hk, Nk, Dv] },
      { bias: { data: b.args.bias!, dims: [2, 2, 3, 300] }, returnWeights: true });
    expect(maxAbsDiff(r.data, b.ref)).toBeLessThan(TOL_REF);
    const w = r.weights!.data;
    for (let row = 0; row < B * H * Nq; row++) {
      let s = 0;
      for (let j = 0; j < Nk; j++) s += w[row * Nk + j];
      expect(Math.abs(s - 1)).toBeLessThan(1e-5);
    }
  });

  test('forced on Nq = 129 (query rows split into groups) it still matches the reference', () => {
    const b = build({ name: 'forced Nq129 GQA causal', B: 2, H: 4, Hk: 2, Nq: 129, Nk: 300, D: 17, causal: true, mask: 'random' });
    const out = run(b, 'decode', 2);
    expect(maxAbsDiff(out, b.ref)).toBeLessThan(TOL_REF);
    checkEmptyRowsZero(b, out);
  });
});

describe.each(availableIsas())('decode path, non-finite values, ISA %s', (isa) => {
  // NaN / Inf in the k and v of keys that are excluded (mask, causal, -inf bias) must not reach
  // any row; the rows equal the result without those values.
  const B = 2, H = 2, Nq = 2, Nk = 600, D = 19;
  const rng = mulberry32(99);
  const q = randomData(rng, B * H * Nq * D), k = randomData(rng, B * H * Nk * D), v = randomData(rng, B * H * Nk * D);
  const keyMask = randomMask(rng, B * Nk, 0.8);
  const poison = (x: Float32Array, pred: (b: number, h: number, j: number) => boolean, val: number) => fillKeyRows(x, [B, H, Nk, D], pred, val);
  const base = { B, H, Hk: H, Nq, Nk, D, Dv: D, scale: 0.3, threads: 2 } as const;
  const out = () => new Float32Array(B * H * Nq * D);

  test.each([NaN, Infinity, -Infinity])('%s in masked keys', (val) => {
    withIsa(isa, () => {
      const masked = (b: number, _h: number, j: number) => keyMask[b * Nk + j] === 0;
      const clean = out(), dirty = out();
      native.denseAttention({ ...base, q, k, v, out: clean, causal: false, keyMask, path: 'decode' });
      native.denseAttention({ ...base, q, k: poison(k, masked, val), v: poison(v, masked, val), out: dirty, causal: false, keyMask, path: 'decode' });
      expect(allFinite(dirty)).toBe(true);
      expect(maxAbsDiff(dirty, clean)).toBe(0);
    });
  });

  test.each([NaN, Infinity])('%s in keys after the causal diagonal and under a -inf bias', (val) => {
    withIsa(isa, () => {
      const bias = new Float32Array(Nk);
      for (let j = 0; j < Nk; j += 7) bias[j] = -Infinity;
      const excluded = (_b: number, _h: number, j: number) => j >= Nk - 1 || bias[j] === -Infinity;  // row 0 never sees key Nk-1
      const clean = out(), dirty = out();
      const a = { ...base, causal: true, bias, biasDims: [1, 1, 1, Nk] as [number, number, number, number], path: 'decode' as const };
      native.denseAttention({ ...a, q, k, v, out: clean });
      native.denseAttention({ ...a, q, k: poison(k, excluded, val), v: poison(v, excluded, val), out: dirty });
      // Row i = 1 (the last) admits key Nk - 1, which is poisoned: only rows i = 0 are compared.
      for (let r = 0; r < B * H; r++) {
        const row0 = (x: Float32Array) => x.subarray(r * Nq * D, r * Nq * D + D);
        expect(allFinite(row0(dirty))).toBe(true);
        expect(maxAbsDiff(row0(dirty), row0(clean))).toBe(0);
      }
    });
  });
});

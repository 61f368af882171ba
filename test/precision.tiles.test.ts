// precision 'bf16' dense attention on the shapes the AMX tile kernel (amxbf16: head sizes that are
// multiples of 32) splits differently from the vector kernels: key counts around the 16- and
// 32-key tile edges and the 128-key tile, query counts off the 16-query tile, several 32-dim chunks,
// value widths off the 16-channel tile, GQA, causal, bias and masks; and the non-finite safe pass
// (a masked key's NaN value must not leak; a NaN query row must stay NaN). Every (ISA, bf16 set)
// path against the float32 call (2e-2 x max|out|) and against the emulated kernels (the same
// rounding: >= 95 % of outputs within 1e-5 x max|out|). Where amxbf16 is not offered the paths
// still run (the vector kernels on the same shapes).
import { attention, AttentionOptions, info } from '../lib/index';
import { mulberry32, uniform } from '../lib/random';
import { fillKeyRows, maxAbsDiff } from './helpers/fixtures';
import { PrecisionPath, precisionPaths, withPath } from './helpers/precision';

const PATHS = precisionPaths();
const EMULATED = PATHS.find((p) => p.kernels === 'emulated')!;
type T4 = { data: Float32Array; dims: number[] };

const maxAbs = (a: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
};

// [B, H, Hk, Nq, Nk, D, Dv]
const SHAPES: number[][] = [
  [1, 1, 1, 1, 1, 32, 16],
  [1, 2, 2, 17, 15, 32, 32],
  [1, 1, 1, 48, 16, 64, 64],
  [2, 2, 1, 49, 17, 64, 64],
  [1, 2, 2, 33, 31, 96, 24],
  [1, 1, 1, 95, 33, 64, 80],
  [1, 2, 1, 100, 130, 128, 128],
  [1, 1, 1, 7, 257, 64, 5],
  [1, 4, 2, 130, 300, 64, 48],
];

function inputs(shape: number[], seed: number): { q: T4; k: T4; v: T4 } {
  const [B, H, Hk, Nq, Nk, D, Dv] = shape;
  const rng = mulberry32(seed);
  return {
    q: { data: uniform(rng, B * H * Nq * D, 2), dims: [B, H, Nq, D] },
    k: { data: uniform(rng, B * Hk * Nk * D, 2), dims: [B, Hk, Nk, D] },
    v: { data: uniform(rng, B * Hk * Nk * Dv), dims: [B, Hk, Nk, Dv] },
  };
}

function optionSets(shape: number[], seed: number): [string, AttentionOptions][] {
  const [B, H, , Nq, Nk] = shape;
  const rng = mulberry32(seed + 1);
  const mask = Uint8Array.from({ length: B * Nk }, (_, i) => (i % 5 === 2 ? 0 : 1));
  return [
    ['plain', {}],
    ['causal', { causal: true }],
    ['bias', { bias: { data: uniform(rng, B * H * Nq * Nk, 3), dims: [B, H, Nq, Nk] } }],
    ['keyMask', { keyMask: mask }],
  ];
}

test('the paths include amxbf16 wherever it is offered', () => {
  expect(EMULATED).toBeDefined();
  if (info().reducedPrecision.includes('amxbf16')) expect(PATHS.some((p) => p.kernels === 'amxbf16')).toBe(true);
});

describe.each(SHAPES.map((s) => [JSON.stringify(s), s] as [string, number[]]))('[B,H,Hk,Nq,Nk,D,Dv] = %s', (_, shape) => {
  const { q, k, v } = inputs(shape, shape.reduce((a, b) => a * 31 + b, 7));
  test.each(optionSets(shape, shape[4]))('%s: every path within 2e-2 of float32 and rounding as the emulated kernels', (_name, options) => {
    const fp32 = attention(q, k, v, options).data;
    const scale = maxAbs(fp32);
    const emulated = withPath(EMULATED, () => attention(q, k, v, { ...options, precision: 'bf16' })).data;
    for (const path of PATHS) {
      const out = withPath(path, () => attention(q, k, v, { ...options, precision: 'bf16' })).data;
      const err = maxAbsDiff(out, fp32);
      if (!(err <= 2e-2 * scale)) throw new Error(`${path.label}: error vs float32 ${err}, max|out| ${scale}`);
      let far = 0;
      for (let i = 0; i < out.length; i++) if (!(Math.abs(out[i] - emulated[i]) <= 1e-5 * scale)) far++;
      if (far > out.length / 20) throw new Error(`${path.label}: ${far} of ${out.length} outputs differ from the emulated kernels`);
    }
  });
});

describe('the non-finite safe pass', () => {
  const shape = [2, 2, 2, 40, 150, 64, 64];
  const [B, H, , Nq, Nk, D, Dv] = shape;
  const { q, k, v } = inputs(shape, 4242);
  const mask = Uint8Array.from({ length: B * Nk }, (_, i) => (i % 7 === 3 || i % 11 === 0 ? 0 : 1));
  const poison = (t: T4, value: number): T4 => ({ data: fillKeyRows(t.data, t.dims, (b, _h, j) => !mask[b * Nk + j], value), dims: t.dims });

  test.each(PATHS.map((p) => [p.label, p] as [string, PrecisionPath]))('%s: masked keys holding NaN or 1e30 change no output bit', (label, path) => {
    withPath(path, () => {
      const base = attention(q, k, v, { keyMask: mask, precision: 'bf16' }).data;
      for (const value of [1e30, NaN, Infinity]) {
        const other = attention(q, poison(k, value), poison(v, value), { keyMask: mask, precision: 'bf16' }).data;
        const first = base.findIndex((x, i) => !Object.is(x, other[i]));
        if (first >= 0) throw new Error(`${label}, masked keys = ${value}: out[${first}] ${base[first]} -> ${other[first]}`);
      }
    });
  });

  test.each(PATHS.map((p) => [p.label, p] as [string, PrecisionPath]))('%s: a NaN query row gives NaN there and nowhere else', (label, path) => {
    const qn = Float32Array.from(q.data);
    const row = 17; // batch 0, head 0
    qn[row * D + 5] = NaN;
    const out = withPath(path, () => attention({ data: qn, dims: q.dims }, k, v, { precision: 'bf16' })).data;
    const clean = withPath(path, () => attention(q, k, v, { precision: 'bf16' })).data;
    for (let r = 0; r < B * H * Nq; r++) {
      const o = out.subarray(r * Dv, (r + 1) * Dv);
      if (r === row) expect(o.every((x) => Number.isNaN(x))).toBe(true);
      else if (!o.every((x, c) => Object.is(x, clean[r * Dv + c]))) throw new Error(`${label}: row ${r} changed`);
    }
  });
});

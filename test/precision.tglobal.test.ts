// options.precision on the standalone TGlobal core (transientGlobalAttention / Async, lib/tglobal.ts):
// 'bf16' and 'fp16' on every reduced-precision path (fp16: emulated once per ISA, and on native float16 sets) within
// 2e-2 / 5e-3 x max|out| of the float32 result, padded query rows exactly 0, 'fp32' the default bit
// for bit; async equal to sync; a packed batch (seqStarts) equal to each sequence alone in the same
// precision; bad values and returnWeights refused with errors naming the option.
import { globalBlockIds, transientGlobalAttention, transientGlobalAttentionAsync, Tensor, TransientGlobalAttentionOptions } from '../lib/index';
import { mulberry32, uniform } from '../lib/random';
import { fp16Paths, precisionPaths, withPath, withPathAsync } from './helpers/precision';

const TOL = { bf16: 2e-2, fp16: 5e-3 } as const;
const PATHS = precisionPaths();
const PATHS_FOR = { bf16: PATHS, fp16: fp16Paths(PATHS) };

const B = 2, H = 3, N = 45, D = 24, Dv = 20, g = 8, r = 5, NB = 16;
const G = Math.floor(N / g);
const rand = (seed: number, dims: number[], scale = 1): Tensor => ({ data: uniform(mulberry32(seed), dims.reduce((a, b) => a * b, 1), scale), dims });
const mask = new Int32Array(B * N).fill(1);
for (let i = 38; i < N; i++) mask[N + i] = 0;  // row 1 ends with 7 padded tokens
const q = rand(1, [B, H, N, D], 2), k = rand(2, [B, H, N, D], 2), v = rand(3, [B, H, N, Dv]);
const gk = rand(4, [B, H, G, D], 2), gv = rand(5, [B, H, G, Dv]);
const options: TransientGlobalAttentionOptions = {
  localRadius: r, globalBlockSize: g, mask: { data: mask, dims: [B, N] }, scale: 0.4,
  relativeAttentionBias: rand(6, [NB, H]), globalRelativeAttentionBias: rand(7, [NB, H]), numBuckets: NB, maxDistance: 20,
};
const fp32 = transientGlobalAttention(q, k, v, gk, gv, options).data;

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}
function check(got: Float32Array, want: Float32Array, tol: number): void {
  expect(got.length).toBe(want.length);
  const scale = maxAbs(want);
  expect(scale).toBeGreaterThan(0);
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  expect(worst).toBeLessThanOrEqual(tol * scale);
  expect(worst).toBeGreaterThan(0);  // the products really were rounded
  // padded query rows: exactly 0 ([B, H, N, Dv])
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < N; i++)
        if (!mask[b * N + i]) for (let c = 0; c < Dv; c++) expect(got[((b * H + h) * N + i) * Dv + c]).toBe(0);
}

test("precision 'fp32' is the default, bit for bit", () => {
  expect(transientGlobalAttention(q, k, v, gk, gv, { ...options, precision: 'fp32' }).data).toEqual(fp32);
});

describe.each(['bf16', 'fp16'] as const)('%s', (precision) => {
  test.each(PATHS_FOR[precision].map((p) => [p.label, p] as const))('%s: within tolerance of float32, padded rows 0, async the same', async (_, p) => {
    const got = withPath(p, () => transientGlobalAttention(q, k, v, gk, gv, { ...options, precision }).data);
    check(got, fp32, TOL[precision]);
    const again = await withPathAsync(p, () => transientGlobalAttentionAsync(q, k, v, gk, gv, { ...options, precision }));
    expect(again.data).toEqual(got);
  });

  test("layout 'bnhd' gives the 'bhnd' result transposed", () => {
    const bnhd = (t: Tensor): Tensor => {
      const [b0, h0, n0, d0] = t.dims;
      const out = new Float32Array(t.data.length);
      for (let b = 0; b < b0; b++)
        for (let h = 0; h < h0; h++)
          for (let i = 0; i < n0; i++)
            for (let c = 0; c < d0; c++) out[((b * n0 + i) * h0 + h) * d0 + c] = t.data[((b * h0 + h) * n0 + i) * d0 + c];
      return { data: out, dims: [b0, n0, h0, d0] };
    };
    const want = transientGlobalAttention(q, k, v, gk, gv, { ...options, precision });
    const got = transientGlobalAttention(bnhd(q), bnhd(k), bnhd(v), bnhd(gk), bnhd(gv), { ...options, precision, layout: 'bnhd' });
    expect(got.data).toEqual(bnhd(want).data);
  });

  test('a packed batch (seqStarts) equals each sequence alone', async () => {
    const lens = [45, 17, 30];
    const T = lens.reduce((a, b) => a + b, 0);
    const seqStarts = new Int32Array(lens.length + 1);
    lens.forEach((n, s) => (seqStarts[s + 1] = seqStarts[s] + n));
    const Gt = lens.reduce((a, n) => a + Math.floor(n / g), 0);
    const pq = rand(11, [T, H, D], 2), pk = rand(12, [T, H, D], 2), pv = rand(13, [T, H, Dv]);
    const pgk = rand(14, [Gt, H, D], 2), pgv = rand(15, [Gt, H, Dv]);
    const opts = { localRadius: r, globalBlockSize: g, relativeAttentionBias: options.relativeAttentionBias, precision };
    const packed = transientGlobalAttention(pq, pk, pv, pgk, pgv, { ...opts, seqStarts }).data;
    expect((await transientGlobalAttentionAsync(pq, pk, pv, pgk, pgv, { ...opts, seqStarts })).data).toEqual(packed);
    const fp32Packed = transientGlobalAttention(pq, pk, pv, pgk, pgv, { ...opts, precision: 'fp32', seqStarts }).data;
    expect(maxAbs(packed.map((x, i) => x - fp32Packed[i]))).toBeLessThanOrEqual(TOL[precision] * maxAbs(fp32Packed));
    let g0 = 0;
    lens.forEach((n, s) => {
      const t0 = seqStarts[s], Gs = Math.floor(n / g);
      const view = (x: Tensor, at: number, rows: number, d: number): Tensor => ({ data: x.data.slice(at * H * d, (at + rows) * H * d), dims: [1, rows, H, d] });
      const alone = transientGlobalAttention(view(pq, t0, n, D), view(pk, t0, n, D), view(pv, t0, n, Dv), view(pgk, g0, Gs, D), view(pgv, g0, Gs, Dv),
        { ...opts, layout: 'bnhd' }).data;
      expect(packed.subarray(t0 * H * Dv, (t0 + n) * H * Dv)).toEqual(alone);
      g0 += Gs;
    });
  });

  test('returnWeights is refused (float32 only)', () => {
    expect(() => transientGlobalAttention(q, k, v, gk, gv, { ...options, precision, returnWeights: true }))
      .toThrow(new RangeError(`options.returnWeights cannot be combined with options.precision '${precision}' yet: use precision 'fp32' for the weights`));
  });
});

test('bad precision values name the option', async () => {
  expect(() => transientGlobalAttention(q, k, v, gk, gv, { ...options, precision: 'fp8' as never }))
    .toThrow(new RangeError("options.precision must be 'fp32', 'bf16' or 'fp16', got 'fp8'"));
  expect(() => transientGlobalAttention(q, k, v, gk, gv, { ...options, precision: 16 as never }))
    .toThrow(new TypeError("options.precision must be 'fp32', 'bf16' or 'fp16', got number"));
  expect(() => transientGlobalAttention(q, k, v, gk, gv, { ...options, precision: null as never }))
    .toThrow(new TypeError("options.precision must be 'fp32', 'bf16' or 'fp16', got object"));
  await expect(transientGlobalAttentionAsync(q, k, v, gk, gv, { ...options, precision: 'BF16' as never }))
    .rejects.toThrow(new RangeError("options.precision must be 'fp32', 'bf16' or 'fp16', got 'BF16'"));
  // fp32 weights still work beside an explicit 'fp32'
  const w = transientGlobalAttention(q, k, v, gk, gv, { ...options, precision: 'fp32', returnWeights: true });
  expect(w.data).toEqual(fp32);
  expect(w.weights.dims).toEqual([B, H, N, N + G]);
  expect(globalBlockIds({ data: mask, dims: [B, N] }, g).G).toBe(G);
});

// precision 'fp16' (lib/precision.ts): float16 products, float32 softmax and accumulation, on every
// ISA this CPU runs (with the default kernel choice: emulated, or neonfp16 on arm64 with FEAT_FHM). The kernels' rounding equals an independent float64 rounding (linear with
// the identity returns the rounded inputs exactly: ties, float16 subnormals, overflow); linear within
// the float32 summation bound of a float64 sum over float16-rounded inputs; attention on every dense_*
// fixture within 5e-3 x max|out| of float32 and of the float64 reference, weights rows summing to 1
// and excluded keys exactly 0. A float16 weight (dtype 'float16', e.g. an F16 checkpoint's tensor) is
// used as stored.
import { attention, attentionAsync, info, linear, linearAsync, readSafetensors, writeSafetensors } from '../lib/index';
import { toFloat32 } from '../lib/safetensors';
import { mulberry32, uniform } from '../lib/random';
import { emptyRows, listFixtures, loadFixture, maxAbsDiff } from './helpers/fixtures';
import { withIsa } from './helpers/isa';
import { bf16, fp16, fp16Bits } from './helpers/precision';

const ISAS = info().availableIsas;
const FP16_TOL = 5e-3;
const maxAbs = (a: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
};

test('the float64 reference rounding', () => {
  expect(fp16(1)).toBe(1);
  expect(fp16(1 + 2 ** -11)).toBe(1);                  // tie, even below
  expect(fp16(1 + 3 * 2 ** -11)).toBe(1 + 2 ** -9);     // tie, even above
  expect(fp16(65504)).toBe(65504);
  expect(fp16(65519)).toBe(65504);
  expect(fp16(65520)).toBe(Infinity);                   // the tie past the largest float16
  expect(fp16(2 ** -24)).toBe(2 ** -24);                // smallest subnormal
  expect(fp16(2 ** -25)).toBe(0);                       // tie, even (0)
  expect(fp16(3 * 2 ** -26)).toBe(2 ** -24);
  expect(fp16(-3 * 2 ** -25)).toBe(-2 * 2 ** -24);      // tie between 1 and 2 subnormal steps: even
});

describe.each(ISAS)('%s', (isa) => {
  test('the kernels round like the reference: linear(x, identity) gives x rounded, bit for bit', () => {
    const rng = mulberry32(5);
    const K = 45;
    const M = 20;
    const x = new Float32Array(M * K);
    for (let i = 0; i < x.length; i++) {
      const kind = i % 6;
      const m = Math.floor(rng() * 1024);
      if (kind === 0) x[i] = (1024 + m + 0.5) * 2 ** (Math.floor(rng() * 20) - 20);  // ties
      else if (kind === 1) x[i] = (rng() - 0.5) * 2 ** -15;                         // float16 subnormals
      else if (kind === 2) x[i] = (rng() - 0.5) * 8;
      else if (kind === 3) x[i] = 65504 + rng() * 15.9;                              // just below overflow
      else x[i] = (rng() - 0.5) * 2 ** (Math.floor(rng() * 30) - 15);
    }
    x[(M - 1) * K + 7] = 65520;  // the last row overflows float16 (infinity): checked alone
    const id = new Float32Array(K * K);
    for (let k = 0; k < K; k++) id[k * K + k] = 1;
    withIsa(isa, () => {
      for (const [precision, round] of [['fp16', fp16], ['bf16', bf16]] as const) {
        const y = linear({ data: x, dims: [M, K] }, { data: id, dims: [K, K] }, { precision }).data;
        // A row holding an infinity makes its other columns inf·0 = NaN: compare finite rows only.
        let compared = 0;
        for (let i = 0; i < M; i++) {
          const row = Array.from(x.subarray(i * K, (i + 1) * K), round);
          if (!row.every(Number.isFinite)) continue;
          compared++;
          for (let k = 0; k < K; k++)
            if (!Object.is(y[i * K + k], row[k]) && !(y[i * K + k] === 0 && row[k] === 0))
              throw new Error(`${isa} ${precision}: round(${x[i * K + k]}) = ${y[i * K + k]}, want ${row[k]}`);
        }
        expect(compared).toBe(precision === 'fp16' ? M - 1 : M);
        if (precision === 'fp16') expect(y[(M - 1) * K + 7]).toBe(Infinity);
      }
    });
  });

  test('linear: float16 products, float32 sums; sync and async agree', async () => {
    const rng = mulberry32(6);
    for (const [M, K, N] of [[3, 7, 5], [100, 129, 33]]) {
      const x = uniform(rng, M * K);
      const w = uniform(rng, N * K);
      const y = withIsa(isa, () => linear({ data: x, dims: [M, K] }, { data: w, dims: [N, K] }, { precision: 'fp16' })).data;
      for (let i = 0; i < M; i++)
        for (let j = 0; j < N; j++) {
          let s = 0;
          let mag = 0;
          for (let k = 0; k < K; k++) {
            const p = fp16(x[i * K + k]) * fp16(w[j * K + k]);
            s += p;
            mag += Math.abs(p);
          }
          const tol = (K + 2) * 2 ** -23 * mag;
          if (!(Math.abs(y[i * N + j] - s) <= tol)) throw new Error(`${isa} [${M},${K},${N}] y[${i},${j}] = ${y[i * N + j]}, want ${s}`);
        }
      const before = info().isa;
      const a = await (async () => {
        const { setIsa } = await import('../lib/index');
        setIsa(isa);
        try {
          return await linearAsync({ data: x, dims: [M, K] }, { data: w, dims: [N, K] }, { precision: 'fp16' });
        } finally {
          setIsa(before);
        }
      })();
      expect(a.data).toEqual(y);
    }
  });

  test.each(listFixtures('dense_').filter((n) => !n.startsWith('dense_t5layer')))('attention %s within 5e-3 x max|out|; weights', (name) => {
    const fx = loadFixture(name);
    const c = fx.config;
    const q = fx.tensor('q');
    const k = fx.tensor('k');
    const v = fx.tensor('v');
    const options: Record<string, unknown> = { scale: c.scale, causal: c.causal };
    let mask: Int32Array | undefined;
    if (c.has_key_padding_mask) {
      mask = fx.i32('key_padding_mask');
      options.keyMask = { data: mask, dims: [c.batch, c.kv_len] };
    }
    if (c.has_bias) options.bias = fx.tensor('bias');
    const expected = fx.f64('out_f64');
    const fp32 = attention(q, k, v, options).data;
    const r = withIsa(isa, () => attention(q, k, v, { ...options, precision: 'fp16', returnWeights: true }));
    const scale = maxAbs(expected);
    const err = Math.max(maxAbsDiff(r.data, fp32), maxAbsDiff(r.data, expected));
    if (!(err <= FP16_TOL * scale)) throw new Error(`${isa} ${name}: error ${err}, max|out| ${scale}`);
    if (scale > 0) expect(maxAbsDiff(r.data, fp32)).toBeGreaterThan(0);
    const [B, H, Nq] = q.dims;
    const Nk = k.dims[2];
    const empty = emptyRows(B, H, Nq, Nk, c.causal, mask);
    const w = r.weights!.data;
    for (let row = 0; row < B * H * Nq; row++) {
      const b = Math.floor(row / (H * Nq));
      const i = row % Nq;
      let sum = 0;
      for (let j = 0; j < Nk; j++) {
        const excluded = (mask && !mask[b * Nk + j]) || (c.causal && j > i + Nk - Nq);
        if (excluded && w[row * Nk + j] !== 0) throw new Error(`${name} row ${row}: excluded key ${j} has weight ${w[row * Nk + j]}`);
        sum += w[row * Nk + j];
      }
      if (empty[row] ? sum !== 0 : Math.abs(sum - 1) > 1e-5) throw new Error(`${name} row ${row} sums to ${sum}`);
      if (empty[row]) expect(Array.from(r.data.subarray(row * v.dims[3], (row + 1) * v.dims[3])).every((x) => x === 0)).toBe(true);
    }
  });
});

test('attentionAsync with fp16 equals attention', async () => {
  const rng = mulberry32(7);
  const dims = [1, 2, 40, 24];
  const t = () => ({ data: uniform(rng, 1920), dims });
  const [q, k, v] = [t(), t(), t()];
  const sync = attention(q, k, v, { causal: true, precision: 'fp16' }).data;
  expect((await attentionAsync(q, k, v, { causal: true, precision: 'fp16' })).data).toEqual(sync);
});

describe('float16 weights (Fp16Tensor)', () => {
  const rng = mulberry32(8);
  const [M, K, N] = [30, 37, 21];
  const x = { data: uniform(rng, M * K), dims: [M, K] };
  const w = { data: uniform(rng, N * K, 3), dims: [N, K] };
  const bits = Uint16Array.from(w.data, fp16Bits);

  test('the JavaScript bit patterns decode (lib/safetensors toFloat32) to the rounded values', () => {
    const decoded = toFloat32({ dtype: 'F16', shape: [N, K], data: bits });
    expect(decoded).toEqual(Float32Array.from(w.data, fp16));
  });

  test('linear(x, float16 w) equals precision fp16 bit for bit; sync, async, and from an F16 safetensors file', async () => {
    const want = linear(x, w, { precision: 'fp16' }).data;
    const w16 = { data: bits, dims: [N, K], dtype: 'float16' as const };
    expect(linear(x, w16).data).toEqual(want);
    expect((await linearAsync(x, w16, { precision: 'fp16' })).data).toEqual(want);
    const t = readSafetensors(writeSafetensors({ w: { dtype: 'F16', shape: [N, K], data: bits } })).tensors.get('w')!;
    expect(linear(x, { data: t.data as Uint16Array, dims: t.shape, dtype: 'float16' }).data).toEqual(want);
    expect(() => linear(x, w16, { precision: 'bf16' })).toThrow(/w is a float16 tensor/);
  });
});

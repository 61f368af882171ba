// linear(x, w, { precision: 'bf16' }) (lib/precision.ts) under every (ISA, bf16 kernel set) pair this
// CPU runs, against a float64 reference over inputs rounded to bfloat16 by an independent JavaScript
// rounding: products of bfloat16 values are exact in float32, so only float32 summation errs,
// |err| <= (K+2)·2^-23·Σ|x·w| (the float32 GEMM's bound). The default stays float32, bit for bit.
// A weight kept in bfloat16 (toBf16, or a BF16 checkpoint's Uint16Array) gives the same bits.
import { linear, linearAsync, readSafetensors, toBf16, writeSafetensors } from '../lib/index';
import { mulberry32, uniform } from '../lib/random';
import { PrecisionPath, bf16, precisionPaths, roundBf16, withPath, withPathAsync } from './helpers/precision';

const PATHS = precisionPaths();
// [M, K, N]: below and above the float32 GEMM's dot-product crossover, odd K (pair padding),
// K and N off every vector width.
const SHAPES: [number, number, number][] = [[1, 1, 1], [3, 7, 5], [17, 45, 67], [64, 64, 64], [130, 129, 33], [200, 96, 40]];

function reference(x: Float32Array, w: Float32Array, M: number, K: number, N: number) {
  const xr = roundBf16(x);
  const wr = roundBf16(w);
  const ref = new Float64Array(M * N);
  const mag = new Float64Array(M * N);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = 0;
      let m = 0;
      for (let k = 0; k < K; k++) {
        const p = xr[i * K + k] * wr[j * K + k];
        s += p;
        m += Math.abs(p);
      }
      ref[i * N + j] = s;
      mag[i * N + j] = m;
    }
  return { ref, mag };
}

test('the JavaScript bf16 rounding: ties to even, subnormals to zero, overflow to infinity', () => {
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  const fromBits = (b: number) => ((u[0] = b), f[0]);
  expect(bf16(1)).toBe(1);
  expect(bf16(fromBits(0x3f808000))).toBe(1);                  // tie: even below
  expect(bf16(fromBits(0x3f818000))).toBe(fromBits(0x3f820000)); // tie: even above
  expect(bf16(fromBits(0x3f808001))).toBe(fromBits(0x3f810000));
  expect(bf16(fromBits(0x00000001))).toBe(0);
  expect(Object.is(bf16(fromBits(0x807fffff)), -0)).toBe(true);
  expect(bf16(fromBits(0x7f7fffff))).toBe(Infinity);
  expect(bf16(NaN)).toBeNaN();
});

describe.each(SHAPES)('M=%i K=%i N=%i', (M, K, N) => {
  const rng = mulberry32(M * 1000 + K * 10 + N);
  const x = uniform(rng, M * K);
  const w = uniform(rng, N * K);
  const { ref, mag } = reference(x, w, M, K, N);
  const fp32 = linear({ data: x, dims: [M, K] }, { data: w, dims: [N, K] }).data;

  test.each(PATHS.map((p) => [p.label, p] as [string, PrecisionPath]))('%s: bf16 products, float32 sums', (label, path) => {
    for (const threads of [1, 2]) {
      const y = withPath(path, () => linear({ data: x, dims: [M, K] }, { data: w, dims: [N, K] }, { precision: 'bf16', threads }));
      expect(y.dims).toEqual([M, N]);
      for (let i = 0; i < M * N; i++) {
        const tol = (K + 2) * 2 ** -23 * mag[i];
        if (!(Math.abs(y.data[i] - ref[i]) <= tol)) throw new Error(`${label} threads=${threads}: y[${i}] = ${y.data[i]}, want ${ref[i]} ± ${tol}`);
      }
    }
  });

  test('bf16 differs from float32 (the option is not ignored) and stays within bf16 accuracy of it', () => {
    const y = linear({ data: x, dims: [M, K] }, { data: w, dims: [N, K] }, { precision: 'bf16' }).data;
    let maxErr = 0;
    let maxMag = 0;
    for (let i = 0; i < M * N; i++) {
      maxErr = Math.max(maxErr, Math.abs(y[i] - fp32[i]));
      maxMag = Math.max(maxMag, mag[i]);
    }
    if (M * K > 1) expect(maxErr).toBeGreaterThan(0);
    expect(maxErr).toBeLessThanOrEqual(2 ** -7 * maxMag);  // two roundings of 2^-9 each, plus float32 sums
  });

  test("precision 'fp32' equals the default, bit for bit", () => {
    expect(linear({ data: x, dims: [M, K] }, { data: w, dims: [N, K] }, { precision: 'fp32' }).data).toEqual(fp32);
  });
});

test('linearAsync with bf16 equals linear, on every path; x with leading dims', async () => {
  const rng = mulberry32(77);
  const x = { data: uniform(rng, 2 * 3 * 50), dims: [2, 3, 50] };
  const w = { data: uniform(rng, 70 * 50), dims: [70, 50] };
  for (const path of PATHS) {
    const sync = withPath(path, () => linear(x, w, { precision: 'bf16' }));
    const async_ = await withPathAsync(path, () => linearAsync(x, w, { precision: 'bf16' }));
    expect(async_.dims).toEqual([2, 3, 70]);
    expect(async_.data).toEqual(sync.data);
  }
});

test('bad precision values are named errors', async () => {
  const x = { data: new Float32Array(6), dims: [2, 3] };
  const w = { data: new Float32Array(12), dims: [4, 3] };
  expect(() => linear(x, w, { precision: 'fp8' as any })).toThrow(RangeError);
  expect(() => linear(x, w, { precision: 'fp8' as any })).toThrow(/options\.precision/);
  expect(() => linear(x, w, { precision: null as any })).toThrow(TypeError);
  await expect(linearAsync(x, w, { precision: 'bf17' as any })).rejects.toThrow(RangeError);
});

describe('bfloat16 weights (Bf16Tensor)', () => {
  const rng = mulberry32(78);
  const [M, K, N] = [70, 61, 35];
  const x = { data: uniform(rng, M * K), dims: [M, K] };
  const wData = uniform(rng, N * K);
  wData[3] = 1.00390625; // a tie: 1 + 2^-8 rounds to 1
  wData[4] = 1e-40;      // a subnormal: rounds to 0
  const w = { data: wData, dims: [N, K] };
  const wb = toBf16(w);

  test('toBf16 rounds like the independent JavaScript rule', () => {
    expect(wb.dtype).toBe('bfloat16');
    expect(wb.dims).toEqual([N, K]);
    const widened = new Float32Array(new Uint32Array(Array.from(wb.data, (h) => h << 16)).buffer);
    expect(widened).toEqual(roundBf16(wData));
    expect(widened[3]).toBe(1);
    expect(widened[4]).toBe(0);
  });

  test.each(PATHS.map((p) => [p.label, p] as [string, PrecisionPath]))('%s: linear(x, toBf16(w)) equals precision bf16 bit for bit, sync and async', async (label, path) => {
    const want = withPath(path, () => linear(x, w, { precision: 'bf16' })).data;
    expect(withPath(path, () => linear(x, wb)).data).toEqual(want);
    expect(withPath(path, () => linear(x, wb, { precision: 'bf16', threads: 1 })).data).toEqual(want);
    expect((await withPathAsync(path, () => linearAsync(x, wb))).data).toEqual(want);
  });

  test('a BF16 safetensors weight is used as stored', () => {
    const bytes = writeSafetensors({ w: { dtype: 'BF16', shape: [N, K], data: wb.data } });
    const t = readSafetensors(bytes).tensors.get('w')!;
    expect(t.dtype).toBe('BF16');
    const y = linear(x, { data: t.data as Uint16Array, dims: t.shape, dtype: 'bfloat16' });
    expect(y.data).toEqual(linear(x, w, { precision: 'bf16' }).data);
  });

  test('bad bfloat16 weights are named errors', async () => {
    expect(() => linear(x, wb, { precision: 'fp32' })).toThrow(/w is a bfloat16 tensor/);
    expect(() => linear(x, { data: wData, dims: [N, K], dtype: 'bfloat16' } as any)).toThrow(TypeError);
    expect(() => linear(x, { data: wb.data.subarray(1), dims: [N, K], dtype: 'bfloat16' })).toThrow(RangeError);
    expect(() => linear(x, { data: wb.data, dims: [N, K + 1], dtype: 'bfloat16' })).toThrow(RangeError);
    await expect(linearAsync(x, { data: wb.data, dims: [K, N], dtype: 'bfloat16' })).rejects.toThrow(RangeError);
  });
});

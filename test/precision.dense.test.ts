// attention(q, k, v, { precision: 'bf16' }) (lib/precision.ts) on every dense_* fixture under every
// (ISA, bf16 kernel set) pair this CPU runs: within 2e-2 x max|out| of the float32 result and of the
// float64 reference; rows without an admissible key exactly 0; native and emulated kernels agree as
// identical rounding implies (>= 95 % of outputs within 1e-5 x max|out|: float32 summation order
// only now and then moves a probability across a bfloat16 rounding boundary); probabilities sum to 1 within 1e-5 and excluded
// keys get weight exactly 0; masked keys are excluded exactly, even when their k and v are NaN.
import { attention, attentionAsync, AttentionOptions, info } from '../lib/index';
import { mulberry32, uniform } from '../lib/random';
import { emptyRows, fillKeyRows, listFixtures, loadFixture, maxAbsDiff } from './helpers/fixtures';
import { PrecisionPath, precisionPaths, withPath, withPathAsync } from './helpers/precision';

const BF16_TOL = 2e-2;        // x max|out|: the accuracy promised for bf16
const SAME_ROUNDING_TOL = 1e-5; // x max|out|: native vs emulated, for >= 95 % of outputs (bf16 error itself is ~1e-3)
const CASES = listFixtures('dense_').filter((n) => !n.startsWith('dense_t5layer'));
const PATHS = precisionPaths();

interface Case {
  q: { data: Float32Array; dims: number[] };
  k: { data: Float32Array; dims: number[] };
  v: { data: Float32Array; dims: number[] };
  options: AttentionOptions;
  expected: Float64Array;
  empty: boolean[];
  mask?: Int32Array;
}

function load(name: string): Case {
  const fx = loadFixture(name);
  const c = fx.config;
  const q = fx.tensor('q');
  const k = fx.tensor('k');
  const options: AttentionOptions = { scale: c.scale, causal: c.causal };
  let mask: Int32Array | undefined;
  if (c.has_key_padding_mask) {
    mask = fx.i32('key_padding_mask');
    options.keyMask = { data: mask, dims: [c.batch, c.kv_len] };
  }
  if (c.has_bias) options.bias = fx.tensor('bias');
  return {
    q, k, v: fx.tensor('v'), options, expected: fx.f64('out_f64'), mask,
    empty: emptyRows(q.dims[0], q.dims[1], q.dims[2], k.dims[2], c.causal, mask),
  };
}

const maxAbs = (a: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
};

function nonZeroEmptyRows(out: Float32Array, empty: boolean[], Dv: number): number[] {
  const bad: number[] = [];
  empty.forEach((e, r) => {
    if (e && out.subarray(r * Dv, (r + 1) * Dv).some((x) => x !== 0)) bad.push(r);
  });
  return bad;
}

test('the paths include every native set this machine offers, each with its own kernels', () => {
  expect(CASES.length).toBeGreaterThanOrEqual(10);
  expect(PATHS.some((p) => p.kernels === 'emulated')).toBe(true);
  for (const set of info().reducedPrecision) expect(PATHS.some((p) => p.kernels === set)).toBe(true);
});

describe.each(CASES)('%s', (name) => {
  const c = load(name);
  const fp32 = attention(c.q, c.k, c.v, c.options).data;
  const scaleOut = maxAbs(c.expected);
  const Dv = c.v.dims[3];
  const results = new Map<string, Float32Array>();

  test.each(PATHS.map((p) => [p.label, p] as [string, PrecisionPath]))('%s: bf16 within 2e-2 x max|out| of float32 and float64', (label, path) => {
    const out = withPath(path, () => attention(c.q, c.k, c.v, { ...c.options, precision: 'bf16' }));
    expect(out.dims).toEqual(c.q.dims.slice(0, 3).concat(Dv));
    const errFp32 = maxAbsDiff(out.data, fp32);
    const errF64 = maxAbsDiff(out.data, c.expected);
    if (!(errFp32 <= BF16_TOL * scaleOut && errF64 <= BF16_TOL * scaleOut))
      throw new Error(`${label}: error vs fp32 ${errFp32}, vs f64 ${errF64}, max|out| ${scaleOut}`);
    // bf16 really rounds: a float32 kernel behind the option would pass the tolerance above.
    if (scaleOut > 0) expect(errFp32).toBeGreaterThan(0);
    expect(nonZeroEmptyRows(out.data, c.empty, Dv)).toEqual([]);
    results.set(label, out.data);
  });

  test('native and emulated kernels round identically', () => {
    const ref = results.get(PATHS[0].label)!;
    expect(ref).toBeDefined();
    for (const [label, out] of results) {
      let far = 0;
      for (let i = 0; i < out.length; i++) if (!(Math.abs(out[i] - ref[i]) <= SAME_ROUNDING_TOL * scaleOut)) far++;
      const d = maxAbsDiff(out, ref);
      if (far > out.length / 20 || !(d <= 2 ** -8 * maxAbs(c.v.data)))
        throw new Error(`${label} vs ${PATHS[0].label}: ${far} of ${out.length} beyond ${SAME_ROUNDING_TOL} x max|out|, max ${d}`);
    }
  });

  test.each(PATHS.map((p) => [p.label, p] as [string, PrecisionPath]))('%s: weights rows sum to 1, excluded keys exactly 0', (label, path) => {
    const r = withPath(path, () => attention(c.q, c.k, c.v, { ...c.options, precision: 'bf16', returnWeights: true }));
    const w = r.weights!.data;
    const [B, H, Nq] = c.q.dims;
    const Nk = c.k.dims[2];
    const off = Nk - Nq;
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++)
        for (let i = 0; i < Nq; i++) {
          const row = (b * H + h) * Nq + i;
          let sum = 0;
          for (let j = 0; j < Nk; j++) {
            const x = w[row * Nk + j];
            const excluded = (c.mask && !c.mask[b * Nk + j]) || (c.options.causal && j > i + off);
            if (excluded && x !== 0) throw new Error(`${label}: weight [${b},${h},${i},${j}] = ${x} for an excluded key`);
            sum += x;
          }
          if (c.empty[row] ? sum !== 0 : Math.abs(sum - 1) > 1e-5) throw new Error(`${label}: row ${row} sums to ${sum}`);
        }
  });
});

describe('masked keys', () => {
  const rng = mulberry32(15);
  const [B, H, N, D] = [2, 2, 150, 40];
  const q = { data: uniform(rng, B * H * N * D), dims: [B, H, N, D] };
  const k = { data: uniform(rng, B * H * N * D), dims: [B, H, N, D] };
  const v = { data: uniform(rng, B * H * N * D), dims: [B, H, N, D] };
  const mask = Uint8Array.from({ length: B * N }, (_, i) => (i % 7 === 3 || i % 11 === 0 ? 0 : 1));
  // The same inputs with every masked key's k and v replaced by huge values or NaN.
  const poison = (t: { data: Float32Array; dims: number[] }, value: number) =>
    ({ data: fillKeyRows(t.data, t.dims, (b, _h, j) => !mask[b * N + j], value), dims: t.dims });
  test.each(PATHS.map((p) => [p.label, p] as [string, PrecisionPath]))('%s: changing a masked key changes nothing, bit for bit', (label, path) => {
    withPath(path, () => {
      const base = attention(q, k, v, { keyMask: mask, precision: 'bf16' }).data;
      for (const value of [1e30, NaN]) {
        const other = attention(poison(q, 0) && q, poison(k, value), poison(v, value), { keyMask: mask, precision: 'bf16' }).data;
        expect(other.every((x) => Number.isFinite(x))).toBe(true);
        const firstDiff = base.findIndex((x, i) => !Object.is(x, other[i]));
        if (firstDiff >= 0) throw new Error(`${label}, masked keys = ${value}: out[${firstDiff}] ${base[firstDiff]} -> ${other[firstDiff]}`);
      }
    });
  });
});

describe('edge shapes', () => {
  // [B, H, Nq, Nk, D, Dv]: no keys, empty dot products, one key, D and Dv of 1, Dv past a vector.
  const shapes = [[1, 1, 3, 0, 4, 4], [1, 2, 5, 7, 0, 3], [2, 1, 1, 1, 1, 1], [1, 1, 17, 1, 2, 33], [1, 1, 2, 3, 65, 17]];
  test.each(PATHS.map((p) => [p.label, p] as [string, PrecisionPath]))('%s: bf16 within 2e-2 x max|out| of float32', (label, path) => {
    const rng = mulberry32(99);
    for (const [B, H, Nq, Nk, D, Dv] of shapes) {
      const q = { data: uniform(rng, B * H * Nq * D), dims: [B, H, Nq, D] };
      const k = { data: uniform(rng, B * H * Nk * D), dims: [B, H, Nk, D] };
      const v = { data: uniform(rng, B * H * Nk * Dv), dims: [B, H, Nk, Dv] };
      const fp32 = attention(q, k, v).data;
      const out = withPath(path, () => attention(q, k, v, { precision: 'bf16' })).data;
      if (Nk === 0) expect(out.every((x) => x === 0)).toBe(true);
      const err = maxAbsDiff(out, fp32);
      if (!(err <= BF16_TOL * maxAbs(fp32))) throw new Error(`${label} [${[B, H, Nq, Nk, D, Dv]}]: error ${err}`);
    }
  });
});

describe('options', () => {
  const rng = mulberry32(16);
  const dims = [1, 2, 33, 16];
  const q = { data: uniform(rng, 1056), dims };
  const k = { data: uniform(rng, 1056), dims };
  const v = { data: uniform(rng, 1056), dims };

  test("precision 'fp32' is the default, bit for bit", () => {
    expect(attention(q, k, v, { precision: 'fp32' }).data).toEqual(attention(q, k, v).data);
  });

  test('attentionAsync with bf16 equals attention', async () => {
    for (const path of PATHS) {
      const sync = withPath(path, () => attention(q, k, v, { causal: true, precision: 'bf16' }).data);
      const async_ = await withPathAsync(path, () => attentionAsync(q, k, v, { causal: true, precision: 'bf16' }));
      expect(async_.data).toEqual(sync);
    }
  });

  test("layout 'bnhd' with bf16 matches 'bhnd'", () => {
    const t = (x: Float32Array) => {  // [B,H,N,D] -> [B,N,H,D]
      const [, H, N, D] = dims;
      const o = new Float32Array(x.length);
      for (let h = 0; h < H; h++) for (let n = 0; n < N; n++) for (let d = 0; d < D; d++) o[(n * H + h) * D + d] = x[(h * N + n) * D + d];
      return { data: o, dims: [1, dims[2], dims[1], dims[3]] };
    };
    const a = attention(q, k, v, { precision: 'bf16' }).data;
    const b = attention(t(q.data), t(k.data), t(v.data), { precision: 'bf16', layout: 'bnhd' }).data;
    expect(b).toEqual(t(a).data);
  });

  test('bad precision values are named errors', async () => {
    expect(() => attention(q, k, v, { precision: 'fp8' as any })).toThrow(RangeError);
    expect(() => attention(q, k, v, { precision: 'fp8' as any })).toThrow(/options\.precision/);
    expect(() => attention(q, k, v, { precision: 16 as any })).toThrow(TypeError);
    await expect(attentionAsync(q, k, v, { precision: 'half' as any })).rejects.toThrow(RangeError);
  });
});

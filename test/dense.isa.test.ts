// Every SIMD path agrees with the scalar path and with the float64 JS reference on odd shapes:
// head sizes D in {1, 3, 17, 64, 80, 128} (not multiples of any vector width, or exactly one),
// sequence lengths N in {1, 7, 129, 1000} (below, just past and far past a tile), the full D x N
// grid for B = H = 1, then Dv != D, GQA/MQA, key masks (with an all-masked batch row), every bias
// broadcast shape, causal with Nq != Nk, threads 1 and 2, batch > 1 and peaky softmaxes.
import { attention, AttentionOptions, info } from '../lib/index';
import { emptyRows, firstMismatch, maxAbsDiff, mulberry32, randomData, randomMask, referenceAttention } from './helpers/fixtures';
import { availableIsas, withIsa } from './helpers/isa';

/** Against the float64 reference, for O(1) inputs (outputs are convex combinations of v in [-1, 1)). */
const TOL_REF = 1e-5;
/** SIMD against scalar: both float32, different summation order and exp approximation (seen: <= 7e-7). */
const TOL_SCALAR = 2e-6;
/**
 * Peaky cases (scores up to ~50 in magnitude): float32 rounding of a score s alone moves its
 * softmax weight by ~|s|·6e-8 relative, so both paths legitimately sit a few 1e-6 from float64.
 */
const TOL_REF_PEAKY = 2e-5;
const TOL_SCALAR_PEAKY = 1e-5;

const ISAS = availableIsas();
const SIMD = ISAS.filter((i) => i !== 'scalar');
const DS = [1, 3, 17, 64, 80, 128];
const NS = [1, 7, 129, 1000];

interface Case {
  name: string;
  B?: number; H?: number; Hk?: number;
  Nq: number; Nk: number; D: number; Dv?: number;
  scale?: number;
  causal?: boolean;
  /** 'random': each key kept with p = 0.7 and batch row 1 (if any) all masked. */
  mask?: 'random';
  /** Bias dims (rank <= 4, broadcastable to [B,H,Nq,Nk]). */
  bias?: number[];
  /** Fill for the bias: uniform [-2, 2), or some entries -1e30 ('huge'). */
  biasKind?: 'uniform' | 'huge';
  threads?: number[];
  /** Input range (default [-1, 1)). */
  range?: number;
  /** Large scores: use the PEAKY tolerances. */
  peaky?: boolean;
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

const GRID: Case[] = [];
for (const D of DS) for (const N of NS) GRID.push({ name: `B1 H1 N${N} D${D}`, Nq: N, Nk: N, D });

const EXTRA: Case[] = [
  { name: 'Dv 80 != D 17', H: 2, Nq: 129, Nk: 129, D: 17, Dv: 80 },
  { name: 'Dv 1, D 128', Nq: 129, Nk: 7, D: 128, Dv: 1 },
  { name: 'Dv 64, D 3, causal square N 1000', Nq: 1000, Nk: 1000, D: 3, Dv: 64, causal: true },
  { name: 'D 1, Dv 3, Nq 7, Nk 1000', H: 2, Nq: 7, Nk: 1000, D: 1, Dv: 3 },
  { name: 'GQA H6 Hk2, B2, key mask', B: 2, H: 6, Hk: 2, Nq: 129, Nk: 129, D: 80, mask: 'random' },
  { name: 'MQA H4 Hk1, Nq 7, Nk 1000', H: 4, Hk: 1, Nq: 7, Nk: 1000, D: 64 },
  { name: 'key mask, B3, batch row 1 all masked', B: 3, H: 2, Nq: 129, Nk: 129, D: 17, mask: 'random' },
  { name: 'key mask, Nk 1000, D 128', B: 2, H: 1, Nq: 7, Nk: 1000, D: 128, mask: 'random' },
  { name: 'key mask, Nk 1 (row 1 masked)', B: 2, H: 2, Nq: 7, Nk: 1, D: 3, mask: 'random' },
  { name: 'bias [B,H,Nq,Nk]', B: 2, H: 2, Nq: 129, Nk: 7, D: 3, bias: [2, 2, 129, 7] },
  { name: 'bias [1,H,Nq,Nk]', B: 2, H: 3, Nq: 129, Nk: 129, D: 64, bias: [1, 3, 129, 129] },
  { name: 'bias [B,1,Nq,Nk]', B: 2, H: 3, Nq: 7, Nk: 129, D: 80, bias: [2, 1, 7, 129] },
  { name: 'bias [Nq,Nk] (rank 2)', B: 2, H: 2, Nq: 129, Nk: 129, D: 17, bias: [129, 129] },
  { name: 'bias [B,1,1,Nk] (per key)', B: 2, H: 2, Nq: 129, Nk: 1000, D: 64, bias: [2, 1, 1, 1000] },
  { name: 'bias [H,1,Nk] (rank 3)', B: 2, H: 3, Nq: 7, Nk: 129, D: 17, bias: [3, 1, 129] },
  { name: 'bias [1,1,Nq,1] (per query)', H: 2, Nq: 129, Nk: 129, D: 3, bias: [1, 1, 129, 1] },
  { name: 'bias [1] (scalar)', H: 2, Nq: 7, Nk: 129, D: 64, bias: [1] },
  { name: 'bias with -1e30 entries', B: 2, H: 2, Nq: 129, Nk: 1000, D: 17, bias: [2, 2, 129, 1000], biasKind: 'huge' },
  { name: 'causal Nq 7 < Nk 129', H: 2, Nq: 7, Nk: 129, D: 64, causal: true },
  { name: 'causal Nq 129 > Nk 7 (122 empty rows)', H: 2, Nq: 129, Nk: 7, D: 17, causal: true },
  { name: 'causal Nq 1000 > Nk 129', Nq: 1000, Nk: 129, D: 80, causal: true },
  { name: 'causal Nq 1 < Nk 1000', Nq: 1, Nk: 1000, D: 128, causal: true },
  { name: 'causal square N 1000, D 128', Nq: 1000, Nk: 1000, D: 128, causal: true },
  {
    name: 'everything: B2 GQA H4 Hk2, causal Nq 129 < Nk 1000, mask, bias [B,1,Nq,Nk], Dv 17, scale 1',
    B: 2, H: 4, Hk: 2, Nq: 129, Nk: 1000, D: 80, Dv: 17, causal: true, mask: 'random', bias: [2, 1, 129, 1000], scale: 1,
  },
  { name: 'threads 1 and 2, B2 H3 Nq 129 Nk 1000 D64', B: 2, H: 3, Nq: 129, Nk: 1000, D: 64, threads: [1, 2] },
  { name: 'threads 1 and 2, B3 H1 Nq 7 Nk 1000 with mask', B: 3, H: 1, Nq: 7, Nk: 1000, D: 17, mask: 'random', threads: [1, 2] },
  { name: 'threads 2 with a single row (B=H=Nq=1)', Nq: 1, Nk: 1000, D: 80, threads: [2] },
  { name: 'peaky softmax: scale 4, D 64, N 1000', Nq: 1000, Nk: 1000, D: 64, scale: 4, peaky: true },
  { name: 'peaky softmax: inputs in [-4, 4), D 128, N 129', Nq: 129, Nk: 129, D: 128, range: 4, peaky: true },
  { name: 'zero scale: plain mean of v', H: 2, Nq: 7, Nk: 1000, D: 17, scale: 0 },
];

interface Built {
  q: { data: Float32Array; dims: number[] };
  k: { data: Float32Array; dims: number[] };
  v: { data: Float32Array; dims: number[] };
  options: AttentionOptions;
  mask?: Uint8Array;
  expected: Float64Array;
  empty: boolean[];
  Dv: number;
}

function build(c: Case): Built {
  const rng = mulberry32(hash(c.name));
  const B = c.B ?? 1, H = c.H ?? 1, Hk = c.Hk ?? H, Dv = c.Dv ?? c.D;
  const r = c.range ?? 1;
  const q = { data: randomData(rng, B * H * c.Nq * c.D, -r, r), dims: [B, H, c.Nq, c.D] };
  const k = { data: randomData(rng, B * Hk * c.Nk * c.D, -r, r), dims: [B, Hk, c.Nk, c.D] };
  const v = { data: randomData(rng, B * Hk * c.Nk * Dv), dims: [B, Hk, c.Nk, Dv] };
  const options: AttentionOptions = {};
  if (c.scale !== undefined) options.scale = c.scale;
  if (c.causal) options.causal = true;
  let mask: Uint8Array | undefined;
  if (c.mask) {
    mask = randomMask(rng, B * c.Nk, 0.7);
    mask[0] = 1; // row 0 keeps at least one key
    if (B > 1) mask.fill(0, c.Nk, 2 * c.Nk);
    options.keyMask = mask;
  }
  if (c.bias) {
    const n = c.bias.reduce((a, b) => a * b, 1);
    const data = randomData(rng, n, -2, 2);
    if (c.biasKind === 'huge') for (let i = 0; i < n; i++) if (rng() < 0.3) data[i] = -1e30;
    options.bias = { data, dims: c.bias };
  }
  const expected = referenceAttention(q, k, v, { scale: c.scale, causal: c.causal, keyMask: mask, bias: options.bias });
  return { q, k, v, options, mask, expected, empty: emptyRows(B, H, c.Nq, c.Nk, !!c.causal, mask), Dv };
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, label: string): void {
  const err = maxAbsDiff(actual, expected);
  if (!(err <= tol)) throw new Error(`${label}: max abs diff ${err} > ${tol}; first at ${firstMismatch(actual, expected, tol)}`);
}

function run(c: Case): void {
  const b = build(c);
  const tolRef = c.peaky ? TOL_REF_PEAKY : TOL_REF;
  const tolScalar = c.peaky ? TOL_SCALAR_PEAKY : TOL_SCALAR;
  const results = new Map<string, Float32Array>();
  for (const isa of ISAS)
    for (const threads of c.threads ?? [undefined]) {
      const label = `${c.name} [${isa}${threads === undefined ? '' : `, threads ${threads}`}]`;
      const opts = threads === undefined ? b.options : { ...b.options, threads };
      const out = withIsa(isa, () => attention(b.q, b.k, b.v, opts));
      expect(out.dims).toEqual([b.q.dims[0], b.q.dims[1], b.q.dims[2], b.Dv]);
      expectClose(out.data, b.expected, tolRef, `${label} vs float64 reference`);
      b.empty.forEach((e, r) => {
        if (e) for (let d = 0; d < b.Dv; d++) if (out.data[r * b.Dv + d] !== 0) throw new Error(`${label}: empty row ${r} is not 0 (${out.data[r * b.Dv + d]})`);
      });
      if (!results.has(isa)) results.set(isa, out.data);
      else expectClose(out.data, results.get(isa)!, tolScalar, `${label} vs the same ISA with other threads`);
    }
  for (const isa of SIMD) expectClose(results.get(isa)!, results.get('scalar')!, tolScalar, `${c.name}: ${isa} vs scalar`);
}

test('more than one ISA to compare (else this file only checks scalar)', () => {
  expect(ISAS[0]).toBe('scalar');
  if (process.arch === 'x64' || process.arch === 'arm64') expect(SIMD.length).toBeGreaterThan(0);
  expect(ISAS).toContain(info().isa);
});

describe('B = H = 1, Nq = Nk = N, full D x N grid', () => {
  test.each(GRID.map((c) => [c.name, c] as const))('%s', (_n, c) => run(c));
});

describe('shapes and options', () => {
  test.each(EXTRA.map((c) => [c.name, c] as const))('%s', (_n, c) => run(c));
});

describe('-Infinity in the bias excludes a key (exp(-inf) = 0)', () => {
  // Bias -Infinity on whole leading tiles of keys: an online softmax whose running max is still
  // -Infinity must not turn the first finite score into NaN (exp(-inf - -inf)).
  test.each(ISAS)('isa %s', (isa) => {
    const rng = mulberry32(99);
    const B = 1, H = 2, Nq = 7, Nk = 1000, D = 17;
    const q = { data: randomData(rng, B * H * Nq * D), dims: [B, H, Nq, D] };
    const k = { data: randomData(rng, B * H * Nk * D), dims: [B, H, Nk, D] };
    const v = { data: randomData(rng, B * H * Nk * D), dims: [B, H, Nk, D] };
    const bias = new Float32Array(Nk);
    for (let j = 0; j < Nk; j++) bias[j] = j < 300 || j % 7 === 0 ? -Infinity : 0;
    const options = { bias: { data: bias, dims: [1, 1, 1, Nk] } };
    const expected = referenceAttention(q, k, v, options);
    const out = withIsa(isa, () => attention(q, k, v, options));
    expectClose(out.data, expected, TOL_REF, `-inf bias [${isa}]`);
  });
});

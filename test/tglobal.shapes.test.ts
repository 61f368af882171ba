// Shapes the fixtures do not reach: every SIMD path vs scalar vs the float64 JS reference
// (helpers/longt5-reference.ts), for the LongT5 layers, the TGlobal core and the seed variant, on
// N < g (no globals), N < r, N not a multiple of r+1 or g, g = 1, r = 0, batch rows with different
// padding (right, left, all-but-few, fewer than g tokens, none, holes), heads·d_kv != d_model,
// D not a multiple of 8, B > 1, threads 1 and 2, layouts 'bnhd' and 'bhnd', HF default sizes at small N.
import {
  LongT5Attention, LongT5LocalAttention, LongT5TransientGlobalAttention, Tensor, blockGlobalAttention, blockGlobalAttentionAsync, info,
  transientGlobalAttention, transientGlobalAttentionAsync,
} from '../lib/index';
import { Rng, allFinite, mulberry32, randomData } from './helpers/fixtures';
import { availableIsas, withIsa, withIsaAsync } from './helpers/isa';
import { LayerKind, refBlockGlobal, refLayer, refTGlobalCore, rowError, swap12 } from './helpers/longt5-reference';

const ISAS = availableIsas();
const THREADS = [1, 2];
const REF_TOL = 1e-4; // native (float32) vs float64 reference, × max|reference| on rows that count
const ISA_TOL = 2e-5; // SIMD vs scalar, × max|reference|
const CLASSES = { tglobal: LongT5TransientGlobalAttention, local: LongT5LocalAttention, full: LongT5Attention };

const worst = new Map<string, number>();
function note(what: string, rel: number): void {
  if (!(rel <= (worst.get(what) ?? -1))) worst.set(what, rel);
}
afterAll(() => {
  if (process.env.GA_REPORT) console.log([...worst].map(([k, v]) => `${k}: ${v.toExponential(2)}`).join('\n'));
});

/** Row b of a [B, N] mask: 'full', 'right:L', 'left:L', 'few:L' (L tokens scattered), 'none', 'holes' (random 70 %). */
function makeMask(rng: Rng, N: number, rows: string[]): Int32Array {
  const m = new Int32Array(rows.length * N);
  rows.forEach((spec, b) => {
    const [kind, arg] = spec.split(':');
    const L = Number(arg);
    const row = m.subarray(b * N, (b + 1) * N);
    if (kind === 'full') row.fill(1);
    else if (kind === 'right') row.fill(1, 0, L);
    else if (kind === 'left') row.fill(1, N - L);
    else if (kind === 'few') for (let t = 0; t < L; t++) row[Math.floor(((t + 0.5) * N) / L)] = 1;
    else if (kind === 'holes') for (let i = 0; i < N; i++) row[i] = rng() < 0.7 ? 1 : 0;
    else if (kind !== 'none') throw new Error(`bad mask spec ${spec}`);
  });
  return m;
}

/** Uniform in ±sqrt(3 / fanIn): unit-variance outputs, so scores stay in a realistic range. */
const initW = (rng: Rng, out: number, fanIn: number) => randomData(rng, out * fanIn, -Math.sqrt(3 / fanIn), Math.sqrt(3 / fanIn));

// ---------------------------------------------------------------------------------------------
// Layers

interface LayerCase {
  name: string;
  kind: LayerKind;
  N: number;
  dModel: number;
  H: number;
  D: number;
  r?: number;
  g?: number;
  eps?: number;
  numBuckets?: number;
  maxDistance?: number;
  /** one spec per batch row (see makeMask); undefined = no mask argument */
  rows?: string[];
  B?: number;
}

const LAYERS: LayerCase[] = [
  { name: 'tglobal N < g (no globals)', kind: 'tglobal', N: 7, dModel: 32, H: 2, D: 16, r: 2, g: 8 },
  { name: 'tglobal N < r, D 12', kind: 'tglobal', N: 10, dModel: 32, H: 2, D: 12, r: 15, g: 4, rows: ['full', 'right:7'] },
  { name: 'tglobal N 53 (not a multiple of r+1 = 6 or g = 7), H·D 72 != d_model 48', kind: 'tglobal', N: 53, dModel: 48, H: 3, D: 24, r: 5, g: 7, rows: ['full', 'right:44'] },
  { name: 'tglobal g = 1 (every token a global)', kind: 'tglobal', N: 20, dModel: 32, H: 2, D: 8, r: 3, g: 1, rows: ['right:15', 'left:9'] },
  { name: 'tglobal r = 0 (only itself locally)', kind: 'tglobal', N: 30, dModel: 32, H: 2, D: 16, r: 0, g: 4, rows: ['full', 'holes'] },
  {
    name: 'tglobal rows: full, right, left, all-but-few, fewer than g, none, holes; D 12',
    kind: 'tglobal', N: 57, dModel: 40, H: 3, D: 12, r: 6, g: 8,
    rows: ['full', 'right:41', 'left:30', 'few:3', 'right:5', 'none', 'holes'],
  },
  { name: 'tglobal D 24, H 5, d_model 40, eps 0.5', kind: 'tglobal', N: 45, dModel: 40, H: 5, D: 24, r: 4, g: 6, eps: 0.5, rows: ['holes', 'left:40'] },
  { name: 'tglobal 16 buckets, max distance 20, N 80 r 30', kind: 'tglobal', N: 80, dModel: 32, H: 2, D: 16, r: 30, g: 5, numBuckets: 16, maxDistance: 20, rows: ['full', 'right:66'] },
  { name: 'tglobal HF sizes (d_kv 64, r 127, g 16), d_model 128, H 2, N 150', kind: 'tglobal', N: 150, dModel: 128, H: 2, D: 64, r: 127, g: 16, rows: ['full', 'right:100'] },
  { name: 'tglobal HF sizes, d_model 64, H 4 (H·D 256), N 100 < r, no mask', kind: 'tglobal', N: 100, dModel: 64, H: 4, D: 64, r: 127, g: 16, B: 2 },
  { name: 'local r = 0', kind: 'local', N: 19, dModel: 32, H: 2, D: 16, r: 0, rows: ['full', 'right:11'] },
  { name: 'local N < r, D 12', kind: 'local', N: 9, dModel: 24, H: 3, D: 12, r: 20, rows: ['left:6', 'full'] },
  { name: 'local mixed padding, D 24, N 61, r 7', kind: 'local', N: 61, dModel: 48, H: 2, D: 24, r: 7, rows: ['full', 'right:50', 'left:33', 'few:4', 'none', 'holes'] },
  { name: 'local HF sizes, d_model 128, H 2, r 127, N 140', kind: 'local', N: 140, dModel: 128, H: 2, D: 64, r: 127, rows: ['right:130'] },
  { name: 'full mixed padding (every row keeps a token), D 12, H·D != d_model', kind: 'full', N: 33, dModel: 40, H: 3, D: 12, rows: ['full', 'right:20', 'left:11', 'few:2', 'holes'] },
  { name: 'full N 150 > max distance, d_model 64, D 64', kind: 'full', N: 150, dModel: 64, H: 2, D: 64, B: 1 },
];

describe.each(LAYERS.map((c, i) => [c.name, c, i] as const))('layer: %s', (_n, lc, idx) => {
  const rng = mulberry32(1000 + idx);
  const B = lc.rows ? lc.rows.length : lc.B ?? 1;
  const { N, dModel: C, H, D } = lc;
  const HD = H * D;
  const config: Record<string, number> = { d_model: C, d_kv: D, num_heads: H };
  if (lc.r !== undefined) config.local_radius = lc.r;
  if (lc.g !== undefined) config.global_block_size = lc.g;
  if (lc.eps !== undefined) config.layer_norm_epsilon = lc.eps;
  if (lc.numBuckets !== undefined) config.relative_attention_num_buckets = lc.numBuckets;
  if (lc.maxDistance !== undefined) config.relative_attention_max_distance = lc.maxDistance;
  const nb = lc.numBuckets ?? 32;
  const weights: Record<string, Float32Array> = {
    'q.weight': initW(rng, HD, C),
    'k.weight': initW(rng, HD, C),
    'v.weight': initW(rng, HD, C),
    'o.weight': initW(rng, C, HD),
    'relative_attention_bias.weight': randomData(rng, nb * H, -2, 2),
  };
  if (lc.kind === 'tglobal') {
    weights['global_relative_attention_bias.weight'] = randomData(rng, nb * H, -2, 2);
    weights['global_input_layer_norm.weight'] = randomData(rng, C, 0.5, 1.5);
  }
  const hidden = { data: randomData(rng, B * N * C), dims: [B, N, C] };
  const mask = lc.rows ? makeMask(rng, N, lc.rows) : undefined;
  const valid = (row: number) => mask === undefined || mask[row] !== 0;
  const keep = lc.kind === 'full' ? () => true : valid;
  const ref = refLayer(lc.kind, config as never, weights, hidden, mask);
  const layer = new CLASSES[lc.kind](config as never, weights);
  const scalarOut = new Map<number, Float32Array>();

  test('the case is what its name says', () => {
    if (lc.kind === 'tglobal') expect(ref.G).toBe(Math.floor(N / lc.g!));
    if (lc.kind === 'full' && mask) for (let b = 0; b < B; b++) expect(mask.subarray(b * N, (b + 1) * N).some((x) => x === 1)).toBe(true);
    expect(rowError(ref.out, ref.out, C, keep).scale).toBeGreaterThan(0);
  });

  // scalar first: the SIMD runs compare to it
  test.each([...ISAS.filter((i) => i === 'scalar'), ...ISAS.filter((i) => i !== 'scalar')])('isa %s, threads 1 and 2, sync and async', async (isa) => {
    for (const threads of THREADS) {
      const out = withIsa(isa, () => layer.forward(hidden, mask, { threads }));
      expect(out.dims).toEqual([B, N, C]);
      const e = rowError(out.data, ref.out, C, keep);
      const rel = e.err / e.scale;
      note(`layer ${lc.kind} vs reference`, rel);
      if (!(rel <= REF_TOL)) throw new Error(`${lc.name} ${isa} threads ${threads}: error ${e.err} > ${REF_TOL} × ${e.scale}`);
      expect(allFinite(out.data)).toBe(true);
      if (lc.kind !== 'full') {
        // padded rows (no query) are 0 for TGlobal and local layers
        for (let row = 0; row < B * N; row++)
          if (!valid(row)) for (let c = 0; c < C; c++) if (out.data[row * C + c] !== 0) throw new Error(`padded row ${row} is not 0`);
      }
      if (isa === 'scalar') scalarOut.set(threads, out.data);
      else {
        const s = rowError(out.data, scalarOut.get(threads)!, C, () => true);
        note('layer SIMD vs scalar', s.err / e.scale);
        if (!(s.err <= ISA_TOL * e.scale)) throw new Error(`${lc.name} ${isa} vs scalar: ${s.err} > ${ISA_TOL} × ${e.scale}`);
      }
      const asy = await withIsaAsync(isa, () => layer.forwardAsync(hidden, mask, { threads }));
      expect(rowError(asy.data, out.data, C, () => true).err).toBeLessThanOrEqual(1e-6 * e.scale);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// The TGlobal core

interface CoreCase {
  name: string;
  B: number;
  H: number;
  N: number;
  D: number;
  Dv?: number;
  r: number;
  g: number;
  rows?: string[];
  scale?: number;
  numBuckets?: number;
  maxDistance?: number;
  /** which bias tables to pass */
  bias?: 'both' | 'local' | 'global' | 'none';
}

const CORES: CoreCase[] = [
  { name: 'N < g: G = 0', B: 2, H: 2, N: 6, D: 16, r: 2, g: 8, rows: ['full', 'right:4'] },
  { name: 'N < r, D 12', B: 1, H: 3, N: 9, D: 12, r: 40, g: 3 },
  { name: 'N 53 not a multiple of r+1 or g, D 24, Dv 20', B: 2, H: 2, N: 53, D: 24, Dv: 20, r: 5, g: 7, rows: ['holes', 'left:40'] },
  { name: 'g = 1, D 3', B: 2, H: 2, N: 17, D: 3, r: 2, g: 1, rows: ['right:12', 'full'] },
  { name: 'r = 0, D 8', B: 1, H: 4, N: 40, D: 8, r: 0, g: 5, rows: ['holes'] },
  { name: 'mixed padding rows, D 12, scale 0.3', B: 6, H: 2, N: 47, D: 12, r: 4, g: 6, scale: 0.3, rows: ['full', 'right:30', 'left:25', 'few:2', 'right:4', 'none'] },
  { name: 'local table only', B: 1, H: 2, N: 30, D: 16, r: 3, g: 4, bias: 'local', rows: ['right:26'] },
  { name: 'global table only', B: 1, H: 2, N: 30, D: 16, r: 3, g: 4, bias: 'global', rows: ['left:26'] },
  { name: 'no bias tables', B: 2, H: 2, N: 30, D: 16, r: 3, g: 4, bias: 'none' },
  { name: '16 buckets, max distance 12, N 70 r 20', B: 1, H: 2, N: 70, D: 16, r: 20, g: 3, numBuckets: 16, maxDistance: 12, rows: ['holes'] },
  { name: 'HF sizes: D 64, r 127, g 16, N 200', B: 1, H: 2, N: 200, D: 64, r: 127, g: 16, rows: ['right:170'] },
];

describe.each(CORES.map((c, i) => [c.name, c, i] as const))('transientGlobalAttention: %s', (_n, cc, idx) => {
  const rng = mulberry32(2000 + idx);
  const { B, H, N, D, r, g } = cc;
  const Dv = cc.Dv ?? D;
  const G = Math.floor(N / g);
  const nb = cc.numBuckets ?? 32;
  const bias = cc.bias ?? 'both';
  const sd = 1 / Math.sqrt(Math.sqrt(D)); // q·k ~ O(1)
  const q = { data: randomData(rng, B * H * N * D, -sd * 1.7, sd * 1.7), dims: [B, H, N, D] };
  const k = { data: randomData(rng, B * H * N * D, -sd * 1.7, sd * 1.7), dims: [B, H, N, D] };
  const v = { data: randomData(rng, B * H * N * Dv), dims: [B, H, N, Dv] };
  const gk = { data: randomData(rng, B * H * G * D, -sd * 1.7, sd * 1.7), dims: [B, H, G, D] };
  const gv = { data: randomData(rng, B * H * G * Dv), dims: [B, H, G, Dv] };
  const rel = { data: randomData(rng, nb * H, -2, 2), dims: [nb, H] };
  const grel = { data: randomData(rng, nb * H, -2, 2), dims: [nb, H] };
  const mask = cc.rows ? makeMask(rng, N, cc.rows) : undefined;
  const base = {
    localRadius: r, globalBlockSize: g, scale: cc.scale, maxDistance: cc.maxDistance,
    relativeAttentionBias: bias === 'both' || bias === 'local' ? rel : undefined,
    globalRelativeAttentionBias: bias === 'both' || bias === 'global' ? grel : undefined,
    mask: mask ? { data: mask, dims: [B, N] } : undefined,
  };
  const ref = refTGlobalCore({
    q: q.data, k: k.data, v: v.data, globalK: gk.data, globalV: gv.data, B, H, N, D, Dv, G, layout: 'bhnd', radius: r, globalBlockSize: g,
    mask, relBias: base.relativeAttentionBias?.data, globalRelBias: base.globalRelativeAttentionBias?.data, numBuckets: nb,
    maxDistance: cc.maxDistance ?? 128, scale: cc.scale ?? 1, zeroPaddedQueries: true,
  });
  // bhnd row (b, h, i) counts iff token i of row b is valid
  const keep = (row: number) => mask === undefined || mask[Math.floor(row / (H * N)) * N + (row % N)] !== 0;
  const toBnhd = (t: Tensor) => ({ data: swap12(t.data, t.dims[0], t.dims[1], t.dims[2], t.dims[3]), dims: [t.dims[0], t.dims[2], t.dims[1], t.dims[3]] });
  const scalarOut = new Map<number, Float32Array>();

  test.each([...ISAS.filter((i) => i === 'scalar'), ...ISAS.filter((i) => i !== 'scalar')])('isa %s: reference, scalar, threads 1/2, bhnd == bnhd, async', async (isa) => {
    for (const threads of THREADS) {
      const out = withIsa(isa, () => transientGlobalAttention(q, k, v, gk, gv, { ...base, threads }));
      expect(out.dims).toEqual([B, H, N, Dv]);
      const e = rowError(out.data, ref, Dv, keep);
      note('core vs reference', e.err / e.scale);
      if (!(e.err <= REF_TOL * e.scale)) throw new Error(`${cc.name} ${isa} threads ${threads}: error ${e.err} > ${REF_TOL} × ${e.scale}`);
      // padded queries output 0 (and the reference has 0 there too)
      const z = rowError(out.data, new Float64Array(out.data.length), Dv, (row) => !keep(row));
      expect(z.scale).toBe(0);
      if (isa === 'scalar') scalarOut.set(threads, out.data);
      else {
        const s = rowError(out.data, scalarOut.get(threads)!, Dv, () => true);
        note('core SIMD vs scalar', s.err / e.scale);
        if (!(s.err <= ISA_TOL * e.scale)) throw new Error(`${cc.name} ${isa} vs scalar: ${s.err} > ${ISA_TOL} × ${e.scale}`);
      }
      // layout 'bnhd' (Hugging Face's) on the transposed tensors gives the transposed result
      const o2 = withIsa(isa, () => transientGlobalAttention(toBnhd(q), toBnhd(k), toBnhd(v), toBnhd(gk), toBnhd(gv), { ...base, threads, layout: 'bnhd' }));
      expect(o2.dims).toEqual([B, N, H, Dv]);
      const back = swap12(o2.data, B, N, H, Dv);
      const lay = rowError(back, out.data, Dv, () => true);
      note('core bnhd vs bhnd', lay.err / e.scale);
      expect(lay.err).toBeLessThanOrEqual(1e-6 * e.scale);
      const asy = await withIsaAsync(isa, () => transientGlobalAttentionAsync(q, k, v, gk, gv, { ...base, threads }));
      expect(rowError(asy.data, out.data, Dv, () => true).err).toBeLessThanOrEqual(1e-6 * e.scale);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// The seed variant

const SEEDS: [string, number, number, number, number, number, number][] = [
  // name, B, H, N, D, Dv, blockSize
  ['g = 1', 1, 2, 9, 8, 8, 1],
  ['g = N (one block)', 2, 1, 13, 12, 12, 13],
  ['N 50 not a multiple of g 7, D 12, Dv 20', 2, 3, 50, 12, 20, 7],
  ['D 3, N 31, g 4', 1, 2, 31, 3, 3, 4],
  ['D 64, N 130, g 16', 1, 2, 130, 64, 64, 16],
];

describe.each(SEEDS)('blockGlobalAttention: %s', (_n, B, H, N, D, Dv, bs) => {
  const rng = mulberry32(3000 + N);
  const q = { data: randomData(rng, B * H * N * D), dims: [B, H, N, D] };
  const k = { data: randomData(rng, B * H * N * D), dims: [B, H, N, D] };
  const v = { data: randomData(rng, B * H * N * Dv), dims: [B, H, N, Dv] };
  const ref = refBlockGlobal(q.data, k.data, v.data, B, H, N, D, Dv, bs, 1 / Math.sqrt(D));
  const ref2 = refBlockGlobal(q.data, k.data, v.data, B, H, N, D, Dv, bs, 0.7);
  test('every ISA, threads 1 and 2, default and explicit scale, async: <= 1e-5 vs the reference', async () => {
    for (const isa of ISAS)
      for (const threads of THREADS) {
        const out = withIsa(isa, () => blockGlobalAttention(q, k, v, { blockSize: bs, threads }));
        expect(out.dims).toEqual([B, H, N, Dv]);
        const e = rowError(out.data, ref, Dv, () => true);
        note('blockGlobalAttention vs reference (abs)', e.err);
        expect(e.err).toBeLessThanOrEqual(1e-5);
        const o2 = await withIsaAsync(isa, () => blockGlobalAttentionAsync(q, k, v, { blockSize: bs, scale: 0.7, threads }));
        expect(rowError(o2.data, ref2, Dv, () => true).err).toBeLessThanOrEqual(1e-5);
      }
  });
});

test('the ISA in use is restored after the tests above', () => {
  expect(ISAS).toContain(info().isa);
});

// Dense attention vs ONNX Runtime: models written by lib/onnx (no Python, no onnx package), run by
// onnxruntime-node on the CPU, compared with attention() on seeded random configurations.
import { attention } from '../lib/dense';
import {
  DenseOnnxSpec, GraphBuilder, MASKED_SCORE, OnnxSession, attr, buildDenseAttentionModel, runOnnx, tensor,
} from '../lib/onnx';
import { emptyRows, mulberry32, randomData, randomMask, randomTensor, referenceAttention, Rng } from './helpers/fixtures';

const TOL = 1e-5;
type BiasDims = readonly (number | 'B' | 'H' | 'Nq' | 'Nk')[];

interface Case {
  name: string;
  B: number; H: number; Hk: number; Nq: number; Nk: number; D: number; Dv: number;
  scale?: number;
  causal?: boolean;
  /** 'right': per-batch valid lengths (right padding); 'random': each key kept with p = 0.7. */
  mask?: { kind: 'random' } | { kind: 'right'; lengths: number[] };
  maskType?: 'int32' | 'bool';
  biasDims?: BiasDims;
  threads?: number;
}

const c = (name: string, B: number, H: number, Hk: number, Nq: number, Nk: number, D: number, Dv: number, o: Partial<Case> = {}): Case =>
  ({ name, B, H, Hk, Nq, Nk, D, Dv, ...o });

const BIAS_SHAPES: BiasDims[] = [[1, 'H', 'Nq', 'Nk'], ['B', 1, 'Nq', 'Nk'], ['Nq', 'Nk'], ['B', 'H', 'Nq', 'Nk'], ['B', 1, 1, 'Nk']];

/** Hand-picked: every feature and edge the brief names, at least once. */
const HAND: Case[] = [
  c('basic', 1, 1, 1, 16, 16, 8, 8),
  c('odd N and D', 2, 3, 3, 7, 13, 5, 5),
  c('Dv != D', 1, 2, 2, 9, 11, 12, 7),
  c('GQA 4/2', 2, 4, 2, 10, 10, 16, 16),
  c('MQA 6/1, Nq < Nk', 1, 6, 1, 5, 17, 9, 9),
  c('D = 1', 2, 2, 2, 6, 6, 1, 3),
  c('causal square', 2, 2, 2, 12, 12, 8, 8, { causal: true }),
  c('causal Nq < Nk', 1, 2, 2, 5, 13, 7, 7, { causal: true }),
  c('causal Nq > Nk (empty rows)', 2, 2, 2, 13, 5, 7, 7, { causal: true }),
  c('causal GQA Nq > Nk', 1, 6, 3, 9, 4, 10, 6, { causal: true }),
  c('scale 1', 1, 2, 2, 8, 8, 16, 16, { scale: 1 }),
  c('negative scale', 1, 2, 2, 8, 9, 6, 6, { scale: -0.4 }),
  c('random mask', 3, 2, 2, 6, 20, 8, 8, { mask: { kind: 'random' } }),
  c('right padding, one batch empty', 3, 2, 2, 9, 9, 11, 11, { mask: { kind: 'right', lengths: [9, 4, 0] } }),
  c('bool key mask', 2, 3, 3, 5, 8, 4, 4, { mask: { kind: 'random' }, maskType: 'bool' }),
  c('bias [1,H,Nq,Nk]', 2, 3, 3, 7, 10, 6, 6, { biasDims: BIAS_SHAPES[0] }),
  c('bias [B,1,Nq,Nk]', 2, 3, 3, 7, 10, 6, 6, { biasDims: BIAS_SHAPES[1] }),
  c('bias [Nq,Nk]', 2, 3, 3, 7, 10, 6, 6, { biasDims: BIAS_SHAPES[2] }),
  c('bias [B,H,Nq,Nk]', 2, 3, 3, 7, 10, 6, 6, { biasDims: BIAS_SHAPES[3] }),
  c('bias [B,1,1,Nk]', 2, 3, 3, 7, 10, 6, 6, { biasDims: BIAS_SHAPES[4] }),
  c('bias [H,1,Nk]', 2, 3, 3, 7, 10, 6, 6, { biasDims: ['H', 1, 'Nk'] }),
  c('bias [Nk]', 2, 3, 3, 7, 10, 6, 6, { biasDims: ['Nk'] }),
  c('bias scalar', 1, 2, 2, 4, 5, 6, 6, { biasDims: [] }),
  c('everything, GQA, Nq > Nk', 2, 4, 2, 11, 7, 13, 9, {
    causal: true, scale: 1, mask: { kind: 'right', lengths: [7, 3] }, biasDims: ['B', 'H', 'Nq', 'Nk'],
  }),
  c('everything, MHA-able, Nq < Nk', 2, 3, 3, 6, 15, 10, 10, {
    causal: true, mask: { kind: 'random' }, biasDims: ['B', 1, 1, 'Nk'],
  }),
  c('longer than a key tile', 2, 4, 4, 130, 257, 64, 64, { mask: { kind: 'random' }, biasDims: [1, 'H', 'Nq', 'Nk'], threads: 2 }),
  c('decode: Nq = 1', 2, 4, 2, 1, 33, 24, 24, { causal: true, mask: { kind: 'right', lengths: [33, 20] } }),
  c('Nk = 1', 1, 2, 2, 5, 1, 8, 8, { causal: true }),
];

/** Seeded random configurations on top of the hand-picked ones. */
function randomCases(n: number, seed: number): Case[] {
  const rng = mulberry32(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)];
  const out: Case[] = [];
  for (let i = 0; i < n; i++) {
    const B = int(1, 3);
    const Hk = int(1, 3);
    const H = Hk * pick([1, 1, 2, 3]);
    const Nq = int(1, 40);
    const Nk = int(1, 40);
    const D = int(1, 40);
    const Dv = rng() < 0.3 ? int(1, 24) : D;
    const o: Partial<Case> = {};
    if (rng() < 0.4) o.causal = true;
    const m = rng();
    if (m < 0.3) o.mask = { kind: 'random' };
    else if (m < 0.6) {
      const lengths = Array.from({ length: B }, () => int(0, Nk));
      if (lengths.every((l) => l === 0)) lengths[0] = Nk; // keep something to compare
      o.mask = { kind: 'right', lengths };
    }
    if (o.mask && rng() < 0.3) o.maskType = 'bool';
    if (rng() < 0.6) o.biasDims = pick(BIAS_SHAPES);
    const s = rng();
    if (s < 0.3) o.scale = 1;
    else if (s < 0.5) o.scale = 0.05 + 0.5 * rng();
    o.threads = pick([0, 1, 3]);
    out.push(c(`random #${i}`, B, H, Hk, Nq, Nk, D, Dv, o));
  }
  return out;
}

const CASES: Case[] = [...HAND, ...randomCases(40, 20240607)];

interface Inputs {
  q: { data: Float32Array; dims: number[] };
  k: { data: Float32Array; dims: number[] };
  v: { data: Float32Array; dims: number[] };
  keyMask?: Uint8Array;
  bias?: { data: Float32Array; dims: number[] };
}

function makeInputs(cs: Case, rng: Rng): Inputs {
  const { B, H, Hk, Nq, Nk, D, Dv } = cs;
  const inp: Inputs = {
    q: randomTensor(rng, [B, H, Nq, D]),
    k: randomTensor(rng, [B, Hk, Nk, D]),
    v: randomTensor(rng, [B, Hk, Nk, Dv]),
  };
  if (cs.mask?.kind === 'random') {
    inp.keyMask = randomMask(rng, B * Nk, 0.7);
    if (inp.keyMask.every((x) => x === 0)) inp.keyMask[0] = 1; // keep something to compare
  }
  if (cs.mask?.kind === 'right') {
    const lengths = cs.mask.lengths;
    inp.keyMask = new Uint8Array(B * Nk);
    for (let b = 0; b < B; b++) inp.keyMask.fill(1, b * Nk, b * Nk + lengths[b]);
  }
  if (cs.biasDims) {
    const size: Record<string, number> = { B, H, Nq, Nk };
    const dims = cs.biasDims.map((d) => (typeof d === 'number' ? d : size[d]));
    inp.bias = randomTensor(rng, dims, -2, 2);
  }
  return inp;
}

function specOf(cs: Case, op: DenseOnnxSpec['op']): DenseOnnxSpec {
  const spec: DenseOnnxSpec = { op, numHeads: cs.H, kvNumHeads: cs.Hk, headSize: cs.D, vHeadSize: cs.Dv };
  if (cs.scale !== undefined) spec.scale = cs.scale;
  if (cs.causal) spec.causal = true;
  if (cs.mask) spec.keyMask = true;
  if (cs.maskType) spec.keyMaskType = cs.maskType;
  if (cs.biasDims) spec.biasDims = cs.biasDims;
  return spec;
}

async function runOrt(cs: Case, op: DenseOnnxSpec['op'], inp: Inputs): Promise<Float32Array> {
  const feeds: Parameters<typeof runOnnx>[1] = { q: inp.q, k: inp.k, v: inp.v };
  const f: Record<string, Parameters<typeof runOnnx>[1][string]> = { ...feeds };
  if (inp.keyMask)
    f.key_mask = cs.maskType === 'bool'
      ? { data: inp.keyMask, dims: [cs.B, cs.Nk], type: 'bool' }
      : { data: Int32Array.from(inp.keyMask), dims: [cs.B, cs.Nk] };
  if (inp.bias) f.bias = inp.bias;
  const out = await runOnnx(buildDenseAttentionModel(specOf(cs, op)), f, { intraOpNumThreads: 2 });
  expect(out.out.dims).toEqual([cs.B, cs.H, cs.Nq, cs.Dv]);
  return out.out.data as Float32Array;
}

/**
 * Per-row comparison. Rows with no admissible key must be exactly 0 in `ours`; in `ort` they
 * must be 0 too when `ortZeroOnEmpty` (the Attention model), else they are not compared
 * (MultiHeadAttention returns the mean of v there).
 */
function compareRows(cs: Case, ours: Float32Array, ort: Float32Array, empty: boolean[], ortZeroOnEmpty: boolean) {
  let maxErr = 0;
  let worst = -1;
  let compared = 0;
  let nonZeroEmpty = 0;
  let ortNonZeroEmpty = 0;
  for (let r = 0; r < empty.length; r++) {
    for (let d = 0; d < cs.Dv; d++) {
      const x = ours[r * cs.Dv + d];
      if (empty[r]) {
        if (x !== 0) nonZeroEmpty++;
        if (ortZeroOnEmpty && ort[r * cs.Dv + d] !== 0) ortNonZeroEmpty++;
        continue;
      }
      const e = Math.abs(x - ort[r * cs.Dv + d]);
      if (!(e <= maxErr)) {
        maxErr = e;
        worst = r * cs.Dv + d;
      }
    }
    if (!empty[r]) compared++;
  }
  return { maxErr, worst, compared, nonZeroEmpty, ortNonZeroEmpty };
}

const OPS: DenseOnnxSpec['op'][] = ['Attention', 'MultiHeadAttention'];
const supports = (cs: Case, op: DenseOnnxSpec['op']) => op === 'Attention' || cs.Hk === cs.H;
const RUNS = CASES.flatMap((cs, i) => OPS.filter((op) => supports(cs, op)).map((op) => ({ cs, op, seed: 1000 + i })));
const stats = { emptyRows: 0, comparedRows: 0 };

describe('dense attention vs ONNX Runtime', () => {
  test('the configurations cover what they must', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(50);
    const has = (f: (x: Case) => boolean) => CASES.some(f);
    expect(has((x) => x.Nq !== x.Nk)).toBe(true);
    expect(has((x) => x.D % 2 === 1 && x.Nq % 2 === 1 && x.Nk % 2 === 1)).toBe(true);
    expect(has((x) => x.D % 8 !== 0 && x.D > 8)).toBe(true);
    expect(has((x) => x.Hk < x.H)).toBe(true);
    expect(has((x) => !!x.causal && x.Nq > x.Nk)).toBe(true);
    expect(has((x) => !!x.causal && x.Nq < x.Nk)).toBe(true);
    expect(has((x) => x.scale === 1)).toBe(true);
    expect(has((x) => x.B > 1 && x.H > 1)).toBe(true);
    expect(has((x) => x.mask?.kind === 'random')).toBe(true);
    expect(has((x) => x.mask?.kind === 'right')).toBe(true);
    for (const shape of BIAS_SHAPES) expect(has((x) => JSON.stringify(x.biasDims) === JSON.stringify(shape))).toBe(true);
    expect(RUNS.filter((r) => r.op === 'MultiHeadAttention').length).toBeGreaterThanOrEqual(20);
  });

  test.each(RUNS.map((r) => [`${r.op}: ${r.cs.name}`, r] as const))('%s', async (_name, { cs, op, seed }) => {
    const inp = makeInputs(cs, mulberry32(seed));
    const opts = { causal: !!cs.causal, keyMask: inp.keyMask, bias: inp.bias, threads: cs.threads, ...(cs.scale === undefined ? {} : { scale: cs.scale }) };
    const ours = attention(inp.q, inp.k, inp.v, opts).data;
    const ort = await runOrt(cs, op, inp);
    const empty = emptyRows(cs.B, cs.H, cs.Nq, cs.Nk, !!cs.causal, inp.keyMask);
    const r = compareRows(cs, ours, ort, empty, op === 'Attention');
    stats.emptyRows += empty.filter(Boolean).length;
    stats.comparedRows += r.compared;
    expect(r.nonZeroEmpty).toBe(0);
    expect(r.ortNonZeroEmpty).toBe(0);
    expect(r.compared).toBeGreaterThan(0);
    if (!(r.maxErr <= TOL)) {
      // Say which side strays from a float64 reference.
      const ref = referenceAttention(inp.q, inp.k, inp.v, { ...opts, keyMask: inp.keyMask });
      const w = r.worst;
      throw new Error(
        `${op} ${cs.name}: max |ours - ORT| = ${r.maxErr} at ${w}: ours ${ours[w]}, ORT ${ort[w]}, float64 ${ref[w]}`,
      );
    }
  });

  test('the comparisons saw rows with no admissible key, and more without', () => {
    expect(stats.emptyRows).toBeGreaterThan(0);
    expect(stats.comparedRows).toBeGreaterThan(2 * stats.emptyRows);
  });

  test('the comparison notices a wrong model (a different scale)', async () => {
    const cs = c('probe', 1, 2, 2, 6, 9, 8, 8);
    const inp = makeInputs(cs, mulberry32(7));
    const ours = attention(inp.q, inp.k, inp.v).data;
    const out = await runOnnx(buildDenseAttentionModel({ op: 'Attention', numHeads: 2, headSize: 8, scale: 1 }), { q: inp.q, k: inp.k, v: inp.v });
    const r = compareRows(cs, ours, out.out.data as Float32Array, emptyRows(1, 2, 6, 9, false), true);
    expect(r.maxErr).toBeGreaterThan(1e-3);
  });

  test('attentionAsync agrees with the ORT model too', async () => {
    const cs = HAND.find((x) => x.name.startsWith('everything, GQA'))!;
    const inp = makeInputs(cs, mulberry32(99));
    const { attentionAsync } = await import('../lib/dense');
    const ours = (await attentionAsync(inp.q, inp.k, inp.v, { causal: true, scale: 1, keyMask: inp.keyMask, bias: inp.bias })).data;
    const ort = await runOrt(cs, 'Attention', inp);
    const r = compareRows(cs, ours, ort, emptyRows(cs.B, cs.H, cs.Nq, cs.Nk, true, inp.keyMask), true);
    expect(r.nonZeroEmpty).toBe(0);
    expect(r.ortNonZeroEmpty).toBe(0);
    expect(r.maxErr).toBeLessThanOrEqual(TOL);
  });
});

describe('ONNX Runtime conventions the models work around', () => {
  // q = 0 makes every admissible key equally likely; v = identity shows which keys those are.
  async function allowedKeys(op: 'Attention' | 'MultiHeadAttention', Nq: number, Nk: number): Promise<number[][]> {
    const g = new GraphBuilder('probe');
    const q = g.addInput('q', 'float32', [1, 1, Nq, 2]);
    const k = g.addInput('k', 'float32', [1, 1, Nk, 2]);
    const v = g.addInput('v', 'float32', [1, 1, Nk, Nk]);
    if (op === 'Attention') {
      g.addNode('Attention', [q, k, v], ['out'], { is_causal: 1 });
    } else {
      const flat = (x: string) => g.op('Reshape', [g.op('Transpose', [x], { perm: [0, 2, 1, 3] }), g.constInt64([0, 0, -1])]);
      const [o] = g.addNode('MultiHeadAttention', [flat(q), flat(k), flat(v)], 1, { num_heads: 1, unidirectional: 1 }, { domain: 'com.microsoft' });
      g.addNode('Identity', [o], ['out']);
    }
    g.addOutput('out', 'float32');
    const eye = new Float32Array(Nk * Nk);
    for (let j = 0; j < Nk; j++) eye[j * Nk + j] = 1;
    const res = await runOnnx(g.toModel({ opsets: op === 'Attention' ? { '': 23 } : { '': 23, 'com.microsoft': 1 } }), {
      q: { data: new Float32Array(Nq * 2), dims: [1, 1, Nq, 2] },
      k: { data: new Float32Array(Nk * 2), dims: [1, 1, Nk, 2] },
      v: { data: eye, dims: [1, 1, Nk, Nk] },
    });
    const d = res.out.data as Float32Array;
    return Array.from({ length: Nq }, (_, i) => [...Array(Nk).keys()].filter((j) => d[i * Nk + j] > 0));
  }

  test("Attention's is_causal is top-left aligned (j <= i), ours bottom-right: the model builds its own mask", async () => {
    expect(await allowedKeys('Attention', 3, 5)).toEqual([[0], [0, 1], [0, 1, 2]]);
    expect(await allowedKeys('Attention', 4, 2)).toEqual([[0], [0, 1], [0, 1], [0, 1]]);
  });

  test('our causal model matches the bottom-right rule on the same probe', async () => {
    for (const op of OPS) {
      const res = await runOnnx(buildDenseAttentionModel({ op, numHeads: 1, headSize: 2, vHeadSize: 5, causal: true }), {
        q: { data: new Float32Array(6), dims: [1, 1, 3, 2] },
        k: { data: new Float32Array(10), dims: [1, 1, 5, 2] },
        v: { data: Float32Array.from({ length: 25 }, (_, i) => (i % 6 === 0 ? 1 : 0)), dims: [1, 1, 5, 5] },
      });
      const d = res.out.data as Float32Array;
      const allowed = [0, 1, 2].map((i) => [0, 1, 2, 3, 4].filter((j) => d[i * 5 + j] > 0));
      expect(allowed).toEqual([[0, 1, 2], [0, 1, 2, 3], [0, 1, 2, 3, 4]]);
    }
  });
});

describe('lib/onnx writer', () => {
  test('every attribute and initializer type round-trips through ORT', async () => {
    const g = new GraphBuilder('writer');
    const x = g.addInput('x', 'float32', ['N', 3]);
    // FLOAT attribute, negative INT attribute (10-byte varint), INTS attribute.
    const lr = g.op('LeakyRelu', [x], { alpha: attr.float(0.25) });
    const sm = g.op('Softmax', [lr], { axis: -1 });
    const tr = g.addNode('Transpose', [sm], ['t'], { perm: [1, 0] })[0];
    // TENSOR attribute; FLOATS attribute; INTS attribute holding a value past 2^53.
    const ct = g.op('Constant', [], { value: tensor('float32', [2], [1.5, -2.5]) });
    const cf = g.op('Constant', [], { value_floats: attr.floats([0.5, 0.125]) });
    const big = g.op('Constant', [], { value_ints: [BigInt('9007199254740993'), -3] });
    // Initializers of each integer type: int64 shape, int32 indices, bool condition.
    const rs = g.op('Reshape', [tr, g.constInt64([-1])]);
    const gi = g.op('Gather', [rs, g.constInt32([5, 0, 2])], { axis: 0 });
    const wh = g.op('Where', [g.constant(tensor('bool', [3], [true, false, true])), gi, g.constFloat([9, 9, 9])]);
    // STRING attribute.
    const pad = g.op('Pad', [g.constFloat([1, 2, 3]), g.constInt64([2, 0])], { mode: 'reflect' });
    g.addNode('Identity', [wh], ['gathered']);
    g.addNode('Add', [ct, cf], ['sum']);
    g.addNode('Identity', [big], ['big']);
    g.addNode('Identity', [pad], ['padded']);
    for (const [n, t] of [['gathered', 'float32'], ['sum', 'float32'], ['big', 'int64'], ['padded', 'float32']] as const) g.addOutput(n, t);
    const xs = Float32Array.from([1, -2, 3, -4, 0.5, 6]);
    const out = await runOnnx(g.toModel(), { x: { data: xs, dims: [2, 3] } });
    // Reference: leaky relu, softmax per row, transpose, flatten, gather [5, 0, 2], where.
    const lrv = Array.from(xs, (v) => (v >= 0 ? v : 0.25 * v));
    const smv: number[] = [];
    for (let r = 0; r < 2; r++) {
      const row = lrv.slice(r * 3, r * 3 + 3);
      const m = Math.max(...row);
      const e = row.map((v) => Math.exp(v - m));
      const s = e.reduce((a, b) => a + b);
      smv.push(...e.map((v) => v / s));
    }
    const flatT = [0, 1, 2].flatMap((col) => [smv[col], smv[3 + col]]);
    const expected = [flatT[5], 9, flatT[2]];
    const got = Array.from(out.gathered.data as Float32Array);
    got.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 6));
    expect(Array.from(out.sum.data as Float32Array)).toEqual([2, -2.375]);
    expect(Array.from(out.big.data as BigInt64Array)).toEqual([BigInt('9007199254740993'), BigInt(-3)]);
    expect(Array.from(out.padded.data as Float32Array)).toEqual([3, 2, 1, 2, 3]);
  });

  test('dense models load in ORT with the declared inputs and outputs, and symbolic dims accept any size', async () => {
    const bytes = buildDenseAttentionModel({ op: 'Attention', numHeads: 2, headSize: 4, keyMask: true, biasDims: ['Nq', 'Nk'] });
    expect(bytes).toBeInstanceOf(Uint8Array);
    const s = await OnnxSession.create(bytes, { intraOpNumThreads: 1 });
    try {
      expect([...s.inputNames]).toEqual(['q', 'k', 'v', 'key_mask', 'bias']);
      expect([...s.outputNames]).toEqual(['out']);
      for (const [B, Nq, Nk] of [[1, 3, 4], [3, 2, 7]]) {
        const rng = mulberry32(B);
        const res = await s.run({
          q: { data: randomData(rng, B * 2 * Nq * 4), dims: [B, 2, Nq, 4] },
          k: { data: randomData(rng, B * 2 * Nk * 4), dims: [B, 2, Nk, 4] },
          v: { data: randomData(rng, B * 2 * Nk * 4), dims: [B, 2, Nk, 4] },
          key_mask: { data: new Int32Array(B * Nk).fill(1), dims: [B, Nk] },
          bias: { data: new Float32Array(Nq * Nk), dims: [Nq, Nk] },
        });
        expect(res.out.dims).toEqual([B, 2, Nq, 4]);
      }
    } finally {
      await s.release();
    }
    const mha = buildDenseAttentionModel({ op: 'MultiHeadAttention', numHeads: 3, headSize: 5, causal: true });
    const m = await OnnxSession.create(mha);
    expect([...m.inputNames]).toEqual(['q', 'k', 'v']);
    await m.release();
  });

  test('a masked score is finite and vanishes under exp', () => {
    expect(Number.isFinite(Math.fround(MASKED_SCORE))).toBe(true);
    expect(Math.exp(MASKED_SCORE + 1e4)).toBe(0);
  });

  test('malformed specs throw errors that name the problem', () => {
    const ok: DenseOnnxSpec = { op: 'Attention', numHeads: 4, headSize: 8 };
    const bad = (patch: Record<string, unknown>) => () => buildDenseAttentionModel({ ...ok, ...patch } as DenseOnnxSpec);
    expect(() => buildDenseAttentionModel(ok)).not.toThrow();
    expect(bad({ op: 'GroupQueryAttention' })).toThrow(/op must be 'Attention' or 'MultiHeadAttention'/);
    expect(bad({ numHeads: 0 })).toThrow(/numHeads must be a positive integer/);
    expect(bad({ headSize: 2.5 })).toThrow(/headSize must be a positive integer/);
    expect(bad({ vHeadSize: -1 })).toThrow(/vHeadSize must be a positive integer/);
    expect(bad({ kvNumHeads: 3 })).toThrow(/numHeads \(4\) must be a multiple of kvNumHeads \(3\)/);
    expect(bad({ op: 'MultiHeadAttention', kvNumHeads: 2 })).toThrow(/no grouped-query attention.*use op 'Attention'/);
    expect(bad({ scale: NaN })).toThrow(/scale must be a finite number/);
    expect(bad({ causal: 1 })).toThrow(/causal must be a boolean/);
    expect(bad({ keyMaskType: 'bool' })).toThrow(/keyMaskType is given but keyMask is not true/);
    expect(bad({ keyMask: true, keyMaskType: 'int8' })).toThrow(/keyMaskType must be 'int32' or 'bool'/);
    expect(bad({ biasDims: [1, 1, 1, 1, 1] })).toThrow(/at most 4 dims/);
    expect(bad({ biasDims: ['Nk', 'Nq'] })).toThrow(/biasDims\[0\] = "Nk" does not broadcast to the Nq axis/);
    expect(bad({ biasDims: ['B', 3, 'Nq', 'Nk'] })).toThrow(/biasDims\[1\] = 3 does not broadcast to the H axis.*or 4/);
    expect(bad({ biasDims: [0, 'Nk'] })).toThrow(/biasDims\[0\] = 0/);
    expect(bad({ causl: true })).toThrow(/unknown field 'causl'/);
    expect(() => buildDenseAttentionModel(null as unknown as DenseOnnxSpec)).toThrow(/must be an object/);
  });

  test('GraphBuilder rejects graphs that are not well formed', () => {
    const g = new GraphBuilder();
    const x = g.addInput('x', 'float32', [2]);
    expect(() => g.op('Relu', ['y'])).toThrow(/input 0 'y' is not defined yet/);
    expect(() => g.addInput('x', 'float32')).toThrow(/value 'x' already exists/);
    g.addNode('Relu', [x], ['y']);
    expect(() => g.addNode('Relu', [x], ['y'])).toThrow(/value 'y' already exists/);
    expect(() => g.op('LeakyRelu', [x], { alpha: 0.5 })).toThrow(/'alpha' = 0.5 is not an integer; write attr.float\(0.5\)/);
    expect(() => g.addInitializer('w', tensor('float32', [2, 2], [1, 2, 3]))).toThrow(/3 values for dims \[2, 2\] \(needs 4\)/);
    expect(() => g.toModel()).toThrow(/has no outputs/);
    g.addOutput('z', 'float32');
    expect(() => g.toModel()).toThrow(/output 'z' is never produced/);
    g.addNode('MultiHeadAttention', [x, x, x], ['z'], { num_heads: 1 }, { domain: 'com.microsoft' });
    expect(() => g.toModel()).toThrow(/uses domain 'com.microsoft'/);
    expect(g.toModel({ opsets: { '': 23, 'com.microsoft': 1 } }).length).toBeGreaterThan(0);
    expect(g.uniqueName('y')).toBe('y_1');
    expect(g.uniqueName('y')).toBe('y_2');
  });
});

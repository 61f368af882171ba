// Property test of the standard operator's options: 320 seeded random configurations (odd
// shapes, GQA, 3-D and 4-D inputs, key masks, biases, every option combination, the T5
// relativeBias, which ORT and the reference get as the equivalent full bias) of attention()
// against ONNX Runtime's Attention op (opset 23/24, models from lib/onnx) wherever ORT can
// express the configuration, and always against the plain float64 reference
// (helpers/standard-reference.ts), which also checks what ORT lacks (per-batch offsets other
// than its own, log-sum-exp, empty key sets).
import { attention, AttentionOptions, ScoreStage } from '../lib/index';
import { DenseOnnxSpec, buildDenseAttentionModel, runOnnx } from '../lib/onnx';
import { mulberry32, randomMask, randomTensor, Rng } from './helpers/fixtures';
import { referenceStandardAttention, StandardRefOptions } from './helpers/standard-reference';
import { addBias, relativeBiasTensor } from './helpers/t5-relative-bias';

const TOL = 3e-5;
const STAGES: ScoreStage[] = ['matmul', 'softcapped', 'masked', 'softmax'];

interface Config {
  name: string;
  B: number; H: number; Hk: number; Nq: number; Nk: number; D: number; Dv: number;
  rank: 3 | 4;
  scale?: number;
  causal: boolean;
  /** How the diagonal is given: ours (mask term), ORT's is_causal (top-left / key lengths), or a cache of pastLength keys. */
  diagonal: 'default' | 'offset' | 'per-batch' | 'native' | 'past';
  causalOffset?: number | Int32Array;
  pastLength?: number;
  softcap?: number;
  window?: [number, number];
  keyLengths?: Int32Array;
  mask?: { type: 'int32' | 'bool' };
  biasDims?: number[];
  rel?: { numBuckets: number; maxDistance: number; bidirectional: boolean };
  stage: ScoreStage;
  /** Whether ORT's Attention can run this configuration. */
  ort: boolean;
}

function randomConfig(rng: Rng, n: number): Config {
  const int = (lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)];
  const B = int(1, 3);
  const Hk = int(1, 3);
  const H = Hk * pick([1, 1, 2, 3]);
  const big = rng() < 0.08; // crosses key tiles (128 keys) and query blocks
  const Nq = big ? int(60, 170) : int(1, 24);
  const Nk = big ? int(100, 300) : rng() < 0.03 ? 0 : int(1, 30);
  const D = int(1, 20);
  const Dv = rng() < 0.3 ? int(1, 12) : D;
  const cfg: Config = {
    name: `#${n}`, B, H, Hk, Nq, Nk, D, Dv, rank: rng() < 0.35 ? 3 : 4, causal: rng() < 0.5, diagonal: 'default',
    stage: pick(STAGES), ort: Nk > 0,
  };
  if (rng() < 0.3) cfg.scale = pick([1, 0.5 + rng(), 2.5]);
  if (rng() < 0.45) cfg.softcap = pick([0.3 + rng(), 1 + 4 * rng(), 20]);
  if (rng() < 0.35) {
    const side = () => (rng() < 0.25 ? Infinity : int(0, Math.max(1, Math.floor(Nk / 3))));
    cfg.window = [side(), side()];
  }
  if (rng() < 0.3) cfg.keyLengths = Int32Array.from({ length: B }, () => (rng() < 0.15 ? 0 : int(0, Nk)));
  if (rng() < 0.25) cfg.mask = { type: rng() < 0.3 ? 'bool' : 'int32' };
  if (rng() < 0.3) cfg.biasDims = pick([[1, H, Nq, Nk], [B, 1, Nq, Nk], [Nq, Nk], [B, H, Nq, Nk], [B, 1, 1, Nk]]);
  const d = rng();
  if (rng() < 0.2) cfg.rel = { numBuckets: pick([8, 32, 5]), maxDistance: pick([16, 128, 7]), bidirectional: rng() < 0.5 };
  if (cfg.causal || cfg.window) {
    if (d < 0.25) {
      cfg.diagonal = 'offset';
      cfg.causalOffset = int(-Nq - 2, Nk + 2);
    } else if (d < 0.35) {
      cfg.diagonal = 'per-batch'; // ORT has per-batch diagonals only as key_lengths[b] - Nq
      cfg.causalOffset = Int32Array.from({ length: B }, () => int(-3, Nk + 1));
      cfg.ort = false;
    } else if (cfg.causal && d < 0.65) {
      if (cfg.keyLengths || rng() < 0.5) {
        cfg.diagonal = 'native'; // top-left, or key_lengths[b] - Nq
        cfg.causalOffset = cfg.keyLengths ? Int32Array.from(cfg.keyLengths, (l) => l - Nq) : 0;
      } else {
        cfg.diagonal = 'past';
        cfg.pastLength = int(0, Nk - 1); // ORT needs at least one new key
        cfg.causalOffset = cfg.pastLength;
      }
    }
  }
  return cfg;
}

interface Inputs {
  q: { data: Float32Array; dims: number[] };
  k: { data: Float32Array; dims: number[] };
  v: { data: Float32Array; dims: number[] };
  mask?: Uint8Array;
  bias?: { data: Float32Array; dims: number[] };
  relTable?: Float32Array;
  /** bias plus the relative bias as one [B, H, Nq, Nk] tensor (what ORT and the reference get). */
  fullBias?: { data: Float32Array; dims: number[] };
}

/** [B, H, N, X] -> [B, N, H, X] (the 3-D / 'bnhd' data). */
function toBnhd(t: { data: Float32Array; dims: number[] }): { data: Float32Array; dims: number[] } {
  const [B, H, N, X] = t.dims;
  const out = new Float32Array(t.data.length);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let n = 0; n < N; n++)
        for (let x = 0; x < X; x++) out[((b * N + n) * H + h) * X + x] = t.data[((b * H + h) * N + n) * X + x];
  return { data: out, dims: [B, N, H, X] };
}

function makeInputs(cfg: Config, rng: Rng): Inputs {
  const { B, H, Hk, Nq, Nk, D, Dv } = cfg;
  // Wider than [-1, 1] so that softcaps of a few units bite.
  const inp: Inputs = { q: randomTensor(rng, [B, H, Nq, D], -2, 2), k: randomTensor(rng, [B, Hk, Nk, D], -2, 2), v: randomTensor(rng, [B, Hk, Nk, Dv]) };
  if (cfg.mask) inp.mask = randomMask(rng, B * Nk, 0.75);
  if (cfg.biasDims) inp.bias = randomTensor(rng, cfg.biasDims, -2, 2);
  inp.fullBias = inp.bias;
  if (cfg.rel) {
    inp.relTable = randomTensor(rng, [cfg.rel.numBuckets, H], -2, 2).data;
    const full = relativeBiasTensor({ table: inp.relTable, ...cfg.rel }, B, H, Nq, Nk, cfg.causalOffset);
    inp.fullBias = inp.bias ? addBias(full, inp.bias) : full;
  }
  return inp;
}

function ours(cfg: Config, inp: Inputs, stage: ScoreStage) {
  const o: AttentionOptions = { causal: cfg.causal, returnScores: stage, returnLogSumExp: true };
  if (cfg.scale !== undefined) o.scale = cfg.scale;
  if (cfg.causalOffset !== undefined) o.causalOffset = cfg.causalOffset;
  if (cfg.softcap !== undefined) o.softcap = cfg.softcap;
  if (cfg.window) o.window = cfg.window;
  if (cfg.keyLengths) o.keyLengths = cfg.keyLengths;
  if (inp.mask) o.keyMask = inp.mask;
  if (inp.bias) o.bias = inp.bias;
  if (cfg.rel) o.relativeBias = { table: inp.relTable!, ...cfg.rel };
  if (cfg.rank === 3) {
    o.layout = 'bnhd';
    const r = attention(toBnhd(inp.q), toBnhd(inp.k), toBnhd(inp.v), o);
    return { out: r.data, scores: r.scores!.data, lse: r.logSumExp!.data }; // [B, Nq, H, Dv]: ORT's 3-D output
  }
  const r = attention(inp.q, inp.k, inp.v, o);
  return { out: r.data, scores: r.scores!.data, lse: r.logSumExp!.data };
}

async function ort(cfg: Config, inp: Inputs, stage: ScoreStage) {
  const spec: DenseOnnxSpec = {
    op: 'Attention', numHeads: cfg.H, kvNumHeads: cfg.Hk, headSize: cfg.D, vHeadSize: cfg.Dv, causal: cfg.causal, scores: stage,
    inputRank: cfg.rank,
  };
  if (cfg.scale !== undefined) spec.scale = cfg.scale;
  if (cfg.softcap !== undefined) spec.softcap = cfg.softcap;
  if (cfg.window) spec.window = cfg.window;
  if (cfg.diagonal === 'offset') spec.causalOffset = cfg.causalOffset as number;
  if (cfg.diagonal === 'native' || cfg.diagonal === 'past') spec.causalMode = 'native';
  if (cfg.diagonal === 'past') spec.pastLength = cfg.pastLength;
  if (cfg.keyLengths) spec.keyLengths = true;
  if (cfg.mask) {
    spec.keyMask = true;
    spec.keyMaskType = cfg.mask.type;
  }
  if (inp.fullBias) spec.biasDims = inp.fullBias.dims;
  const t3 = (t: { data: Float32Array; dims: number[] }) => {
    const b = toBnhd(t);
    return { data: b.data, dims: [b.dims[0], b.dims[1], b.dims[2] * b.dims[3]] };
  };
  const feeds: Parameters<typeof runOnnx>[1] = cfg.rank === 4 ? { q: inp.q, k: inp.k, v: inp.v } : { q: t3(inp.q), k: t3(inp.k), v: t3(inp.v) };
  const f = feeds as Record<string, Parameters<typeof runOnnx>[1][string]>;
  if (inp.mask) f.key_mask = cfg.mask!.type === 'bool' ? { data: inp.mask, dims: [cfg.B, cfg.Nk], type: 'bool' } : { data: Int32Array.from(inp.mask), dims: [cfg.B, cfg.Nk] };
  if (inp.fullBias) f.bias = inp.fullBias;
  if (cfg.keyLengths) f.key_lengths = { data: cfg.keyLengths, dims: [cfg.B] };
  const r = await runOnnx(buildDenseAttentionModel(spec), feeds, { intraOpNumThreads: 1 });
  if (cfg.diagonal === 'past' && cfg.pastLength! > 0) {
    // The cache round trip: present_key / present_value are the whole k / v.
    expect(Array.from(r.present_key.data as Float32Array)).toEqual(Array.from(inp.k.data));
    expect(Array.from(r.present_value.data as Float32Array)).toEqual(Array.from(inp.v.data));
  }
  return { out: r.out.data as Float32Array, scores: r.scores.data as Float32Array };
}

/** Both excluded (-inf, or ORT's -FLT_MAX for its own causal / key-length exclusions) or close. */
function sameScore(a: number, b: number, tol: number): boolean {
  const excluded = (x: number) => x === -Infinity || x <= -3e38;
  if (excluded(a) || excluded(b)) return excluded(a) && excluded(b);
  return Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));
}

function expectClose(what: string, got: ArrayLike<number>, want: ArrayLike<number>, tol: number): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++)
    if (!sameScore(got[i], want[i], tol)) throw new Error(`${what}[${i}]: ${got[i]} vs ${want[i]}`);
}

const CONFIGS: Config[] = (() => {
  const rng = mulberry32(0x5d0b);
  return Array.from({ length: 320 }, (_, n) => randomConfig(rng, n));
})();

function describeConfig(c: Config): string {
  const parts = [`B${c.B} H${c.H}/${c.Hk} Nq${c.Nq} Nk${c.Nk} D${c.D}/${c.Dv} ${c.rank}D`];
  if (c.causal) parts.push('causal');
  if (c.diagonal !== 'default') parts.push(`diag:${c.diagonal}`);
  if (c.softcap) parts.push('softcap');
  if (c.window) parts.push(`window[${c.window.join(',')}]`);
  if (c.keyLengths) parts.push('keyLengths');
  if (c.mask) parts.push(`mask:${c.mask.type}`);
  if (c.biasDims) parts.push('bias');
  if (c.rel) parts.push(`relativeBias:${c.rel.bidirectional ? 'bi' : 'uni'}`);
  parts.push(c.stage, c.ort ? 'vs ORT + ref' : 'vs ref');
  return parts.join(' ');
}

test('the configurations cover every option, alone and together', () => {
  const count = (f: (c: Config) => boolean) => CONFIGS.filter(f).length;
  expect(CONFIGS.length).toBeGreaterThanOrEqual(300);
  expect(count((c) => c.ort)).toBeGreaterThanOrEqual(250);
  for (const f of [
    (c: Config) => !!c.softcap, (c: Config) => !!c.window, (c: Config) => !!c.keyLengths, (c: Config) => c.rank === 3,
    (c: Config) => c.diagonal === 'past', (c: Config) => c.diagonal === 'native', (c: Config) => c.diagonal === 'offset',
    (c: Config) => c.diagonal === 'per-batch', (c: Config) => c.H !== c.Hk, (c: Config) => !!c.softcap && !!c.window && !!c.keyLengths,
    (c: Config) => c.Nk > 128, (c: Config) => c.Nk === 0, (c: Config) => !!c.rel && c.rel.bidirectional,
    (c: Config) => !!c.rel && !c.rel.bidirectional, (c: Config) => !!c.rel && c.diagonal === 'per-batch',
  ])
    expect(count(f)).toBeGreaterThan(0);
  for (const s of STAGES) expect(count((c) => c.stage === s)).toBeGreaterThan(30);
});

describe('attention() vs ONNX Runtime Attention and the float64 reference', () => {
  CONFIGS.forEach((cfg, n) =>
    test(`${cfg.name} ${describeConfig(cfg)}`, async () => {
      const inp = makeInputs(cfg, mulberry32(9000 + n));
      const got = ours(cfg, inp, cfg.stage);
      const refOpts: StandardRefOptions = {
        scale: cfg.scale, causal: cfg.causal, keyMask: inp.mask, bias: inp.fullBias, softcap: cfg.softcap,
        causalOffset: cfg.causalOffset, window: cfg.window, keyLengths: cfg.keyLengths,
      };
      const ref = referenceStandardAttention(inp.q, inp.k, inp.v, refOpts);
      expectClose('out vs reference', got.out, cfg.rank === 3 ? toBnhd({ data: Float32Array.from(ref.out), dims: [cfg.B, cfg.H, cfg.Nq, cfg.Dv] }).data : ref.out, TOL);
      expectClose(`${cfg.stage} scores vs reference`, got.scores, ref[cfg.stage], TOL);
      expectClose('logSumExp vs reference', got.lse, ref.lse, 1e-4);
      if (!cfg.ort) return;
      const o = await ort(cfg, inp, cfg.stage);
      expectClose('out vs ORT', got.out, o.out, TOL);
      expectClose(`${cfg.stage} scores vs ORT`, got.scores, o.scores, TOL);
    }),
  );
});

// The whole LongT5 encoder as one ONNX graph (lib/onnx/longt5-encoder.ts), run by onnxruntime-node:
//  * against Hugging Face's float64 encoder output on the fixture checkpoints (test/fixtures/longt5-model);
//  * against the native layers composed with a float64 JavaScript RMS norm / feed-forward, at
//    sizes the fixtures lack (N 300..600, B 2 with padding) and at degenerate shapes (N = 1, N < g);
//  * against the native encoder (LongT5EncoderModel.encode) on larger random checkpoints;
//  * argument and weight checks.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { LongT5EncoderModel } from '../lib/index';
import { LongT5LocalAttention, LongT5TransientGlobalAttention } from '../lib/longt5';
import { OnnxSession, buildLongT5EncoderOnnx, type LongT5EncoderOnnxConfig } from '../lib/onnx';
import { readSafetensors } from '../lib/safetensors';
import { mulberry32, type Rng } from '../lib/random';
import { randomConfig, randomWeights, writeCheckpoint, type RandomLongT5Config } from '../bench/model-weights';

const MODEL_FIXTURES = path.resolve(__dirname, 'fixtures', 'longt5-model');
const CASES = ['tglobal_tiny_pad', 'local_pad', 'tied_relu_tglobal_leftpad', 'tglobal_n_lt_g'];
const TOL = 1e-4; // × max|expected| over the unpadded rows

interface Compared {
  maxAbs: number;
  maxRef: number;
  rows: number;
}

/** max |a - ref| and max |ref| over rows of C values whose mask entry is nonzero. */
function compareRows(a: ArrayLike<number>, ref: ArrayLike<number>, C: number, mask: ArrayLike<number>): Compared {
  expect(a.length).toBe(ref.length);
  let maxAbs = 0, maxRef = 0, rows = 0;
  for (let r = 0; r < mask.length; r++) {
    if (!mask[r]) continue;
    rows++;
    for (let i = r * C; i < (r + 1) * C; i++) {
      const d = Math.abs(a[i] - ref[i]);
      if (!(d <= maxAbs)) maxAbs = d; // NaN sticks
      maxRef = Math.max(maxRef, Math.abs(ref[i]));
    }
  }
  return { maxAbs, maxRef, rows };
}

function expectClose(c: Compared, what: string) {
  if (!(c.maxAbs <= TOL * c.maxRef) || c.rows === 0)
    throw new Error(`${what}: max|diff| ${c.maxAbs} > ${TOL} × max|ref| ${c.maxRef} over ${c.rows} rows`);
}

const toI64 = (a: ArrayLike<number>) => BigInt64Array.from(Array.from(a, (x) => BigInt(x)));

async function runEncoder(s: OnnxSession, ids: ArrayLike<number>, mask: ArrayLike<number>, B: number, N: number): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const out = await s.run({ input_ids: { data: toI64(ids), dims: [B, N] }, attention_mask: { data: toI64(mask), dims: [B, N] } });
  return { data: out.last_hidden_state.data as Float32Array, dims: out.last_hidden_state.dims };
}

function loadCheckpoint(dir: string): { config: LongT5EncoderOnnxConfig; weights: Record<string, Float32Array> } {
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  const weights: Record<string, Float32Array> = {};
  for (const [k, t] of readSafetensors(path.join(dir, 'model.safetensors')).tensors) weights[k] = t.data as Float32Array;
  return { config, weights };
}

// ---------------------------------------------------------------------------------------------
// An independent composition: the native attention layers (checked against Hugging Face by their
// own fixtures) with RMS norm, feed-forward and residuals in float64 JavaScript.

function rmsNorm(x: Float64Array, C: number, w: Float32Array, eps: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < x.length / C; r++) {
    let s = 0;
    for (let i = 0; i < C; i++) s += x[r * C + i] ** 2;
    const inv = 1 / Math.sqrt(s / C + eps);
    for (let i = 0; i < C; i++) out[r * C + i] = w[i] * x[r * C + i] * inv;
  }
  return out;
}

/** x [M, inp] · W[out, inp]ᵀ */
function linear(x: Float64Array, inp: number, w: Float32Array, out: number): Float64Array {
  const M = x.length / inp;
  const y = new Float64Array(M * out);
  for (let m = 0; m < M; m++)
    for (let o = 0; o < out; o++) {
      let s = 0;
      for (let i = 0; i < inp; i++) s += x[m * inp + i] * w[o * inp + i];
      y[m * out + o] = s;
    }
  return y;
}

const geluNew = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));

function composedEncoder(c: RandomLongT5Config, w: Map<string, Float32Array>, ids: ArrayLike<number>, mask: Uint8Array, B: number, N: number): Float64Array {
  const C = c.d_model, F = c.d_ff, eps = c.layer_norm_epsilon;
  const tglobal = c.encoder_attention_type === 'transient-global';
  const module = tglobal ? 'TransientGlobalSelfAttention' : 'LocalSelfAttention';
  const emb = w.get('shared.weight')!;
  let h = new Float64Array(B * N * C);
  for (let t = 0; t < B * N; t++) for (let i = 0; i < C; i++) h[t * C + i] = emb[ids[t] * C + i];
  const a0 = `encoder.block.0.layer.0.${module}`;
  for (let l = 0; l < c.num_layers; l++) {
    const a = `encoder.block.${l}.layer.0.${module}`;
    const lw: Record<string, Float32Array> = {
      'q.weight': w.get(`${a}.q.weight`)!, 'k.weight': w.get(`${a}.k.weight`)!, 'v.weight': w.get(`${a}.v.weight`)!, 'o.weight': w.get(`${a}.o.weight`)!,
      'relative_attention_bias.weight': w.get(`${a0}.relative_attention_bias.weight`)!,
    };
    if (tglobal) {
      lw['global_relative_attention_bias.weight'] = w.get(`${a0}.global_relative_attention_bias.weight`)!;
      lw['global_input_layer_norm.weight'] = w.get(`${a}.global_input_layer_norm.weight`)!;
    }
    const layer = tglobal ? new LongT5TransientGlobalAttention(c, lw) : new LongT5LocalAttention(c, lw);
    const normed = Float32Array.from(rmsNorm(h, C, w.get(`encoder.block.${l}.layer.0.layer_norm.weight`)!, eps));
    const att = layer.forward({ data: normed, dims: [B, N, C] }, { data: mask, dims: [B, N] }).data;
    h = h.map((x, i) => x + att[i]);
    const x = rmsNorm(h, C, w.get(`encoder.block.${l}.layer.1.layer_norm.weight`)!, eps);
    const p = `encoder.block.${l}.layer.1.DenseReluDense`;
    let inner: Float64Array;
    if (c.is_gated_act) {
      const g = linear(x, C, w.get(`${p}.wi_0.weight`)!, F);
      const u = linear(x, C, w.get(`${p}.wi_1.weight`)!, F);
      inner = g.map((v, i) => (c.dense_act_fn === 'relu' ? Math.max(v, 0) : geluNew(v)) * u[i]);
    } else inner = linear(x, C, w.get(`${p}.wi.weight`)!, F).map((v) => Math.max(v, 0));
    const ff = linear(inner, F, w.get(`${p}.wo.weight`)!, C);
    h = h.map((v, i) => v + ff[i]);
  }
  return rmsNorm(h, C, w.get('encoder.final_layer_norm.weight')!, eps);
}

/** Random ids in [2, V) with eos (1) as each row's last real token and pad (0) on padding. */
function randomInputs(rng: Rng, V: number, B: number, N: number, lengths: number[], leftPad: boolean[]) {
  const ids = new Int32Array(B * N);
  const mask = new Uint8Array(B * N);
  for (let b = 0; b < B; b++) {
    const len = lengths[b];
    const start = leftPad[b] ? N - len : 0;
    for (let i = 0; i < len; i++) {
      mask[b * N + start + i] = 1;
      ids[b * N + start + i] = i === len - 1 ? 1 : 2 + Math.floor(rng() * (V - 2));
    }
  }
  return { ids, mask };
}

// ---------------------------------------------------------------------------------------------

describe('fixtures: ONNX Runtime on the encoder graph vs Hugging Face (float64)', () => {
  test('the fixture checkpoints are there', () => {
    for (const c of CASES) expect(fs.existsSync(path.join(MODEL_FIXTURES, c, 'model.safetensors'))).toBe(true);
  });

  test.each(CASES)('%s', async (name) => {
    const dir = path.join(MODEL_FIXTURES, name);
    const { config, weights } = loadCheckpoint(dir);
    const expected = readSafetensors(path.join(dir, 'expected.safetensors')).tensors;
    const ids = expected.get('input_ids')!;
    const mask = expected.get('attention_mask')!.data as Int32Array;
    const ref = expected.get('encoder_last_hidden_state')!.data as Float64Array;
    const [B, N] = ids.shape;
    // The raw config.json (feed_forward_proj etc. as HF wrote them), decoder weights included: both ignored as they should be.
    const s = await OnnxSession.create(buildLongT5EncoderOnnx(config, weights), { intraOpNumThreads: 1 });
    try {
      expect(s.inputNames).toEqual(['input_ids', 'attention_mask']);
      expect(s.outputNames).toEqual(['last_hidden_state']);
      const out = await runEncoder(s, ids.data as Int32Array, mask, B, N);
      expect(out.dims).toEqual([B, N, config.d_model]);
      const c = compareRows(out.data, ref, config.d_model, mask);
      expect(c.rows).toBe(mask.reduce((a, b) => a + b, 0));
      expectClose(c, `${name}: ONNX Runtime vs HF`);
      expect(out.data.every(Number.isFinite)).toBe(true); // padded rows finite too
    } finally {
      await s.release();
    }
  });
});

// ---------------------------------------------------------------------------------------------

const RANDOM: { name: string; config: RandomLongT5Config; N: number; lengths: number[]; leftPad: boolean[] }[] = [
  {
    name: 'tglobal gated-gelu r 31 g 16, N 433 (row 1 right-padded to 301)',
    config: randomConfig({ d_model: 48, d_kv: 12, num_heads: 4, d_ff: 96, num_layers: 2, local_radius: 31, global_block_size: 16, vocab_size: 97 }),
    N: 433, lengths: [433, 301], leftPad: [false, false],
  },
  {
    name: 'local relu r 20, N 517 (row 0 left-padded to 350)',
    config: randomConfig({ d_model: 32, d_kv: 8, num_heads: 4, d_ff: 64, num_layers: 2, local_radius: 20, encoder_attention_type: 'local', feed_forward_proj: 'relu' }),
    N: 517, lengths: [350, 517], leftPad: [true, false],
  },
  {
    name: 'tglobal relu, 3 blocks, H·D != d_model, r 7 g 5, N 600 (rows 599 left / 320 right)',
    config: randomConfig({ d_model: 40, d_kv: 16, num_heads: 3, d_ff: 72, num_layers: 3, local_radius: 7, global_block_size: 5, feed_forward_proj: 'relu', relative_attention_num_buckets: 16, relative_attention_max_distance: 64 }),
    N: 600, lengths: [599, 320], leftPad: [true, false],
  },
  {
    name: 'tglobal gated-gelu r 127 g 16 (production radius), N 310 (rows 310 / 17)',
    config: randomConfig({ d_model: 32, d_kv: 16, num_heads: 2, d_ff: 64, num_layers: 2 }),
    N: 310, lengths: [310, 17], leftPad: [false, true],
  },
];

describe('ONNX Runtime vs the native layers composed in float64 JavaScript (N 300..600, B 2, padded)', () => {
  test.each(RANDOM.map((r, i) => [r.name, i] as const))('%s', async (_name, i) => {
    const r = RANDOM[i];
    const w = randomWeights(r.config, 1000 + i);
    const { ids, mask } = randomInputs(mulberry32(2000 + i), r.config.vocab_size, 2, r.N, r.lengths, r.leftPad);
    const s = await OnnxSession.create(buildLongT5EncoderOnnx(r.config, w));
    try {
      const out = await runEncoder(s, ids, mask, 2, r.N);
      expectClose(compareRows(out.data, composedEncoder(r.config, w, ids, mask, 2, r.N), r.config.d_model, mask), r.name);
    } finally {
      await s.release();
    }
  });

  test('one exported encoder at many shapes: N = 1, N < g, N = g, N not a multiple of g, B 1..3; empty batch or sequence', async () => {
    const config = randomConfig({ d_model: 24, d_kv: 6, num_heads: 4, d_ff: 40, num_layers: 2, local_radius: 5, global_block_size: 8 });
    const w = randomWeights(config, 77);
    const rng = mulberry32(78);
    const s = await OnnxSession.create(buildLongT5EncoderOnnx(config, w), { intraOpNumThreads: 1 });
    try {
      for (const [B, N] of [[1, 1], [2, 3], [1, 7], [2, 8], [3, 9], [2, 17], [1, 40]]) {
        const lengths = Array.from({ length: B }, (_, b) => (b === 0 ? N : 1 + Math.floor(rng() * N)));
        const { ids, mask } = randomInputs(rng, config.vocab_size, B, N, lengths, lengths.map((_, b) => b % 2 === 1));
        const out = await runEncoder(s, ids, mask, B, N);
        expect(out.dims).toEqual([B, N, 24]);
        expectClose(compareRows(out.data, composedEncoder(config, w, ids, mask, B, N), 24, mask), `B ${B} N ${N}`);
      }
      for (const [B, N] of [[2, 0], [0, 5]]) expect((await runEncoder(s, new Int32Array(0), new Uint8Array(0), B, N)).dims).toEqual([B, N, 24]);
    } finally {
      await s.release();
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('ONNX Runtime vs the native encoder (LongT5EncoderModel.encode) on random checkpoints', () => {
  test.each(RANDOM.map((r, i) => [r.name, i] as const))('%s', async (_name, i) => {
    const r = RANDOM[i];
    const w = randomWeights(r.config, 3000 + i);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ga-encoder-'));
    try {
      writeCheckpoint(dir, r.config, w);
      const model = LongT5EncoderModel.fromPretrained(dir);
      const { ids, mask } = randomInputs(mulberry32(4000 + i), r.config.vocab_size, 2, r.N, r.lengths, r.leftPad);
      const native = model.encode({ data: ids, dims: [2, r.N] }, { attentionMask: { data: mask, dims: [2, r.N] } });
      expect(native.dims).toEqual([2, r.N, r.config.d_model]);
      // What the model's toOnnx() exports: its resolved config and the weights it holds natively.
      const s = await OnnxSession.create(buildLongT5EncoderOnnx(model.config, model.weightsForExport()));
      try {
        const out = await runEncoder(s, ids, mask, 2, r.N);
        expectClose(compareRows(out.data, native.data, r.config.d_model, mask), `${r.name}: ORT vs native`);
      } finally {
        await s.release();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------------------------

test('an encoder without blocks (num_layers 0) is the embedding and the final norm', async () => {
  for (const type of ['transient-global', 'local'] as const) {
    const config = randomConfig({ d_model: 16, d_kv: 4, num_heads: 2, d_ff: 32, num_layers: 0, encoder_attention_type: type });
    const w = randomWeights(config, 9);
    const { ids, mask } = randomInputs(mulberry32(10), config.vocab_size, 2, 9, [9, 4], [false, true]);
    const s = await OnnxSession.create(buildLongT5EncoderOnnx(config, w), { intraOpNumThreads: 1 });
    try {
      const out = await runEncoder(s, ids, mask, 2, 9);
      expectClose(compareRows(out.data, composedEncoder(config, w, ids, mask, 2, 9), 16, mask), `num_layers 0 (${type})`);
    } finally {
      await s.release();
    }
  }
});

test("dense_act_fn 'gelu_pytorch_tanh' (Hugging Face's other name for gelu_new) exports the same computation", async () => {
  const config = randomConfig({ d_model: 16, d_kv: 4, num_heads: 2, d_ff: 32, num_layers: 1, local_radius: 3, global_block_size: 4 });
  const w = randomWeights(config, 11);
  const { ids, mask } = randomInputs(mulberry32(12), config.vocab_size, 1, 10, [10], [false]);
  const outs: Float32Array[] = [];
  for (const act of ['gelu_new', 'gelu_pytorch_tanh']) {
    const s = await OnnxSession.create(buildLongT5EncoderOnnx({ ...config, dense_act_fn: act }, w), { intraOpNumThreads: 1 });
    try {
      outs.push((await runEncoder(s, ids, mask, 1, 10)).data);
    } finally {
      await s.release();
    }
  }
  expect(Array.from(outs[1])).toEqual(Array.from(outs[0]));
  expectClose(compareRows(outs[0], composedEncoder(config, w, ids, mask, 1, 10), 16, mask), 'gelu_new');
});

describe('buildLongT5EncoderOnnx checks its arguments', () => {
  const config = randomConfig({ d_model: 8, d_kv: 4, num_heads: 2, d_ff: 16, num_layers: 2, local_radius: 3, global_block_size: 4 });
  const w = randomWeights(config, 5);
  const without = (name: string) => new Map([...w].filter(([k]) => k !== name));
  const a1 = 'encoder.block.1.layer.0.TransientGlobalSelfAttention';

  test('valid: a Map or an object of weights, standard ops only, decoder weights ignored', () => {
    const bytes = buildLongT5EncoderOnnx(config, w);
    expect(Buffer.from(bytes).includes(Buffer.from('com.microsoft'))).toBe(false);
    expect(buildLongT5EncoderOnnx(config, Object.fromEntries(w))).toEqual(bytes);
    const withDecoder = randomWeights(config, 5, { decoder: true });
    expect(buildLongT5EncoderOnnx(config, withDecoder)).toEqual(bytes);
    expect(buildLongT5EncoderOnnx(config, w, { opset: 21 }).length).toBe(bytes.length);
  });

  test('a missing or wrongly sized tensor is named', () => {
    expect(() => buildLongT5EncoderOnnx(config, without(`${a1}.q.weight`))).toThrow(`weights['${a1}.q.weight'] is missing`);
    expect(() => buildLongT5EncoderOnnx(config, without('encoder.final_layer_norm.weight'))).toThrow(/encoder.final_layer_norm.weight/);
    expect(() => buildLongT5EncoderOnnx(config, without('encoder.block.1.layer.1.DenseReluDense.wi_1.weight'))).toThrow(/wi_1.weight'\] is missing/);
    const bad = new Map(w).set(`${a1}.global_input_layer_norm.weight`, new Float32Array(7));
    expect(() => buildLongT5EncoderOnnx(config, bad)).toThrow(/global_input_layer_norm.weight'\] has 7 elements, expected \[8\]/);
    const notF32 = new Map<string, unknown>(w).set('shared.weight', new Float64Array(64 * 8));
    expect(() => buildLongT5EncoderOnnx(config, notF32 as never)).toThrow(/shared.weight'\] must be a Float32Array/);
    // The embedding may come as encoder.embed_tokens.weight (an encoder-only state dict).
    const renamed = without('shared.weight').set('encoder.embed_tokens.weight', w.get('shared.weight')!);
    expect(buildLongT5EncoderOnnx(config, renamed)).toEqual(buildLongT5EncoderOnnx(config, w));
  });

  test('bad config fields and options are refused, naming them', () => {
    expect(() => buildLongT5EncoderOnnx({ ...config, encoder_attention_type: 'full' }, w)).toThrow(/encoder_attention_type/);
    expect(() => buildLongT5EncoderOnnx({ ...config, dense_act_fn: 'gelu' }, w)).toThrow(/dense_act_fn/);
    expect(() => buildLongT5EncoderOnnx({ ...config, d_ff: 0 }, w)).toThrow(/config.d_ff/);
    expect(() => buildLongT5EncoderOnnx({ ...config, d_model: 9 }, w)).toThrow(/shared.weight'\] has 512 elements/);
    expect(() => buildLongT5EncoderOnnx({ ...config, dense_act_fn: undefined, is_gated_act: undefined, feed_forward_proj: 'gated-silu' }, w)).toThrow(/feed_forward_proj/);
    expect(() => buildLongT5EncoderOnnx(config, w, { opset: 13 })).toThrow(/opset/);
    expect(() => buildLongT5EncoderOnnx(config, w, { bogus: 1 } as never)).toThrow(/unknown option 'bogus'/);
    expect(() => buildLongT5EncoderOnnx(null as never, w)).toThrow(TypeError);
    expect(() => buildLongT5EncoderOnnx(config, null as never)).toThrow(TypeError);
  });
});

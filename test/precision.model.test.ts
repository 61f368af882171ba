// The whole model loaded with options.precision 'bf16' / 'fp16' (lib/model/load.ts): on every
// model fixture and every (ISA, bf16 kernels) path the encoder output (unpadded rows) and the
// teacher-forced logits stay within 2e-2 (bf16) / 5e-3 (fp16) x max|out| of the float32 model and
// of Hugging Face's float64 outputs; greedy ids equal float32's except where float32 itself had a
// near tie. A BF16 / F16 checkpoint loads into 16 bits as stored (half the native memory) and
// computes exactly what the same values in a float32 file do; with 'fp32' it is still widened.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { LongT5EncoderModel, LongT5ForConditionalGeneration, resolveModelConfig } from '../lib/index';
import { nativeConfig } from '../lib/model/load';
import { native } from '../lib/native';
import { ModelCase, loadModelCase, modelCases, relError, writeCheckpoint, writeReducedPrecision } from './helpers/model-fixtures';
import { bf16, fp16, fp16Paths, precisionPaths, withPath, withPathAsync } from './helpers/precision';

const TOL = { bf16: 2e-2, fp16: 5e-3 } as const;
const cases = modelCases().map(loadModelCase);
const PATHS = precisionPaths();
const FP16_PATHS = fp16Paths(PATHS); // emulated once per ISA, and each native float16 set
type P16 = 'bf16' | 'fp16';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ga-precision-model-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

const models = new Map<string, LongT5ForConditionalGeneration>();
function model(c: ModelCase, precision: 'fp32' | P16): LongT5ForConditionalGeneration {
  const key = `${c.name}/${precision}`;
  let m = models.get(key);
  if (!m) {
    m = LongT5ForConditionalGeneration.fromPretrained(c.dir, { precision });
    models.set(key, m);
  }
  return m;
}

const V = (c: ModelCase) => c.config.vocab_size as number;
const D = (c: ModelCase) => c.config.d_model as number;
const f64 = (x: Float32Array) => Float64Array.from(x);
const args = (c: ModelCase) => ({ inputIds: c.inputIds, attentionMask: c.attentionMask, decoderInputIds: c.decoderInputIds });

// Greedy ids of the reduced model may leave float32's only where float32's own choice was a near tie:
// at a row's first difference, float32's logit margin between the two tokens is within what the
// tolerance lets the logits move (2 x tol x max|logits|). Returns the rows that differ.
function checkGreedy(c: ModelCase, precision: P16, got: Int32Array, want: Int32Array, steps: number): number {
  const m32 = model(c, 'fp32');
  const B = c.inputIds.dims[0];
  let flips = 0;
  for (let b = 0; b < B; b++) {
    const t = [...Array(steps).keys()].find((i) => got[b * steps + i] !== want[b * steps + i]);
    if (t === undefined) continue;
    flips++;
    // float32's logits for column t given its own prefix (column 0 is decoder_start_token_id): what its generate saw.
    expect(t).toBeGreaterThan(0);
    const prefix = want.slice(b * steps, b * steps + t);
    const ids = { data: c.inputIds.data.slice(b * c.inputIds.dims[1], (b + 1) * c.inputIds.dims[1]), dims: [1, c.inputIds.dims[1]] };
    const mask = { data: c.attentionMask.data.slice(b * c.attentionMask.dims[1], (b + 1) * c.attentionMask.dims[1]), dims: [1, c.attentionMask.dims[1]] };
    const logits = m32.forward({ inputIds: ids, attentionMask: mask, decoderInputIds: { data: prefix, dims: [1, t] } }).data;
    const last = logits.subarray((t - 1) * V(c), t * V(c));
    const scale = last.reduce((s, x) => Math.max(s, Math.abs(x)), 0);
    const margin = last[want[b * steps + t]] - last[got[b * steps + t]];
    expect(margin).toBeGreaterThanOrEqual(0);
    expect(margin).toBeLessThanOrEqual(2 * TOL[precision] * scale);
  }
  return flips;
}

test('the model fixtures and paths are here', () => {
  expect(cases.length).toBe(4);
  expect(PATHS.length).toBeGreaterThanOrEqual(1);
});

describe.each(cases.map((c) => [c.name, c] as const))('%s', (_, c) => {
  let enc32: Float32Array;
  let logits32: Float32Array;
  let greedy32: Int32Array;
  beforeAll(() => {
    const m = model(c, 'fp32');
    enc32 = m.encode(c.inputIds, { attentionMask: c.attentionMask }).data;
    logits32 = m.forward(args(c)).data;
    greedy32 = m.generate(c.inputIds, { attentionMask: c.attentionMask, maxNewTokens: c.meta.max_new_tokens }).data;
  });

  function checkModel(precision: P16) {
    const m = model(c, precision);
    expect(m.precision).toBe(precision);
    const enc = m.encode(c.inputIds, { attentionMask: c.attentionMask }).data;
    const vs32 = relError(enc, f64(enc32), D(c), c.attentionMask.data);
    expect(vs32).toBeLessThanOrEqual(TOL[precision]);
    expect(vs32).toBeGreaterThan(0);  // the products really ran in 16 bits
    expect(relError(enc, c.encoder, D(c), c.attentionMask.data)).toBeLessThanOrEqual(TOL[precision]);
    const logits = m.forward(args(c)).data;
    expect(relError(logits, f64(logits32), V(c))).toBeLessThanOrEqual(TOL[precision]);
    expect(relError(logits, c.logits, V(c))).toBeLessThanOrEqual(TOL[precision]);
    const g = m.generate(c.inputIds, { attentionMask: c.attentionMask, maxNewTokens: c.meta.max_new_tokens });
    expect(g.dims).toEqual(c.greedy.dims);
    const flips = checkGreedy(c, precision, g.data, greedy32, g.dims[1]);
    if (flips > 0 && process.env.GA_REPORT) console.log(`${c.name} ${precision}: greedy ids differ from float32 on ${flips} row(s), at near ties`);
  }

  test.each(PATHS.map((p) => [p.label, p] as const))('bf16 on %s: encoder and logits within 2e-2 x max|out|; greedy ids', (_l, p) => {
    withPath(p, () => checkModel('bf16'));
  });

  test.each(FP16_PATHS.map((p) => [p.label, p] as const))('fp16 on %s: encoder and logits within 5e-3 x max|out|; greedy ids', (_l, p) => {
    withPath(p, () => checkModel('fp16'));
  });

  test('bf16: the async forms give the sync bits; LongT5EncoderModel the same encoder', async () => {
    const p = PATHS[PATHS.length - 1];
    const m = model(c, 'bf16');
    const sync = withPath(p, () => ({
      enc: m.encode(c.inputIds, { attentionMask: c.attentionMask }).data,
      logits: m.forward(args(c)).data,
      greedy: m.generate(c.inputIds, { attentionMask: c.attentionMask, maxNewTokens: 4, numBeams: 2 }).data,
    }));
    await withPathAsync(p, async () => {
      expect((await m.encodeAsync(c.inputIds, { attentionMask: c.attentionMask })).data).toEqual(sync.enc);
      expect((await m.forwardAsync(args(c))).data).toEqual(sync.logits);
      expect((await m.generateAsync(c.inputIds, { attentionMask: c.attentionMask, maxNewTokens: 4, numBeams: 2 })).data).toEqual(sync.greedy);
    });
    const e = LongT5EncoderModel.fromPretrained(c.dir, { precision: 'bf16' });
    expect(e.precision).toBe('bf16');
    expect(withPath(p, () => e.encode(c.inputIds, { attentionMask: c.attentionMask }).data)).toEqual(sync.enc);
    e.dispose();
  });

  test("precision 'fp32' is the default, bit for bit", () => {
    const m = LongT5ForConditionalGeneration.fromPretrained(c.dir, { precision: 'fp32' });
    expect(m.precision).toBe('fp32');
    expect(model(c, 'fp32').precision).toBe('fp32');
    expect(m.forward(args(c)).data).toEqual(logits32);
    expect(LongT5ForConditionalGeneration.fromPretrained(c.dir).forward(args(c)).data).toEqual(logits32);
    m.dispose();
  });
});

describe('16-bit checkpoints', () => {
  test.each([['BF16', 'bf16'], ['F16', 'fp16']] as const)('%s with precision %s: kept in 16 bits (half the memory), same results as its values in float32', (dtype, precision) => {
    for (const c of cases) {
      const dir = fs.mkdtempSync(path.join(tmp, `${dtype}-`));
      const rounded = writeReducedPrecision(c.dir, dir, dtype);
      const twin = fs.mkdtempSync(path.join(tmp, `${dtype}-f32-`));
      writeCheckpoint(twin, c.config, rounded);
      const low = LongT5ForConditionalGeneration.fromPretrained(dir, { precision });
      const ref = LongT5ForConditionalGeneration.fromPretrained(twin, { precision });
      const wide = LongT5ForConditionalGeneration.fromPretrained(dir);
      const f32 = LongT5ForConditionalGeneration.fromPretrained(twin);
      // The 16-bit model rounds the float32 twin's (already representable) matrices to the same bits.
      expect(low.forward(args(c)).data).toEqual(ref.forward(args(c)).data);
      expect(low.encode(c.inputIds, { attentionMask: c.attentionMask }).data).toEqual(ref.encode(c.inputIds, { attentionMask: c.attentionMask }).data);
      // Native memory: about half of float32's (the matrices dominate; norms and biases stay float32).
      expect(low.weightBytes).toBe(ref.weightBytes);
      expect(low.weightBytes).toBeLessThanOrEqual(0.55 * f32.weightBytes);
      // precision 'fp32' still widens: exactly the float32 twin.
      expect(wide.weightBytes).toBe(f32.weightBytes);
      expect(wide.forward(args(c)).data).toEqual(f32.forward(args(c)).data);
      for (const m of [low, ref, wide, f32]) m.dispose();
    }
  });

  test('an F16 checkpoint loads with precision bf16 (converted natively) within the bf16 tolerance', () => {
    const c = cases[0];
    const dir = fs.mkdtempSync(path.join(tmp, 'F16-as-bf16-'));
    writeReducedPrecision(c.dir, dir, 'F16');
    const m = LongT5ForConditionalGeneration.fromPretrained(dir, { precision: 'bf16' });
    expect(relError(m.forward(args(c)).data, c.logits, V(c))).toBeLessThanOrEqual(TOL.bf16);
    m.dispose();
  });

  test('weightsForExport of a 16-bit model gives the values it holds (representable in that type)', () => {
    const c = cases.find((x) => x.name === 'tglobal_tiny_pad')!;
    for (const [precision, round] of [['bf16', bf16], ['fp16', fp16]] as const) {
      const e = LongT5EncoderModel.fromPretrained(c.dir, { precision });
      const q = e.weightsForExport().get('encoder.block.0.layer.0.TransientGlobalSelfAttention.q.weight')!;
      expect(q.length).toBeGreaterThan(0);
      expect(Array.from(q)).toEqual(Array.from(q, round));
      e.dispose();
    }
  });
});

test('bad load options are errors naming the option', () => {
  const c = cases[0];
  expect(() => LongT5ForConditionalGeneration.fromPretrained(c.dir, { precision: 'int8' as never })).toThrow(RangeError);
  expect(() => LongT5ForConditionalGeneration.fromPretrained(c.dir, { precision: 'int8' as never })).toThrow(/options\.precision/);
  expect(() => LongT5EncoderModel.fromPretrained(c.dir, { precision: 16 as never })).toThrow(TypeError);
  expect(() => LongT5EncoderModel.fromPretrained(c.dir, { precision: 16 as never })).toThrow(/options\.precision/);
  expect(() => LongT5EncoderModel.fromSafetensors(path.join(c.dir, 'model.safetensors'), c.config as never, { precision: 'bf' as never })).toThrow(/options\.precision/);
  expect(() => LongT5ForConditionalGeneration.fromPretrained(c.dir, { precison: 'bf16' } as never)).toThrow(/precison/);
  expect(() => LongT5ForConditionalGeneration.fromPretrained(c.dir, 'bf16' as never)).toThrow(TypeError);
});

test('the native loader refuses a Uint16Array weight without a 16-bit dtype or of the wrong length', () => {
  // Native errors come from the addon's realm: compare names, not constructors.
  const thrown = (f: () => unknown): { name: string; message: string } => {
    try {
      f();
    } catch (e) {
      return { name: (e as Error).name, message: (e as Error).message };
    }
    throw new Error('did not throw');
  };
  const c = cases[0];
  const handle = native.modelCreate(nativeConfig(resolveModelConfig(c.config), true, 'bf16'));
  try {
    const [{ name, shape }] = native.modelWeightNames(handle);
    const n = shape.reduce((a, b) => a * b, 1);
    expect(thrown(() => native.modelSetWeight(handle, name, new Uint16Array(n), 'F8' as never))).toEqual({
      name: 'TypeError', message: "modelSetWeight: a Uint16Array weight needs dtype 'BF16' or 'F16'",
    });
    expect(thrown(() => (native.modelSetWeight as (...a: unknown[]) => void)(handle, name, new Uint16Array(n))).name).toBe('TypeError');
    const short = thrown(() => native.modelSetWeight(handle, name, new Uint16Array(n - 1), 'BF16'));
    expect(short.name).toBe('RangeError');
    expect(short.message).toContain(`weight '${name}' needs ${n} values, got ${n - 1}`);
    const bad = thrown(() => native.modelCreate({ ...nativeConfig(resolveModelConfig(c.config), true), precision: 'int4' as never }));
    expect(bad).toEqual({ name: 'RangeError', message: "precision must be 'fp32', 'bf16' or 'fp16', got 'int4'" });
  } finally {
    native.modelDispose(handle);
  }
});

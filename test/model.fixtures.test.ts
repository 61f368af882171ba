// The whole LongT5 model against Hugging Face's own outputs (test/fixtures/longt5-model, float64):
// encoder last hidden state and teacher-forced logits within 1e-4 x max|expected| (unpadded
// rows), greedy ids exact — every case, under every ISA, sync and async. Then the loading paths:
// fromPretrained, fromSafetensors, the encoder half of a full checkpoint, a sharded copy, and
// F16 / BF16 checkpoints.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { LongT5EncoderModel, LongT5ForConditionalGeneration, loadCheckpointTensors, resolveModelConfig } from '../lib/index';
import { readSafetensors, toFloat32 } from '../lib/safetensors';
import { availableIsas, withIsa, withIsaAsync } from './helpers/isa';
import {
  ModelCase, loadModelCase, modelCases, relError, writeCheckpoint, writeReducedPrecision, writeSharded,
} from './helpers/model-fixtures';

const TOL = 1e-4;
const cases = modelCases().map(loadModelCase);
const models = new Map<string, LongT5ForConditionalGeneration>();
const model = (c: ModelCase) => {
  let m = models.get(c.name);
  if (!m) {
    m = LongT5ForConditionalGeneration.fromPretrained(c.dir);
    models.set(c.name, m);
  }
  return m;
};

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ga-model-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('the fixture cases are all here', () => {
  expect(cases.map((c) => c.name)).toEqual(['local_pad', 'tglobal_n_lt_g', 'tglobal_tiny_pad', 'tied_relu_tglobal_leftpad']);
});

function checkEncoder(c: ModelCase, got: { data: Float32Array; dims: readonly number[] }) {
  const d = c.config.d_model as number;
  expect(got.dims).toEqual([...c.inputIds.dims, d]);
  expect(relError(got.data, c.encoder, d, c.attentionMask.data)).toBeLessThan(TOL);
}

function checkLogits(c: ModelCase, got: { data: Float32Array; dims: readonly number[] }) {
  const V = c.config.vocab_size as number;
  expect(got.dims).toEqual([...c.decoderInputIds.dims, V]);
  expect(relError(got.data, c.logits, V)).toBeLessThan(TOL);
}

function checkGreedy(c: ModelCase, got: { data: Int32Array; dims: readonly number[] }) {
  expect(got.dims).toEqual(c.greedy.dims);
  expect(Array.from(got.data)).toEqual(Array.from(c.greedy.data));
}

describe.each(availableIsas())('isa %s', (isa) => {
  test.each(cases.map((c) => [c.name, c] as const))('%s: encoder, logits and greedy ids (sync)', (_, c) => {
    withIsa(isa, () => {
      const m = model(c);
      checkEncoder(c, m.encode(c.inputIds, { attentionMask: c.attentionMask }));
      checkLogits(c, m.forward({ inputIds: c.inputIds, attentionMask: c.attentionMask, decoderInputIds: c.decoderInputIds }));
      checkGreedy(c, m.generate(c.inputIds, { attentionMask: c.attentionMask, maxNewTokens: c.meta.max_new_tokens }));
    });
  });

  test.each(cases.map((c) => [c.name, c] as const))('%s: encoder, logits and greedy ids (async)', async (_, c) => {
    await withIsaAsync(isa, async () => {
      const m = model(c);
      checkEncoder(c, await m.encodeAsync(c.inputIds, { attentionMask: c.attentionMask }));
      checkLogits(c, await m.forwardAsync({ inputIds: c.inputIds, attentionMask: c.attentionMask, decoderInputIds: c.decoderInputIds }));
      checkGreedy(c, await m.generateAsync(c.inputIds, { attentionMask: c.attentionMask, maxNewTokens: c.meta.max_new_tokens }));
    });
  });
});

describe('inputs as tokenizers and ONNX Runtime give them', () => {
  const c = cases.find((x) => x.name === 'tglobal_tiny_pad')!;
  test('BigInt64Array ids and masks, ORT-style {type, data, dims}', () => {
    const m = model(c);
    const ids64 = { type: 'int64', data: BigInt64Array.from(c.inputIds.data, BigInt), dims: c.inputIds.dims };
    const mask64 = { data: BigInt64Array.from(c.attentionMask.data, BigInt), dims: c.attentionMask.dims };
    checkEncoder(c, m.encode(ids64, { attentionMask: mask64 }));
    const mask8 = { data: Uint8Array.from(c.attentionMask.data), dims: c.attentionMask.dims };
    checkGreedy(c, m.generate(ids64, { attentionMask: mask8, maxNewTokens: c.meta.max_new_tokens }));
  });

  test('a plain Int32Array is one row (B = 1)', () => {
    const m = model(c);
    const N = c.inputIds.dims[1];
    const row0 = c.inputIds.data.slice(0, N);
    const enc = m.encode(row0);
    expect(enc.dims).toEqual([1, N, c.config.d_model]);
    checkEncoder({ ...c, inputIds: { data: row0, dims: [1, N] }, attentionMask: { data: new Int32Array(N).fill(1), dims: [1, N] }, encoder: c.encoder.slice(0, N * (c.config.d_model as number)) }, enc);
  });

  test('forward with encoderOutput skips the encoder and gives the same logits', () => {
    const m = model(c);
    const enc = m.encode(c.inputIds, { attentionMask: c.attentionMask });
    const a = m.forward({ inputIds: c.inputIds, attentionMask: c.attentionMask, decoderInputIds: c.decoderInputIds });
    const b = m.forward({ encoderOutput: enc, attentionMask: c.attentionMask, decoderInputIds: c.decoderInputIds });
    expect(b.data).toEqual(a.data);
  });

  test('padding rows do not change the other row (row 0 alone == row 0 of the batch)', () => {
    const m = model(c);
    const N = c.inputIds.dims[1];
    const T = c.decoderInputIds.dims[1];
    const V = c.config.vocab_size as number;
    const alone = m.forward({ inputIds: { data: c.inputIds.data.slice(0, N), dims: [1, N] }, decoderInputIds: { data: c.decoderInputIds.data.slice(0, T), dims: [1, T] } });
    const batch = m.forward({ inputIds: c.inputIds, attentionMask: c.attentionMask, decoderInputIds: c.decoderInputIds });
    expect(relError(alone.data, Float64Array.from(batch.data.subarray(0, T * V)), V)).toBeLessThan(1e-6);
  });
});

describe('loading', () => {
  test.each(cases.map((c) => [c.name, c] as const))('%s: fromSafetensors(path, config) == fromPretrained(dir)', (_, c) => {
    const a = LongT5ForConditionalGeneration.fromSafetensors(path.join(c.dir, 'model.safetensors'), c.config as any);
    expect(a.config).toEqual(model(c).config);
    checkLogits(c, a.forward({ inputIds: c.inputIds, attentionMask: c.attentionMask, decoderInputIds: c.decoderInputIds }));
    a.dispose();
  });

  test.each(cases.map((c) => [c.name, c] as const))('%s: LongT5EncoderModel loads the encoder half of the full checkpoint', (_, c) => {
    const e = LongT5EncoderModel.fromPretrained(c.dir);
    const got = e.encode(c.inputIds, { attentionMask: c.attentionMask });
    checkEncoder(c, got);
    expect(got.data).toEqual(model(c).encode(c.inputIds, { attentionMask: c.attentionMask }).data);
    const e2 = LongT5EncoderModel.fromSafetensors(path.join(c.dir, 'model.safetensors'), c.config as any);
    expect(e2.encode(c.inputIds, { attentionMask: c.attentionMask }).data).toEqual(got.data);
    e.dispose();
    e2.dispose();
  });

  test('an encoder-only checkpoint (no decoder tensors) loads as LongT5EncoderModel, not as the full model', () => {
    const c = cases.find((x) => x.name === 'tglobal_tiny_pad')!;
    const dir = fs.mkdtempSync(path.join(tmp, 'enc-only-'));
    const { tensors } = readSafetensors(path.join(c.dir, 'model.safetensors'));
    writeCheckpoint(dir, c.config, new Map([...tensors].filter(([n]) => !n.startsWith('decoder.') && n !== 'lm_head.weight')));
    checkEncoder(c, LongT5EncoderModel.fromPretrained(dir).encode(c.inputIds, { attentionMask: c.attentionMask }));
    expect(() => LongT5ForConditionalGeneration.fromPretrained(dir)).toThrow(/tensor 'decoder\.block\.0\.layer\.0\.layer_norm\.weight' is missing/);
  });

  test.each(cases.map((c) => [c.name, c] as const))('%s: a 2-shard copy (model.safetensors.index.json) gives identical results', (_, c) => {
    const dir = fs.mkdtempSync(path.join(tmp, 'sharded-'));
    writeSharded(c.dir, dir, 2);
    expect(fs.existsSync(path.join(dir, 'model.safetensors'))).toBe(false);
    const t = loadCheckpointTensors(dir);
    const files = new Set(Object.values(JSON.parse(fs.readFileSync(path.join(dir, 'model.safetensors.index.json'), 'utf8')).weight_map));
    expect(files.size).toBe(2);
    t.close();
    const s = LongT5ForConditionalGeneration.fromPretrained(dir);
    const ref = model(c);
    const args = { inputIds: c.inputIds, attentionMask: c.attentionMask, decoderInputIds: c.decoderInputIds };
    expect(s.forward(args).data).toEqual(ref.forward(args).data);
    expect(s.encode(c.inputIds, { attentionMask: c.attentionMask }).data).toEqual(ref.encode(c.inputIds, { attentionMask: c.attentionMask }).data);
    // fromSafetensors takes the index file too
    const s2 = LongT5ForConditionalGeneration.fromSafetensors(path.join(dir, 'model.safetensors.index.json'), c.config as any);
    expect(s2.forward(args).data).toEqual(ref.forward(args).data);
    s.dispose();
    s2.dispose();
  });

  test.each([['BF16'], ['F16']] as const)('%s checkpoints load (widened to float32) and run like float32 weights of the same values', (dtype) => {
    for (const c of cases) {
      const dir = fs.mkdtempSync(path.join(tmp, `${dtype}-`));
      const rounded = writeReducedPrecision(c.dir, dir, dtype);
      const info = loadCheckpointTensors(dir);
      expect(info.info('shared.weight')!.dtype).toBe(dtype);
      info.close();
      const twin = fs.mkdtempSync(path.join(tmp, `${dtype}-f32-`));
      writeCheckpoint(twin, c.config, rounded);
      const low = LongT5ForConditionalGeneration.fromPretrained(dir);
      const ref = LongT5ForConditionalGeneration.fromPretrained(twin);
      const args = { inputIds: c.inputIds, attentionMask: c.attentionMask, decoderInputIds: c.decoderInputIds };
      const got = low.forward(args);
      expect(got.data).toEqual(ref.forward(args).data);
      expect(got.data.every(Number.isFinite)).toBe(true);
      // Rounding the weights moves the logits a little, not wholesale.
      expect(relError(got.data, c.logits, c.config.vocab_size as number)).toBeLessThan(dtype === 'BF16' ? 0.1 : 0.01);
      expect(low.generate(c.inputIds, { attentionMask: c.attentionMask, maxNewTokens: 4 }).dims[0]).toBe(2);
      low.dispose();
      ref.dispose();
    }
  });

  test('F16 widening of a large tensor (the table path) gives every half exactly', () => {
    const bits = new Uint16Array(3 * 65536).map((_, i) => (i * 40503) & 0xffff);
    const got = toFloat32({ dtype: 'F16', shape: [bits.length], data: bits });
    const one = (h: number) => toFloat32({ dtype: 'F16', shape: [1], data: new Uint16Array([h]) })[0];
    for (let i = 0; i < bits.length; i++) {
      const want = one(bits[i]);
      if (!(Object.is(got[i], want) || (Number.isNaN(got[i]) && Number.isNaN(want)))) throw new Error(`half 0x${bits[i].toString(16)}: ${got[i]} vs ${want}`);
    }
    expect(one(0x3c00)).toBe(1);
    expect(one(0xc000)).toBe(-2);
    expect(one(0x0001)).toBe(2 ** -24);
    expect(one(0x7c00)).toBe(Infinity);
  });

  test('config is resolved with HF defaults and exposed', () => {
    const c = cases.find((x) => x.name === 'tied_relu_tglobal_leftpad')!;
    const m = model(c);
    expect(m.config.tie_word_embeddings).toBe(true);
    expect(m.config.dense_act_fn).toBe('relu');
    expect(m.config.is_gated_act).toBe(false);
    expect(m.config.num_decoder_layers).toBe(2);
    expect(m.config.encoder_attention_type).toBe('transient-global');
    expect(resolveModelConfig({ ...c.config, num_decoder_layers: undefined }).num_decoder_layers).toBe(c.config.num_layers);
    expect(Object.isFrozen(m.config)).toBe(true);
  });

  test('weightsForExport returns the encoder weights under HF names', () => {
    const c = cases.find((x) => x.name === 'tglobal_tiny_pad')!;
    const w = model(c).weightsForExport();
    const { tensors } = readSafetensors(path.join(c.dir, 'model.safetensors'));
    const encoderNames = [...tensors.keys()].filter((n) => n.startsWith('encoder.') || n === 'shared.weight').sort();
    expect([...w.keys()].sort()).toEqual(encoderNames);
    for (const n of encoderNames) expect(w.get(n)).toEqual(tensors.get(n)!.data);
  });
});

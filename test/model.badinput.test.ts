// Bad checkpoints, bad configs and bad call arguments for the whole model: each must fail with a
// clear error naming the tensor, field or argument — never a crash, never garbage.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { LongT5EncoderModel, LongT5ForConditionalGeneration, resolveModelConfig } from '../lib/index';
import { native } from '../lib/native';
import { readSafetensors, SafetensorsInput, writeSafetensors } from '../lib/safetensors';
import { loadModelCase, writeCheckpoint } from './helpers/model-fixtures';

const c = loadModelCase('tglobal_tiny_pad');  // TGlobal, gated-gelu, untied, d_model 32, vocab 64
const tiedCase = loadModelCase('tied_relu_tglobal_leftpad');
let tmp: string;
let model: LongT5ForConditionalGeneration;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ga-model-bad-'));
  model = LongT5ForConditionalGeneration.fromPretrained(c.dir);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const weights = (): Map<string, SafetensorsInput> => new Map(readSafetensors(path.join(c.dir, 'model.safetensors')).tensors);

/** A checkpoint folder from the fixture's weights after `edit`, with `config` overrides. */
function variant(edit: (w: Map<string, SafetensorsInput>) => void, config: Record<string, unknown> = {}): string {
  const dir = fs.mkdtempSync(path.join(tmp, 'ckpt-'));
  const w = weights();
  edit(w);
  writeCheckpoint(dir, { ...c.config, ...config }, w);
  return dir;
}

const load = (dir: string) => () => LongT5ForConditionalGeneration.fromPretrained(dir);

describe('bad checkpoints fail at load, naming the tensor', () => {
  test('missing tensor', () => {
    const dir = variant((w) => w.delete('encoder.block.1.layer.1.DenseReluDense.wo.weight'));
    expect(load(dir)).toThrow(/tensor 'encoder\.block\.1\.layer\.1\.DenseReluDense\.wo\.weight' is missing/);
  });

  test('missing lm_head with untied embeddings names tie_word_embeddings', () => {
    const dir = variant((w) => w.delete('lm_head.weight'));
    expect(load(dir)).toThrow(/'lm_head\.weight' is missing.*tie_word_embeddings is false/);
    // ...while the encoder alone does not need it
    expect(() => LongT5EncoderModel.fromPretrained(dir)).not.toThrow();
  });

  test('wrong shape', () => {
    const dir2 = variant((w) => {
      const t = w.get('shared.weight')!;  // [vocab, d_model] stored transposed
      w.set('shared.weight', { ...t, shape: [t.shape[1], t.shape[0]] });
    });
    expect(load(dir2)).toThrow(/tensor 'shared\.weight' has shape \[32, 64\] but the config needs \[64, 32\] \(vocab_size 64, d_model 32\)/);
    const dir3 = variant((w) => {
      const t = w.get('encoder.block.0.layer.0.TransientGlobalSelfAttention.relative_attention_bias.weight')!;
      w.set('encoder.block.0.layer.0.TransientGlobalSelfAttention.relative_attention_bias.weight', { ...t, shape: [t.shape[0] * t.shape[1]] });
    });
    expect(load(dir3)).toThrow(/relative_attention_bias\.weight' has shape \[128\] but the config needs \[32, 4\]/);
  });

  test('wrong dtype', () => {
    const dir = variant((w) => {
      const t = w.get('decoder.final_layer_norm.weight')!;
      w.set('decoder.final_layer_norm.weight', { dtype: 'I32', shape: t.shape, data: new Int32Array(t.data.length) });
    });
    expect(load(dir)).toThrow(/tensor 'decoder\.final_layer_norm\.weight' has dtype I32; weights must be F32, F16 or BF16/);
    const dir2 = variant((w) => {
      const t = w.get('shared.weight')!;  // [vocab, d_model] stored transposed
      w.set('shared.weight', { dtype: 'F64', shape: t.shape, data: Float64Array.from(t.data as Float32Array) });
    });
    expect(load(dir2)).toThrow(/'shared\.weight' has dtype F64/);
  });

  test('truncated file', () => {
    const dir = variant(() => undefined);
    const file = path.join(dir, 'model.safetensors');
    const bytes = fs.readFileSync(file);
    fs.writeFileSync(file, bytes.subarray(0, bytes.length - 100));
    expect(load(dir)).toThrow(/model\.safetensors.*tensor ".*".*(past the end|truncated)/);
    fs.writeFileSync(file, bytes.subarray(0, 5));
    expect(load(dir)).toThrow(/too short/);
    fs.writeFileSync(file, Buffer.from('this is not a safetensors file at all, no'));
    expect(load(dir)).toThrow(/model\.safetensors/);
  });

  test('config that contradicts the weights names the field', () => {
    expect(load(variant(() => undefined, { d_ff: 128 }))).toThrow(/DenseReluDense\.wi_0\.weight' has shape \[64, 32\] but the config needs \[128, 32\] \(d_ff 128, d_model 32\)/);
    expect(load(variant(() => undefined, { encoder_attention_type: 'local' }))).toThrow(/config\.encoder_attention_type is 'local' but the checkpoint holds TransientGlobalSelfAttention weights/);
    expect(load(variant(() => undefined, { feed_forward_proj: 'relu', dense_act_fn: undefined, is_gated_act: undefined }))).toThrow(/feed_forward_proj 'relu' means a plain \(wi\) feed-forward, but the checkpoint's is gated/);
    expect(load(variant(() => undefined, { num_layers: 3 }))).toThrow(/'encoder\.block\.2\.[^']*' is missing \(config\.num_layers is 3 but the checkpoint has no encoder block 2\)/);
    expect(load(variant(() => undefined, { num_layers: 1 }))).toThrow(/'encoder\.block\.1\.[^']*' belongs to encoder block 1, but config\.num_layers is 1/);
    expect(load(variant(() => undefined, { num_decoder_layers: 1 }))).toThrow(/decoder block 1, but config\.num_decoder_layers is 1/);
    expect(load(variant(() => undefined, { num_heads: 8, d_kv: 4 }))).toThrow(/relative_attention_bias\.weight' has shape \[32, 4\] but the config needs \[32, 8\] \(relative_attention_num_buckets 32, num_heads 8\)/);
    expect(load(variant(() => undefined, { vocab_size: 65 }))).toThrow(/'shared\.weight' has shape \[64, 32\] but the config needs \[65, 32\]/);
    expect(load(variant(() => undefined, { relative_attention_num_buckets: 16 }))).toThrow(/relative_attention_bias\.weight' has shape \[32, 4\] but the config needs \[16, 4\] \(relative_attention_num_buckets 16/);
  });

  test('a tied checkpoint with an extra lm_head loads (HF ties it to shared); shared may come as encoder.embed_tokens', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'alias-'));
    const w = new Map(readSafetensors(path.join(tiedCase.dir, 'model.safetensors')).tensors);
    const shared = w.get('shared.weight')!;
    w.delete('shared.weight');
    w.set('encoder.embed_tokens.weight', shared);
    writeCheckpoint(dir, tiedCase.config, w);
    const m = LongT5ForConditionalGeneration.fromPretrained(dir);
    const ref = LongT5ForConditionalGeneration.fromPretrained(tiedCase.dir);
    const args = { inputIds: tiedCase.inputIds, attentionMask: tiedCase.attentionMask, decoderInputIds: tiedCase.decoderInputIds };
    expect(m.forward(args).data).toEqual(ref.forward(args).data);
  });

  test('folder problems: no config.json, bad JSON, no weights, bad shard index', () => {
    const empty = fs.mkdtempSync(path.join(tmp, 'empty-'));
    expect(load(empty)).toThrow(/cannot read config\.json/);
    fs.writeFileSync(path.join(empty, 'config.json'), '{ "d_model": 32,');
    expect(load(empty)).toThrow(/config\.json: not valid JSON/);
    fs.writeFileSync(path.join(empty, 'config.json'), JSON.stringify(c.config));
    expect(load(empty)).toThrow(/neither model\.safetensors nor model\.safetensors\.index\.json/);
    const index = (map: unknown) => fs.writeFileSync(path.join(empty, 'model.safetensors.index.json'), JSON.stringify({ weight_map: map }));
    index({ 'shared.weight': 'nope.safetensors' });
    expect(load(empty)).toThrow(/nope\.safetensors/);
    index({ 'shared.weight': '../escape.safetensors' });
    expect(load(empty)).toThrow(/weight_map\['shared\.weight'\] must be a shard file name in the same folder/);
    fs.writeFileSync(path.join(empty, 'part.safetensors'), writeSafetensors({ x: { shape: [1], data: new Float32Array(1) } }));
    index({ 'shared.weight': 'part.safetensors' });
    expect(load(empty)).toThrow(/tensor 'shared\.weight' is mapped to part\.safetensors, which does not hold it/);
    index([1, 2]);
    expect(load(empty)).toThrow(/"weight_map" must be an object/);
    expect(() => LongT5ForConditionalGeneration.fromPretrained(path.join(tmp, 'does-not-exist'))).toThrow(/cannot read config\.json/);
    expect(() => LongT5ForConditionalGeneration.fromPretrained(42 as any)).toThrow(TypeError);
    expect(() => LongT5ForConditionalGeneration.fromSafetensors(path.join(tmp, 'none.safetensors'), c.config as any)).toThrow(/cannot open/);
    expect(() => LongT5ForConditionalGeneration.fromSafetensors(path.join(c.dir, 'model.safetensors'), undefined as any)).toThrow(TypeError);
  });
});

describe('bad config values are refused, naming the field', () => {
  const base = c.config;
  const cases: [string, Record<string, unknown>, RegExp, ErrorConstructor][] = [
    ['unsupported activation', { feed_forward_proj: 'gated-silu', dense_act_fn: undefined }, /feed_forward_proj: activation "silu" is not supported/, RangeError],
    ['erf gelu via dense_act_fn', { dense_act_fn: 'gelu' }, /config\.dense_act_fn: activation "gelu" is not supported/, RangeError],
    ['malformed feed_forward_proj', { feed_forward_proj: 'double-gated-gelu' }, /config\.feed_forward_proj "double-gated-gelu" is not a valid activation/, RangeError],
    ['attention type', { encoder_attention_type: 'global' }, /config\.encoder_attention_type must be 'local' or 'transient-global'/, RangeError],
    ['negative d_model', { d_model: -1 }, /config\.d_model must be in \[1, /, RangeError],
    ['fractional num_heads', { num_heads: 1.5 }, /config\.num_heads must be an integer/, RangeError],
    ['string d_kv', { d_kv: '8' }, /config\.d_kv must be a number/, TypeError],
    ['missing vocab_size', { vocab_size: undefined }, /config\.vocab_size is required/, TypeError],
    ['NaN epsilon', { layer_norm_epsilon: NaN }, /config\.layer_norm_epsilon must be a finite number >= 0/, RangeError],
    ['eos outside the vocabulary', { eos_token_id: 64 }, /config\.eos_token_id must be an integer in \[0, vocab_size 64\)/, RangeError],
    ['pad outside the vocabulary', { pad_token_id: -1 }, /config\.pad_token_id must be in \[0, 63\]/, RangeError],
    ['tie flag not boolean', { tie_word_embeddings: 'yes' }, /config\.tie_word_embeddings must be a boolean/, TypeError],
    ['too few buckets', { relative_attention_num_buckets: 1 }, /config\.relative_attention_num_buckets must be in \[2, /, RangeError],
    ['global block of 0', { global_block_size: 0 }, /config\.global_block_size must be in \[1, /, RangeError],
  ];
  test.each(cases)('%s', (_, overrides, message, type) => {
    const cfg = { ...base, ...overrides };
    expect(() => resolveModelConfig(cfg)).toThrow(message);
    expect(() => resolveModelConfig(cfg)).toThrow(type);
    expect(() => LongT5ForConditionalGeneration.fromSafetensors(path.join(c.dir, 'model.safetensors'), cfg as any)).toThrow(message);
  });
  test('not an object', () => {
    for (const x of [null, 42, 'config', [1], new Float32Array(2)]) expect(() => resolveModelConfig(x)).toThrow(TypeError);
  });
  test('unknown fields are ignored; HF defaults apply', () => {
    const r = resolveModelConfig({ vocab_size: 10, d_model: 8, d_kv: 4, d_ff: 16, num_layers: 1, num_heads: 2, whatever: { x: 1 }, architectures: ['X'] });
    expect(r).toMatchObject({ local_radius: 127, global_block_size: 16, encoder_attention_type: 'local', feed_forward_proj: 'relu', dense_act_fn: 'relu', is_gated_act: false, tie_word_embeddings: true, num_decoder_layers: 1, eos_token_id: 1, pad_token_id: 0, decoder_start_token_id: 0 });
  });
});

describe('bad call arguments: TypeError / RangeError naming the argument', () => {
  const ids = c.inputIds;
  const mask = c.attentionMask;
  const gen = { attentionMask: mask, maxNewTokens: 3 };

  test('token ids', () => {
    expect(() => model.encode(new Int32Array([1, 64]))).toThrow(/inputIds: id 64 at \[0, 1\] is not in \[0, vocab_size 64\)/);
    expect(() => model.encode(new Int32Array([-1]))).toThrow(RangeError);
    expect(() => model.encode(BigInt64Array.from([1n, 2n ** 40n]))).toThrow(/id 1099511627776 at \[0, 1\]/);
    expect(() => model.encode(new Float32Array([1, 2]) as any)).toThrow(/inputIds must be an Int32Array or BigInt64Array/);
    expect(() => model.encode([1, 2] as any)).toThrow(TypeError);
    expect(() => model.encode({ data: new Int32Array(6), dims: [2, 2] })).toThrow(/inputIds has 6 ids but its dims \[2, 2\] need 4/);
    expect(() => model.encode({ data: new Int32Array(8), dims: [2, 2, 2] })).toThrow(/inputIds must have 2 dims/);
    expect(() => model.encode({ data: new Int32Array(4), dims: [2, -2] })).toThrow(RangeError);
    expect(() => model.encode({ type: 'float32', data: new Int32Array(4), dims: [2, 2] } as any)).toThrow(/int32 or int64/);
    expect(() => model.generate(new Int32Array([99]), { maxNewTokens: 2 })).toThrow(/inputIds: id 99/);
  });

  test('masks', () => {
    expect(() => model.encode(ids, { attentionMask: new Int32Array(3) })).toThrow(/options\.attentionMask has 3 elements but \[2, 37\] needs 74/);
    const two = Int32Array.from(mask.data);
    two[5] = 2;
    expect(() => model.encode(ids, { attentionMask: { data: two, dims: mask.dims } })).toThrow(/options\.attentionMask.* is 2 \(row 0, column 5\)/);
    expect(() => model.encode(ids, { attentionMask: new Float32Array(74) as any })).toThrow(/attentionMask must be an Int32Array or Uint8Array/);
    expect(() => model.encode(ids, { attentionMask: { data: mask.data, dims: [37, 2] } })).toThrow(/must have dims \[2, 37\]/);
    expect(() => model.generate(ids, { ...gen, attentionMask: BigInt64Array.from([1n, 3n]) })).toThrow(RangeError);
  });

  test('options', () => {
    expect(() => model.encode(ids, { attention_mask: mask } as any)).toThrow(/unknown option 'attention_mask'/);
    expect(() => model.generate(ids, undefined as any)).toThrow(/maxNewTokens/);
    expect(() => model.generate(ids, { attentionMask: mask } as any)).toThrow(/options\.maxNewTokens is required/);
    expect(() => model.generate(ids, { ...gen, maxNewTokens: -1 })).toThrow(/options\.maxNewTokens must be >= 0/);
    expect(() => model.generate(ids, { ...gen, maxNewTokens: 1.5 })).toThrow(/options\.maxNewTokens must be an integer/);
    expect(() => model.generate(ids, { ...gen, maxNewTokens: Infinity })).toThrow(RangeError);
    expect(() => model.generate(ids, { ...gen, numBeams: 0 })).toThrow(/options\.numBeams must be >= 1/);
    expect(() => model.generate(ids, { ...gen, signal: {} as any })).toThrow(/options\.signal must be an AbortSignal/);
    expect(() => model.generate(ids, { ...gen, onProgress: 5 as any })).toThrow(/options\.onProgress must be a function/);
    expect(() => model.generate(ids, { ...gen, threads: -1 })).toThrow(/options\.threads/);
    expect(() => model.generate(ids, { ...gen, max_new_tokens: 3 } as any)).toThrow(/unknown option 'max_new_tokens'/);
  });

  test('forward arguments', () => {
    const dec = c.decoderInputIds;
    expect(() => model.forward(undefined as any)).toThrow(TypeError);
    expect(() => model.forward({ inputIds: ids } as any)).toThrow(/decoderInputIds is required/);
    expect(() => model.forward({ decoderInputIds: dec } as any)).toThrow(/inputIds is required \(or encoderOutput\)/);
    expect(() => model.forward({ inputIds: ids, decoderInputIds: { data: dec.data.slice(0, 12), dims: [1, 12] } })).toThrow(/decoderInputIds has B = 1 rows but the encoder input has 2/);
    expect(() => model.forward({ encoderOutput: { data: new Float32Array(2 * 37 * 16), dims: [2, 37, 16] }, decoderInputIds: dec })).toThrow(/encoderOutput must be \[B, N, d_model 32\]/);
    expect(() => model.forward({ inputIds: ids, decoderInputIds: { data: new Int32Array(0), dims: [2, 0] } })).toThrow(/at least one position/);
    expect(() => model.forward({ inputIds: ids, decoderInputIds: dec, extra: 1 } as any)).toThrow(/unknown option 'extra'/);
    expect(() => model.forward({ inputIds: ids, attentionMask: new Int32Array(5), decoderInputIds: dec })).toThrow(/^attentionMask has 5 elements/);
    expect(() => model.generate(ids, { attentionMask: new Int32Array(5), maxNewTokens: 1 })).toThrow(/^options\.attentionMask has 5 elements/);
    expect(() => model.forward({ inputIds: { data: new Int32Array(0), dims: [0, 5] }, decoderInputIds: { data: new Int32Array(0), dims: [0, 1] } })).toThrow(/B >= 1 and N >= 1/);
  });

  test('async forms reject (never throw) on bad input', async () => {
    const calls: [() => Promise<unknown>, string][] = [
      [() => model.encodeAsync(new Int32Array([64])), 'RangeError'],
      [() => model.forwardAsync({ inputIds: ids } as any), 'TypeError'],
      [() => model.generateAsync(ids, { maxNewTokens: -1 }), 'RangeError'],
      [() => model.generateAsync(ids, { ...gen, numBeams: 0 }), 'RangeError'],
      [() => model.generateAsync(ids, { ...gen, signal: 'stop' as any }), 'TypeError'],
    ];
    for (const [f, name] of calls) {
      let p: Promise<unknown> | undefined;
      expect(() => {
        p = f();
      }).not.toThrow();
      await expect(p).rejects.toMatchObject({ name });
    }
  });

  test('an onProgress that throws ends generation with that error; the model stays usable', async () => {
    const boom = new Error('boom');
    await expect(model.generateAsync(ids, { ...gen, onProgress: () => { throw boom; } })).rejects.toBe(boom);
    expect(() => model.generate(ids, { ...gen, numBeams: 2, onProgress: () => { throw boom; } })).toThrow(boom);
    expect(model.generate(ids, { attentionMask: mask, maxNewTokens: 12 }).data).toEqual(c.greedy.data);
  });

  test('a disposed model throws a clear Error', async () => {
    const m = LongT5EncoderModel.fromPretrained(c.dir);
    m.dispose();
    expect(() => m.encode(ids)).toThrow(/disposed/);
    await expect(m.encodeAsync(ids)).rejects.toThrow(/disposed/);
    m.dispose();  // twice is fine
  });
});

describe('the raw binding rejects garbage without crashing', () => {
  test('handles are type-checked', () => {
    const handle = (model as any).handle;
    const session = native.decoderCreate({ model: handle, B: 1, N: 1, beams: 1 });
    expect(() => native.modelSetWeight({} as any, 'shared.weight', new Float32Array(1))).toThrow(/model must be a model handle/);
    expect(() => native.modelScratchBytes({} as any)).toThrow(/model must be a model handle/);
    expect(() => native.modelReleaseScratch(session as any)).toThrow(/model must be a model handle/);
    expect(() => (native.modelScratchBytes as any)()).toThrow(/model must be a model handle/);
    expect(() => native.modelEncode({ model: session as any, ids: new Int32Array(1), B: 1, N: 1, out: new Float32Array(32) })).toThrow(/model must be a model handle/);
    expect(() => native.decoderStep({ session: handle as any, ids: new Int32Array(1), T: 1, logits: new Float32Array(64) })).toThrow(/session must be a decoder session handle/);
    expect(() => native.decoderStep({ session, ids: new Int32Array(1), T: 1, logits: new Float32Array(64) })).toThrow(/has not been started/);
    native.decoderStart({ session, encoderOutput: new Float32Array(32) });
    expect(() => native.decoderStep({ session, ids: new Int32Array([64]), T: 1, logits: new Float32Array(64) })).toThrow(/ids\[0\] = 64 is not a token id/);
    expect(() => native.decoderStep({ session, ids: new Int32Array([1]), T: 1, logits: new Float32Array(63) })).toThrow(/logits has 63 elements/);
    expect(() => native.decoderReorder({ session, rows: new Int32Array([1]) })).toThrow(/rows\[0\] is not a row/);
    expect(() => native.decoderStep({ session, ids: new Int32Array([1]), T: 1, logits: new Float32Array(64), reorder: new Int32Array([3]) })).toThrow(/reorder\[0\] is not a row/);
    expect(() => native.decoderStep({ session, ids: new Int32Array([1]), T: 1, logits: new Float32Array(64), reorder: new Int32Array(2) })).toThrow(/reorder has 2 elements/);
    expect(() => native.modelSetWeight(handle, 'shared.weight', new Float32Array(64 * 32))).toThrow(/finalized/);
    expect(() => native.modelEncode({ model: handle, ids: new Int32Array([0, 70]), B: 1, N: 2, out: new Float32Array(64) })).toThrow(/ids\[1\] = 70/);
    native.decoderDispose(session);
    expect(() => native.decoderLength(session)).toThrow(/disposed/);
  });

  test('a busy session refuses a second call', async () => {
    const handle = (model as any).handle;
    const session = native.decoderCreate({ model: handle, B: 1, N: 1, beams: 1 });
    const p = native.decoderStartAsync({ session, encoderOutput: new Float32Array(32) });
    expect(() => native.decoderStep({ session, ids: new Int32Array([1]), T: 1, logits: new Float32Array(64) })).toThrow(/busy|not been started/);
    await p;
    native.decoderStep({ session, ids: new Int32Array([1]), T: 1, logits: new Float32Array(64) });
    expect(native.decoderLength(session)).toBe(1);
    native.decoderDispose(session);
  });

  test('weights: unknown names, wrong lengths', () => {
    const m = native.modelCreate({
      vocab: 4, dModel: 2, dKv: 1, heads: 2, dFf: 3, encoderLayers: 1, decoderLayers: 1, localRadius: 1, globalBlockSize: 2,
      numBuckets: 4, maxDistance: 8, eps: 1e-6, transientGlobal: false, gated: false, activation: 'relu', tied: true, decoder: false,
    });
    expect(() => native.modelSetWeight(m, 'nope', new Float32Array(1))).toThrow(/no weight named 'nope'/);
    expect(() => native.modelSetWeight(m, 'shared.weight', new Float32Array(7))).toThrow(/has 7 elements, expected 8/);
    expect(native.modelFinalize(m)).toContain('shared.weight');
    expect(() => native.modelEncode({ model: m, ids: new Int32Array(1), B: 1, N: 1, out: new Float32Array(2) })).toThrow(/not all loaded/);
    // (native errors come from the main realm, so match messages, not jest's realm's classes)
    expect(() => native.modelCreate({} as any)).toThrow(/vocab must be a number/);
    expect(() => native.modelCreate({ vocab: 4, dModel: 2 ** 40 } as any)).toThrow(/dModel is too large/);
    native.modelDispose(m);
  });
});

describe('raw binding fuzz: one field off at a time, never a crash', () => {
  const rng = (() => {
    let a = 12345;
    return () => {
      a = (a * 1103515245 + 12345) >>> 0;
      return a / 2 ** 32;
    };
  })();
  const detached = () => {
    const a = new Float32Array(4);
    structuredClone(a.buffer, { transfer: [a.buffer] });
    return a;
  };
  const odd = (): unknown[] => [undefined, null, -1, 0, 1, 3, 2 ** 31, 2 ** 53, NaN, Infinity, 1.5, 'x', {}, [], true,
    new Float32Array(0), new Float32Array(5), new Int32Array(3), new Uint8Array(2), new BigInt64Array(1), detached()];

  test('model entry points return, throw or reject an Error — and the process survives', async () => {
    const handle = (model as any).handle;
    const C = 32, V = 64, N = 5;
    const session = native.decoderCreate({ model: handle, B: 1, N, beams: 2 });
    native.decoderStart({ session, encoderOutput: new Float32Array(N * C) });
    const valid: Record<string, () => Record<string, unknown>> = {
      modelEncode: () => ({ model: handle, ids: new Int32Array(N), B: 1, N, out: new Float32Array(N * C) }),
      modelEncodeAsync: () => ({ model: handle, ids: new Int32Array(N), B: 1, N, out: new Float32Array(N * C), mask: new Uint8Array(N).fill(1) }),
      decoderCreate: () => ({ model: handle, B: 1, N, beams: 2 }),
      decoderStart: () => ({ session: native.decoderCreate({ model: handle, B: 1, N, beams: 1 }), encoderOutput: new Float32Array(N * C) }),
      decoderStep: () => ({ session, ids: new Int32Array(2), T: 1, logits: new Float32Array(2 * V), lastOnly: true }),
      decoderStepAsync: () => ({ session, ids: new Int32Array(2), T: 1, logits: new Float32Array(2 * V), lastOnly: true, reorder: new Int32Array([1, 0]) }),
      decoderReorder: () => ({ session, rows: new Int32Array([1, 1]) }),
    };
    let calls = 0;
    for (let iter = 0; iter < 400; iter++) {
      for (const [fn, make] of Object.entries(valid)) {
        const args = make();
        const keys = Object.keys(args);
        const key = keys[Math.floor(rng() * keys.length)];
        const values = odd();
        args[key] = values[Math.floor(rng() * values.length)];
        try {
          const r = (native as any)[fn](args);
          if (r && typeof r.then === 'function') await r.catch((e: unknown) => expect(['TypeError', 'RangeError', 'Error']).toContain((e as Error).name));
        } catch (e) {
          expect(['TypeError', 'RangeError', 'Error']).toContain((e as Error).name);
        }
        calls++;
      }
    }
    expect(calls).toBe(400 * Object.keys(valid).length);
    // still alive and correct
    expect(model.generate(c.inputIds, { attentionMask: c.attentionMask, maxNewTokens: 12 }).data).toEqual(c.greedy.data);
    native.decoderDispose(session);
  });
});

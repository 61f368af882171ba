// The bench's anchor (bench/common/hf-longt5-export.ts, a replica of Hugging Face's exported
// transient-global LongT5 encoder) run by ONNX Runtime equals the native encode() and Hugging
// Face's own float64 outputs on the whole-model fixtures, padded rows included; and encode() on a
// random checkpoint with many local blocks and global tokens (side distances in T5's log buckets),
// right- and left-padded rows, N a multiple of the block length or not.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { LongT5EncoderModel } from '../lib/index';
import { OnnxSession } from '../lib/onnx';
import { buildHfLongT5EncoderExport } from '../bench/common/hf-longt5-export';
import { randomConfig, randomWeights, writeCheckpoint } from '../bench/model-weights';
import { mulberry32 } from '../lib/random';
import { loadModelCase, modelCases, relError } from './helpers/model-fixtures';

const toI64 = (a: ArrayLike<number>) => BigInt64Array.from(Array.from(a, (x) => BigInt(x)));

async function runAnchor(bytes: Uint8Array, ids: Int32Array, mask: Int32Array, dims: number[]): Promise<Float32Array> {
  const s = await OnnxSession.create(bytes, { intraOpNumThreads: 1 });
  try {
    const out = await s.run({ input_ids: { data: toI64(ids), dims }, attention_mask: { data: toI64(mask), dims } });
    expect(out.last_hidden_state.dims.slice(0, 2)).toEqual(dims);
    return out.last_hidden_state.data as Float32Array;
  } finally {
    await s.release();
  }
}

const tglobalCases = modelCases().filter((n) => loadModelCase(n).config.encoder_attention_type === 'transient-global');

test('three transient-global fixture cases', () => {
  expect(tglobalCases).toEqual(['tglobal_n_lt_g', 'tglobal_tiny_pad', 'tied_relu_tglobal_leftpad']);
});

test.each(tglobalCases)('%s: ORT on the HF-export replica == encode() == HF', async (name) => {
  const c = loadModelCase(name);
  const d = c.config.d_model as number;
  const [B, N] = c.inputIds.dims;
  const enc = LongT5EncoderModel.fromPretrained(c.dir);
  try {
    const native = enc.encode(c.inputIds, { attentionMask: c.attentionMask });
    const bytes = buildHfLongT5EncoderExport(enc.config, enc.weightsForExport(), { batch: B, seqLen: N });
    const got = await runAnchor(bytes, c.inputIds.data, c.attentionMask.data, c.inputIds.dims);
    expect(got.length).toBe(B * N * d);
    const vsNative = relError(got, Float64Array.from(native.data), d, c.attentionMask.data);
    const vsHf = relError(got, c.encoder, d, c.attentionMask.data);
    expect(vsNative).toBeLessThan(1e-4);
    expect(vsHf).toBeLessThan(1e-4);
  } finally {
    enc.dispose();
  }
});

describe('random checkpoint: r 7 (blocks of 8), g 4, three rows (full, right-padded, left-padded)', () => {
  const config = randomConfig({ d_model: 32, d_kv: 8, num_heads: 4, d_ff: 48, num_layers: 2, local_radius: 7, global_block_size: 4, vocab_size: 64 });
  let dir = '';
  let enc: LongT5EncoderModel;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ga-bench-anchor-'));
    writeCheckpoint(dir, config, randomWeights(config, 20261207, { decoder: false }));
    enc = LongT5EncoderModel.fromPretrained(dir);
  });
  afterAll(() => {
    enc?.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test.each([300, 256])('N = %i: ORT on the replica == encode() on every valid row', async (N) => {
    const B = 3;
    const rand = mulberry32(N);
    const ids = Int32Array.from({ length: B * N }, () => 2 + Math.floor(rand() * 62));
    const mask = new Int32Array(B * N).fill(1);
    mask.fill(0, N + N - 70, 2 * N); // row 1: 70 padding tokens at the end
    mask.fill(0, 2 * N, 2 * N + 41); // row 2: 41 padding tokens first
    for (let i = 0; i < B * N; i++) if (!mask[i]) ids[i] = 0;
    const native = enc.encode({ data: ids, dims: [B, N] }, { attentionMask: { data: mask, dims: [B, N] } });
    const bytes = buildHfLongT5EncoderExport(enc.config, enc.weightsForExport(), { batch: B, seqLen: N });
    const got = await runAnchor(bytes, ids, mask, [B, N]);
    expect(relError(got, Float64Array.from(native.data), config.d_model, mask)).toBeLessThan(1e-4);
  });

  test('refuses what it does not replicate', () => {
    expect(() => buildHfLongT5EncoderExport({ ...enc.config, encoder_attention_type: 'local' }, enc.weightsForExport(), { batch: 1, seqLen: 8 })).toThrow(/transient-global/);
    expect(() => buildHfLongT5EncoderExport(enc.config, enc.weightsForExport(), { batch: 1, seqLen: 0 })).toThrow(/shape.seqLen/);
    const missing = enc.weightsForExport();
    missing.delete('encoder.block.1.layer.0.TransientGlobalSelfAttention.q.weight');
    expect(() => buildHfLongT5EncoderExport(enc.config, missing, { batch: 1, seqLen: 8 })).toThrow(/block\.1.*q\.weight/);
  });
});

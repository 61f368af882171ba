// The bench's anchor (bench/common/hf-longt5-export.ts, a replica of Hugging Face's exported
// transient-global LongT5 encoder) run by ONNX Runtime equals the native encode() and Hugging
// Face's own float64 outputs on the whole-model fixtures, padded rows included.
import { LongT5EncoderModel } from '../lib/index';
import { OnnxSession } from '../lib/onnx';
import { buildHfLongT5EncoderExport } from '../bench/common/hf-longt5-export';
import { loadModelCase, modelCases, relError } from './helpers/model-fixtures';

const toI64 = (a: ArrayLike<number>) => BigInt64Array.from(Array.from(a, (x) => BigInt(x)));

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
    const s = await OnnxSession.create(bytes, { intraOpNumThreads: 1 });
    let got: Float32Array;
    try {
      const dims = c.inputIds.dims;
      const out = await s.run({ input_ids: { data: toI64(c.inputIds.data), dims }, attention_mask: { data: toI64(c.attentionMask.data), dims } });
      expect(out.last_hidden_state.dims).toEqual([B, N, d]);
      got = out.last_hidden_state.data as Float32Array;
    } finally {
      await s.release();
    }
    const vsNative = relError(got, Float64Array.from(native.data), d, c.attentionMask.data);
    const vsHf = relError(got, c.encoder, d, c.attentionMask.data);
    expect(vsNative).toBeLessThan(1e-4);
    expect(vsHf).toBeLessThan(1e-4);
  } finally {
    enc.dispose();
  }
});

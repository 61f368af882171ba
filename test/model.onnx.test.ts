// toOnnx() on both model classes: ONNX Runtime running the exported encoder agrees with the native
// encode() (and with Hugging Face's float64 output) on every fixture case; exportOnnx() writes it.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { LongT5EncoderModel, LongT5ForConditionalGeneration, exportOnnx } from '../lib/index';
import { OnnxSession } from '../lib/onnx';
import { loadModelCase, modelCases, relError } from './helpers/model-fixtures';

const toI64 = (a: ArrayLike<number>) => BigInt64Array.from(Array.from(a, (x) => BigInt(x)));

async function runOnnxEncoder(bytes: Uint8Array, ids: Int32Array, mask: Int32Array, dims: number[]): Promise<Float32Array> {
  const s = await OnnxSession.create(bytes, { intraOpNumThreads: 1 });
  try {
    const out = await s.run({ input_ids: { data: toI64(ids), dims }, attention_mask: { data: toI64(mask), dims } });
    expect(out.last_hidden_state.dims).toEqual([...dims, out.last_hidden_state.dims[2]]);
    return out.last_hidden_state.data as Float32Array;
  } finally {
    await s.release();
  }
}

test.each(modelCases())('%s: ORT on toOnnx() == encode() == HF, for both classes', async (name) => {
  const c = loadModelCase(name);
  const d = c.config.d_model as number;
  const full = LongT5ForConditionalGeneration.fromPretrained(c.dir);
  const enc = LongT5EncoderModel.fromPretrained(c.dir);
  const native = full.encode(c.inputIds, { attentionMask: c.attentionMask });
  for (const bytes of [full.toOnnx(), enc.toOnnx()]) {
    const ort = await runOnnxEncoder(bytes, c.inputIds.data, c.attentionMask.data, c.inputIds.dims);
    expect(relError(ort, Float64Array.from(native.data), d, c.attentionMask.data)).toBeLessThan(1e-4);
    expect(relError(ort, c.encoder, d, c.attentionMask.data)).toBeLessThan(1e-4);
  }
  full.dispose();
  enc.dispose();
});

test('exportOnnx(model, path) writes the same bytes as toOnnx()', () => {
  const c = loadModelCase('tglobal_tiny_pad');
  const m = LongT5EncoderModel.fromPretrained(c.dir);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ga-model-onnx-'));
  try {
    const file = path.join(dir, 'encoder.onnx');
    exportOnnx(m, file);
    expect(new Uint8Array(fs.readFileSync(file))).toEqual(m.toOnnx());
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

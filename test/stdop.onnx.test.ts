// lib/onnx's dense builders with the standard operator's fields: bad specs name the field, the
// mask-term options (causalOffset, window) also run through com.microsoft MultiHeadAttention, and
// crossCheck('dense') takes the options.
import { attention, crossCheck } from '../lib/index';
import { DenseOnnxSpec, buildDenseAttentionModel, runOnnx } from '../lib/onnx';
import { mulberry32, randomTensor } from './helpers/fixtures';

const base: DenseOnnxSpec = { op: 'Attention', numHeads: 2, headSize: 4 };

describe('bad standard fields of a DenseOnnxSpec', () => {
  const bad: [Partial<DenseOnnxSpec> & Record<string, unknown>, typeof TypeError | typeof RangeError, RegExp][] = [
    [{ softcap: 0 }, RangeError, /DenseOnnxSpec\.softcap must be a finite number > 0/],
    [{ softcap: NaN }, RangeError, /DenseOnnxSpec\.softcap/],
    [{ causalOffset: 1.5 }, RangeError, /DenseOnnxSpec\.causalOffset must be an integer/],
    [{ window: [1] as unknown as [number, number] }, TypeError, /DenseOnnxSpec\.window must be \[left, right\]/],
    [{ window: [-1, 2] }, RangeError, /DenseOnnxSpec\.window\[0\]/],
    [{ causalMode: 'top-left' as 'native' }, RangeError, /DenseOnnxSpec\.causalMode/],
    [{ causalMode: 'native' }, RangeError, /causalMode 'native' needs causal: true/],
    [{ causalMode: 'native', causal: true, causalOffset: 2 }, RangeError, /causalOffset cannot be given with causalMode 'native'/],
    [{ pastLength: -1 }, RangeError, /DenseOnnxSpec\.pastLength/],
    [{ pastLength: 2, keyLengths: true }, RangeError, /no keyLengths .* together with pastLength/],
    [{ scores: 'raw' as 'matmul' }, RangeError, /DenseOnnxSpec\.scores must be one of matmul, softcapped, masked, softmax/],
    [{ inputRank: 2 as 3 }, RangeError, /DenseOnnxSpec\.inputRank must be 3 or 4/],
    [{ op: 'MultiHeadAttention', softcap: 2 }, RangeError, /DenseOnnxSpec\.softcap needs op 'Attention'/],
    [{ op: 'MultiHeadAttention', keyLengths: true }, RangeError, /DenseOnnxSpec\.keyLengths needs op 'Attention'/],
    [{ op: 'MultiHeadAttention', scores: 'softmax' }, RangeError, /DenseOnnxSpec\.scores needs op 'Attention'/],
  ];
  for (const [fields, Err, msg] of bad)
    test(JSON.stringify(fields), () => {
      const spec = { ...base, ...fields } as DenseOnnxSpec;
      expect(() => buildDenseAttentionModel(spec)).toThrow(Err);
      expect(() => buildDenseAttentionModel(spec)).toThrow(msg);
    });
});

describe('causalOffset and window as mask terms, through both ORT ops', () => {
  for (const op of ['Attention', 'MultiHeadAttention'] as const)
    for (const [name, o] of [
      ['window, no causal', { window: [3, 2] as [number, number] }],
      ['causal, moved diagonal, open right', { causal: true, causalOffset: 4, window: [5, Infinity] as [number, number] }],
    ] as const)
      test(`${op}: ${name}`, async () => {
        const rng = mulberry32(12);
        const [B, H, Nq, Nk, D] = [2, 2, 11, 17, 4];
        const q = randomTensor(rng, [B, H, Nq, D]);
        const k = randomTensor(rng, [B, H, Nk, D]);
        const v = randomTensor(rng, [B, H, Nk, D]);
        const spec: DenseOnnxSpec = { op, numHeads: H, headSize: D, ...o };
        const r = await runOnnx(buildDenseAttentionModel(spec), { q, k, v }, { intraOpNumThreads: 1 });
        const ours = attention(q, k, v, o);
        const got = r.out.data as Float32Array;
        for (let i = 0; i < got.length; i++) expect(Math.abs(got[i] - ours.data[i])).toBeLessThan(1e-5);
      });
});

describe("crossCheck('dense') with the standard options", () => {
  test('softcap, moved diagonal, window, key lengths and every score stage agree with ORT', async () => {
    for (const returnScores of ['matmul', 'softcapped', 'masked', 'softmax'] as const) {
      const r = await crossCheck('dense', {
        batch: 2, seqLen: 40, seed: 5,
        options: { causal: true, causalOffset: 3, softcap: 1.5, window: [9, Infinity], keyLengths: new Int32Array([40, 25]), returnScores },
      });
      expect(r.outputs.map((o) => o.name)).toEqual(['out', `scores (${returnScores})`]);
      for (const o of r.outputs) expect(o.maxRel).toBeLessThan(1e-4);
      expect(r.ok).toBe(true);
      expect(r.inputDims.key_lengths).toEqual([2]);
    }
  });

  test('bad options name the option', async () => {
    await expect(crossCheck('dense', { options: { softcap: -1 } })).rejects.toThrow(/options\.softcap/);
    await expect(crossCheck('dense', { options: { causalOffset: new Int32Array(2) as unknown as number } })).rejects.toThrow(/causalOffset must be a number here/);
    await expect(crossCheck('dense', { options: { relativeBias: {} } as never })).rejects.toThrow(/unknown option 'relativeBias'/);
  });
});

// The LongT5 layers with options.precision 'bf16' / 'fp16' (lib/longt5.ts): on every layer fixture
// (tglobal_layer_*, local_layer_*, dense_t5layer_*) and every (ISA, bf16 kernels) path, within
// 2e-2 (bf16) / 5e-3 (fp16) x max|out| of the float32 forward and of Hugging Face's float64 output
// on the rows that count; different from float32 (the option is applied); async == sync bit for
// bit; 'fp32' == the default bit for bit; bad values are errors naming options.precision.
import { LongT5Attention, LongT5LocalAttention, LongT5TransientGlobalAttention, Tensor } from '../lib/index';
import { Fixture, allFinite, listFixtures, loadFixture } from './helpers/fixtures';
import { LayerKind, rowError } from './helpers/longt5-reference';
import { fp16Paths, precisionPaths, withPath, withPathAsync } from './helpers/precision';

const TOL = { bf16: 2e-2, fp16: 5e-3 } as const;
const CASES = [...listFixtures('tglobal_layer_'), ...listFixtures('local_layer_'), ...listFixtures('dense_t5layer_')];
const KIND: Record<string, LayerKind> = { tglobal_layer: 'tglobal', local_layer: 'local', dense_t5layer: 'full' };
const CLASSES = { tglobal: LongT5TransientGlobalAttention, local: LongT5LocalAttention, full: LongT5Attention };
const PATHS = precisionPaths();
// fp16: emulated once per ISA, and on each native float16 set (helpers/precision.ts).
const FP16_PATHS = fp16Paths(PATHS);

interface Case {
  fx: Fixture;
  kind: LayerKind;
  hidden: Tensor;
  mask: Int32Array;
  C: number;
  truth: Float64Array;
  keep: (row: number) => boolean;
  layer: InstanceType<(typeof CLASSES)[LayerKind]>;
}

function prepare(name: string): Case {
  const fx = loadFixture(name);
  const kind = KIND[fx.kind];
  const hidden = fx.tensor('hidden_states');
  const mask = fx.i32('attention_mask');
  const keep = kind === 'full' ? () => true : (row: number) => mask[row] === 1;
  const layer = CLASSES[kind].fromSafetensors(fx.file);
  return { fx, kind, hidden, mask, C: hidden.dims[2], truth: fx.f64('out_f64'), keep, layer };
}

function relTo(a: Float32Array, b: ArrayLike<number>, c: Case): number {
  const e = rowError(a, b, c.C, c.keep);
  expect(e.rows).toBeGreaterThan(0);
  return e.err / e.scale;
}

test('the layer fixtures and paths are here', () => {
  expect(CASES.length).toBe(14);
  expect(PATHS.length).toBeGreaterThanOrEqual(1);
});

describe.each(CASES)('%s', (name) => {
  let c: Case;
  let fp32: Float32Array;
  beforeAll(() => {
    c = prepare(name);
    fp32 = c.layer.forward(c.hidden, c.mask).data;
  });

  test("precision 'fp32' is the default, bit for bit", () => {
    expect(c.layer.forward(c.hidden, c.mask, { precision: 'fp32' }).data).toEqual(fp32);
  });

  test.each(PATHS.map((p) => [p.label, p] as const))('bf16 on %s: within 2e-2 x max|out| of float32 and of HF float64', (_, p) => {
    withPath(p, () => {
      const got = c.layer.forward(c.hidden, c.mask, { precision: 'bf16' }).data;
      expect(allFinite(got)).toBe(true);
      const vs32 = relTo(got, fp32, c);
      expect(vs32).toBeLessThanOrEqual(TOL.bf16);
      expect(vs32).toBeGreaterThan(0);  // the products really ran in bfloat16
      expect(relTo(got, c.truth, c)).toBeLessThanOrEqual(TOL.bf16);
    });
  });

  test.each(FP16_PATHS.map((p) => [p.label, p] as const))('fp16 on %s: within 5e-3 x max|out| of float32 and of HF float64', (_, p) => {
    withPath(p, () => {
      const got = c.layer.forward(c.hidden, c.mask, { precision: 'fp16' }).data;
      const vs32 = relTo(got, fp32, c);
      expect(vs32).toBeLessThanOrEqual(TOL.fp16);
      expect(vs32).toBeGreaterThan(0);
      expect(relTo(got, c.truth, c)).toBeLessThanOrEqual(TOL.fp16);
    });
  });

  test('forwardAsync with precision bf16 == forward, bit for bit', async () => {
    const p = PATHS[PATHS.length - 1];
    const sync = withPath(p, () => c.layer.forward(c.hidden, c.mask, { precision: 'bf16' }).data);
    const got = await withPathAsync(p, () => c.layer.forwardAsync(c.hidden, c.mask, { precision: 'bf16' }));
    expect(got.data).toEqual(sync);
  });
});

test('a packed batch (seqStarts) with precision bf16 equals each sequence alone', () => {
  const c = listFixtures('tglobal_layer_').map(prepare).find((x) => x.hidden.dims[0] >= 2)!;
  const [, N, C] = c.hidden.dims;
  const row = (b: number) => ({ data: c.hidden.data.slice(b * N * C, (b + 1) * N * C), dims: [1, N, C] });
  const a = c.layer.forward(row(0), undefined, { precision: 'bf16' }).data;
  const b = c.layer.forward(row(1), undefined, { precision: 'bf16' }).data;
  const packed = c.layer.forward({ data: c.hidden.data.slice(0, 2 * N * C), dims: [2 * N, C] }, undefined, {
    precision: 'bf16', seqStarts: Int32Array.from([0, N, 2 * N]),
  }).data;
  expect(packed.subarray(0, N * C)).toEqual(a);
  expect(packed.subarray(N * C)).toEqual(b);
});

test('bad precision values are errors naming options.precision', async () => {
  const c = prepare(CASES[0]);
  expect(() => c.layer.forward(c.hidden, c.mask, { precision: 'bf8' as never })).toThrow(RangeError);
  expect(() => c.layer.forward(c.hidden, c.mask, { precision: 'bf8' as never })).toThrow(/options\.precision/);
  expect(() => c.layer.forward(c.hidden, c.mask, { precision: 16 as never })).toThrow(TypeError);
  expect(() => c.layer.forward(c.hidden, c.mask, { precision: 16 as never })).toThrow(/options\.precision/);
  await expect(c.layer.forwardAsync(c.hidden, c.mask, { precision: 'BF16' as never })).rejects.toThrow(/options\.precision/);
});

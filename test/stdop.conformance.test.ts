// The ONNX Attention operator's published conformance cases (onnx/backend/test/case/node/
// attention.py, by their test names; opset 23, 24's nonpad_kv_seqlen, 25's windows) run through
// onnxAttention(), checked against a float64 reference of the operator written from its definition
// (test/helpers/onnx-attention-reference.ts) and, where ONNX Runtime implements the case, against
// ORT's own Attention. Inputs are the project's seeded RNG in [0, 1), as numpy.random.rand. Then
// bigger odd shapes, the async form and bad input.
//
// Tolerances: float32 results within 1e-5 (absolute + relative) of the float64 reference: a few
// float32 roundings of O(1) values. float16 / bfloat16 results are computed in float32 from the
// half inputs (the reference gets the same decoded values) and rounded once to the half type:
// float16's half-ulp is 2^-11 ≈ 4.9e-4 relative, bfloat16's 2^-8 ≈ 3.9e-3; we allow twice that.
import { onnxAttention, onnxAttentionAsync, OnnxAttentionInputs, OnnxAttentionResult, OnnxFloatTensor } from '../lib/index';
import { float32ToHalf, halfToFloat32, HalfType } from '../lib/half';
import { GraphBuilder, attr, runOnnx, type OnnxFeed } from '../lib/onnx';
import { mulberry32, type Rng } from './helpers/fixtures';
import { OpRefAttributes, OpRefInputs, OpRefOutputs, referenceOnnxAttention } from './helpers/onnx-attention-reference';

type Dtype = 'float32' | HalfType;

interface Case {
  name: string;
  rank: 3 | 4;
  B: number;
  H: number;
  Hk: number;
  Nq: number;
  /** New keys (K / V rows). */
  N: number;
  D: number;
  Dv: number;
  /** Past length: past_key / past_value given when defined. */
  P?: number;
  /** attn_mask dims (values from the RNG unless `values`); bool: rng() < 0.7 unless `values`. */
  mask?: { dims: number[]; bool?: boolean; values?: number[] };
  nonpad?: number[];
  attrs?: OpRefAttributes;
  /** The node's optional outputs. */
  present?: boolean;
  qk?: boolean;
  dtype?: Dtype;
  /** Changes the drawn inputs (structured cases). */
  edit?: (x: Drawn) => void;
  /** Why ONNX Runtime is not asked (it refuses or lacks the case). */
  noOrt?: string;
  /** Extra expectations on our result. */
  also?: (r: OnnxAttentionResult, ref: OpRefOutputs) => void;
}

/** Inputs as float32 values (rounded to the case's type when drawn) before conversion. */
interface Drawn {
  Q: Float32Array;
  K: Float32Array;
  V: Float32Array;
  mask?: Float32Array;
  pastK?: Float32Array;
  pastV?: Float32Array;
}

const P12 = 12;
const f4 = { rank: 4 as const, B: 2, H: 3, Hk: 3, Nq: 4, N: 6, D: 8, Dv: 8 };
const gqa4 = { ...f4, H: 9 };
const dh4 = { ...f4, Dv: 10 };
const f3 = { rank: 3 as const, B: 2, H: 3, Hk: 3, Nq: 4, N: 6, D: 8, Dv: 8, attrs: { q_num_heads: 3, kv_num_heads: 3 } };
const gqa3 = { ...f3, H: 9, attrs: { q_num_heads: 9, kv_num_heads: 3 } };
const dh3 = { ...f3, Dv: 10 };
const with3 = (c: { attrs: OpRefAttributes }, a: OpRefAttributes) => ({ ...c.attrs, ...a });
const pastMask = { dims: [4, 6 + P12] };
const WINDOWS = 'ORT 1.30 implements opset 23/24 Attention only (no opset-25 window attributes)';

const rowZero = (r: OnnxAttentionResult, rows: (i: number) => boolean, what: 'Y' | 'qk_matmul_output' = 'Y') => {
  const t = r[what]!;
  const [B, H, Nq] = t.dims;
  const cols = t.dims[3];
  const data = values(t);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < Nq; i++)
        if (rows(i)) for (let c = 0; c < cols; c++) expect(data[((b * H + h) * Nq + i) * cols + c]).toBe(0);
  for (const x of data) expect(Number.isFinite(x)).toBe(true);
};

const CASES: Case[] = [
  // --- opset 23, 4-D ---
  { name: 'test_attention_4d', ...f4 },
  { name: 'test_attention_4d_fp16', ...f4, dtype: 'float16' },
  { name: 'test_attention_4d_gqa', ...gqa4 },
  { name: 'test_attention_4d_diff_heads_sizes', ...dh4 },
  { name: 'test_attention_4d_scaled', ...f4, attrs: { scale: 1e-2 } },
  { name: 'test_attention_4d_gqa_scaled', ...gqa4, attrs: { scale: 1e-2 } },
  { name: 'test_attention_4d_diff_heads_sizes_scaled', ...dh4, attrs: { scale: 1e-2 } },
  { name: 'test_attention_4d_causal', ...f4, attrs: { is_causal: 1 } },
  { name: 'test_attention_4d_gqa_causal', ...gqa4, attrs: { is_causal: 1 } },
  { name: 'test_attention_4d_diff_heads_sizes_causal', ...dh4, attrs: { is_causal: 1 } },
  { name: 'test_attention_4d_attn_mask', ...f4, mask: { dims: [4, 6] } },
  { name: 'test_attention_4d_attn_mask_3d', ...f4, mask: { dims: [2, 1, 4, 6] } },
  { name: 'test_attention_4d_attn_mask_3d_causal', ...f4, mask: { dims: [2, 1, 4, 6] }, attrs: { is_causal: 1 } },
  { name: 'test_attention_4d_attn_mask_4d', ...f4, mask: { dims: [2, 3, 4, 6] } },
  { name: 'test_attention_4d_attn_mask_4d_causal', ...f4, mask: { dims: [2, 3, 4, 6] }, attrs: { is_causal: 1 } },
  { name: 'test_attention_4d_attn_mask_bool', ...f4, mask: { dims: [4, 6], bool: true } },
  { name: 'test_attention_4d_attn_mask_bool_4d', ...f4, mask: { dims: [2, 3, 4, 6], bool: true } },
  { name: 'test_attention_4d_gqa_attn_mask', ...gqa4, mask: { dims: [4, 6] } },
  { name: 'test_attention_4d_diff_heads_sizes_attn_mask', ...dh4, mask: { dims: [4, 6] } },
  { name: 'test_attention_4d_with_past_and_present', ...f4, P: P12, mask: pastMask, present: true },
  { name: 'test_attention_4d_gqa_with_past_and_present', ...gqa4, P: P12, mask: pastMask, present: true },
  { name: 'test_attention_4d_gqa_with_past_and_present_fp16', ...gqa4, P: P12, mask: pastMask, present: true, dtype: 'float16' },
  { name: 'test_attention_4d_diff_heads_with_past_and_present', ...dh4, P: P12, mask: pastMask, present: true },
  { name: 'test_attention_4d_diff_heads_with_past_and_present_mask3d', ...dh4, P: P12, mask: { dims: [2, 1, 4, 18] }, present: true },
  { name: 'test_attention_4d_diff_heads_with_past_and_present_mask4d', ...dh4, P: P12, mask: { dims: [2, 3, 4, 18] }, present: true },
  { name: 'test_attention_4d_softcap', ...f4, attrs: { softcap: 2 } },
  { name: 'test_attention_4d_gqa_softcap', ...gqa4, attrs: { softcap: 2 } },
  { name: 'test_attention_4d_diff_heads_sizes_softcap', ...dh4, attrs: { softcap: 2 } },
  { name: 'test_attention_4d_with_qk_matmul', ...f4, qk: true },
  { name: 'test_attention_4d_with_qk_matmul_bias', ...f4, mask: { dims: [4, 6] }, qk: true, attrs: { qk_matmul_output_mode: 2 } },
  { name: 'test_attention_4d_with_qk_matmul_bias, onnx 1.18 attributes (mode 1: today the softcap stage, without softcap = the matmul)', ...f4, mask: { dims: [4, 6] }, qk: true, attrs: { qk_matmul_output_mode: 1 } },
  { name: 'test_attention_4d_with_qk_matmul_softcap', ...f4, mask: { dims: [4, 6] }, qk: true, attrs: { softcap: 2, qk_matmul_output_mode: 1 } },
  { name: 'test_attention_4d_with_qk_matmul_softcap, onnx 1.18 attributes (mode 2: today after the mask)', ...f4, mask: { dims: [4, 6] }, qk: true, attrs: { softcap: 2, qk_matmul_output_mode: 2 } },
  { name: 'test_attention_4d_with_qk_matmul_softmax', ...f4, mask: { dims: [4, 6] }, qk: true, attrs: { qk_matmul_output_mode: 3 } },
  { name: 'test_attention_4d_with_past_and_present_qk_matmul_bias', ...f4, P: P12, mask: pastMask, present: true, qk: true, attrs: { qk_matmul_output_mode: 2 } },
  { name: 'test_attention_4d_with_past_and_present_qk_matmul_bias_3d_mask', ...f4, P: P12, mask: { dims: [2, 1, 4, 18] }, present: true, qk: true, attrs: { qk_matmul_output_mode: 2 } },
  { name: 'test_attention_4d_with_past_and_present_qk_matmul_bias_4d_mask', ...f4, P: P12, mask: { dims: [2, 3, 4, 18] }, present: true, qk: true, attrs: { qk_matmul_output_mode: 2 } },
  {
    name: 'test_attention_4d_with_past_and_present_qk_matmul_bias_3d_mask_causal', ...f4, P: P12, mask: { dims: [2, 1, 4, 18] }, present: true, qk: true,
    attrs: { qk_matmul_output_mode: 2, is_causal: 1 },
  },
  {
    name: 'test_attention_4d_with_past_and_present_qk_matmul_bias_4d_mask_causal', ...f4, P: P12, mask: { dims: [2, 3, 4, 18] }, present: true, qk: true,
    attrs: { qk_matmul_output_mode: 2, is_causal: 1 },
  },
  { name: 'test_attention_4d_with_past_and_present_qk_matmul', ...f4, P: P12, mask: pastMask, present: true, qk: true },
  // --- opset 23, 3-D ---
  { name: 'test_attention_3d', ...f3 },
  { name: 'test_attention_3d_gqa', ...gqa3 },
  { name: 'test_attention_3d_diff_heads_sizes', ...dh3 },
  { name: 'test_attention_3d_scaled', ...f3, attrs: with3(f3, { scale: 1e-2 }) },
  { name: 'test_attention_3d_gqa_scaled', ...gqa3, attrs: with3(gqa3, { scale: 1e-2 }) },
  { name: 'test_attention_3d_diff_heads_sizes_scaled', ...dh3, attrs: with3(dh3, { scale: 1e-2 }) },
  { name: 'test_attention_3d_causal', ...f3, attrs: with3(f3, { is_causal: 1 }) },
  { name: 'test_attention_3d_gqa_causal', ...gqa3, attrs: with3(gqa3, { is_causal: 1 }) },
  { name: 'test_attention_3d_diff_heads_sizes_causal', ...dh3, attrs: with3(dh3, { is_causal: 1 }) },
  { name: 'test_attention_3d_attn_mask', ...f3, mask: { dims: [4, 6] } },
  { name: 'test_attention_3d_gqa_attn_mask', ...gqa3, mask: { dims: [4, 6] } },
  { name: 'test_attention_3d_diff_heads_sizes_attn_mask', ...dh3, mask: { dims: [4, 6] } },
  { name: 'test_attention_3d_softcap', ...f3, attrs: with3(f3, { softcap: 3 }) },
  { name: 'test_attention_3d_gqa_softcap', ...gqa3, attrs: with3(gqa3, { softcap: 3 }) },
  { name: 'test_attention_3d_diff_heads_sizes_softcap', ...dh3, attrs: with3(dh3, { softcap: 3 }) },
  { name: 'test_attention_3d_with_past_and_present', ...f3, P: P12, mask: pastMask, present: true },
  { name: 'test_attention_3d_gqa_with_past_and_present', ...gqa3, P: P12, mask: pastMask, present: true },
  { name: 'test_attention_3d_diff_heads_with_past_and_present', ...dh3, P: P12, mask: pastMask, present: true },
  { name: 'test_attention_3d_with_past_and_present_qk_matmul', ...f3, P: P12, mask: pastMask, present: true, qk: true },
  { name: 'test_attention_3d_with_past_and_present_qk_matmul_bias', ...f3, P: P12, mask: pastMask, present: true, qk: true, attrs: with3(f3, { qk_matmul_output_mode: 2 }) },
  {
    name: 'test_attention_3d_with_past_and_present_qk_matmul_softcap', ...f3, P: P12, mask: pastMask, present: true, qk: true,
    attrs: with3(f3, { softcap: 2, qk_matmul_output_mode: 1 }),
  },
  { name: 'test_attention_3d_with_past_and_present_qk_matmul_softmax', ...f3, P: P12, mask: pastMask, present: true, qk: true, attrs: with3(f3, { qk_matmul_output_mode: 3 }) },
  {
    name: 'test_attention_3d_transpose_verification', rank: 3, B: 1, H: 3, Hk: 3, Nq: 2, N: 2, D: 4, Dv: 4, attrs: { q_num_heads: 3, kv_num_heads: 3 },
    edit: (x) => {
      // Q: head h holds h + 1 everywhere; K and V hold 0.1.
      for (let i = 0; i < x.Q.length; i++) x.Q[i] = Math.floor((i % 12) / 4) + 1;
      x.K.fill(Math.fround(0.1));
      x.V.fill(Math.fround(0.1));
    },
  },
  // --- fully-masked rows and softcap against -inf (opset 23) ---
  {
    name: 'test_attention_4d_softcap_neginf_mask', rank: 4, B: 1, H: 1, Hk: 1, Nq: 4, N: 6, D: 8, Dv: 8, attrs: { softcap: 0.5 },
    mask: { dims: [4, 6], values: Array.from({ length: 24 }, (_, i) => (i % 6 >= 4 ? -Infinity : 0)) },
  },
  {
    name: 'test_attention_4d_softcap_neginf_mask_poison', rank: 4, B: 1, H: 1, Hk: 1, Nq: 4, N: 6, D: 8, Dv: 8, attrs: { softcap: 0.5 },
    mask: { dims: [4, 6], values: Array.from({ length: 24 }, (_, i) => (i % 6 >= 4 ? -Infinity : 0)) },
    edit: (x) => x.V.fill(1000, 4 * 8),
    also: (r) => values(r.Y).forEach((y) => expect(y >= 0 && y <= 1).toBe(true)),
  },
  {
    name: 'test_attention_23_boolmask_fullymasked_row_nan_robustness', rank: 4, B: 1, H: 2, Hk: 2, Nq: 2, N: 2, D: 8, Dv: 8,
    mask: { dims: [2, 2], bool: true, values: [0, 0, 1, 1] }, also: (r) => rowZero(r, (i) => i === 0),
  },
  {
    name: 'test_attention_23_fullymasked_qk_matmul_output_mode3_zero', rank: 4, B: 1, H: 2, Hk: 2, Nq: 2, N: 2, D: 8, Dv: 8, qk: true,
    attrs: { qk_matmul_output_mode: 3 }, mask: { dims: [2, 2], bool: true, values: [0, 0, 1, 1] },
    also: (r) => {
      rowZero(r, (i) => i === 0);
      rowZero(r, (i) => i === 0, 'qk_matmul_output');
    },
  },
  // --- opset 24: nonpad_kv_seqlen, the bottom-right diagonal of external caches ---
  {
    name: 'test_attention_causal_boolmask_nan_robustness', rank: 4, B: 1, H: 2, Hk: 2, Nq: 2, N: 2, D: 8, Dv: 8, attrs: { is_causal: 1 },
    mask: { dims: [2, 2], bool: true, values: [1, 0, 0, 0] }, also: (r) => rowZero(r, (i) => i === 1),
  },
  {
    name: 'test_attention_24_fullymasked_qk_matmul_output_mode3_zero', rank: 4, B: 1, H: 2, Hk: 2, Nq: 2, N: 2, D: 8, Dv: 8, qk: true,
    attrs: { qk_matmul_output_mode: 3 }, mask: { dims: [2, 2], bool: true, values: [0, 0, 1, 1] },
    also: (r) => rowZero(r, (i) => i === 0, 'qk_matmul_output'),
  },
  {
    name: 'test_attention_24_qk_matmul_output_mode3_softmax_precision', rank: 4, B: 1, H: 2, Hk: 2, Nq: 2, N: 2, D: 8, Dv: 8, qk: true, dtype: 'float16',
    attrs: { qk_matmul_output_mode: 3, softmax_precision: 1 }, mask: { dims: [2, 2], bool: true, values: [0, 0, 1, 1] },
    also: (r) => {
      expect((r.qk_matmul_output as { type?: string }).type).toBe('float16');
      rowZero(r, (i) => i === 0, 'qk_matmul_output');
    },
  },
  {
    name: 'test_attention_4d_diff_heads_mask4d_padded_kv', ...dh4, mask: { dims: [2, 3, 4, 4] }, nonpad: [3, 4],
    noOrt: "ORT 1.30 refuses an attn_mask shorter than the keys ('inconsistent total_sequence_length')",
  },
  { name: 'test_attention_4d_gqa_causal_nonpad_decode', rank: 4, B: 2, H: 4, Hk: 2, Nq: 1, N: 8, D: 8, Dv: 8, nonpad: [8, 5], attrs: { is_causal: 1 } },
  {
    name: 'test_attention_4d_gqa_causal_nonpad_decode_fp16', rank: 4, B: 2, H: 4, Hk: 2, Nq: 1, N: 8, D: 8, Dv: 8, nonpad: [8, 5], attrs: { is_causal: 1 },
    dtype: 'float16',
  },
  { name: 'test_attention_4d_causal_nonpad_continued_prefill', rank: 4, B: 1, H: 2, Hk: 2, Nq: 2, N: 4, D: 8, Dv: 8, nonpad: [4], attrs: { is_causal: 1 } },
  { name: 'test_attention_4d_causal_with_past_and_present', rank: 4, B: 2, H: 3, Hk: 3, Nq: 4, N: 4, D: 8, Dv: 8, P: 3, present: true, attrs: { is_causal: 1 } },
  {
    name: 'test_attention_4d_causal_nonpad_negative_offset_structural_empty', rank: 4, B: 1, H: 2, Hk: 2, Nq: 4, N: 4, D: 8, Dv: 8, nonpad: [2],
    attrs: { is_causal: 1 }, also: (r) => rowZero(r, (i) => i < 2),
  },
  {
    name: 'test_attention_4d_causal_nonpad_attn_mask_composition', rank: 4, B: 2, H: 2, Hk: 2, Nq: 3, N: 6, D: 8, Dv: 8, nonpad: [4, 5], attrs: { is_causal: 1 },
    mask: {
      dims: [2, 1, 3, 6], bool: true,
      values: [1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1, 0],
    },
  },
  { name: 'test_attention_4d_causal_nonpad_batch_prefill', rank: 4, B: 3, H: 2, Hk: 2, Nq: 2, N: 6, D: 8, Dv: 8, nonpad: [4, 5, 6], attrs: { is_causal: 1 } },
  // --- opset 25: sliding windows ---
  { name: 'test_attention_local_window', ...f4, attrs: { local_window_size: 3 }, noOrt: WINDOWS },
  { name: 'test_attention_local_window_default', ...f4, attrs: { local_window_size: -1 }, noOrt: WINDOWS },
  { name: 'test_attention_local_window_causal', ...f4, attrs: { is_causal: 1, local_window_size: 3 }, noOrt: WINDOWS },
  { name: 'test_attention_local_window_with_past', ...f4, N: 2, P: 8, present: true, attrs: { local_window_size: 3 }, noOrt: WINDOWS },
  {
    // That case's 3-D mask (B, Nq, T) does not broadcast to [B, H, Nq, T] by NumPy rules (B = 2, H = 3):
    // given here as the [B, 1, Nq, T] it stands for.
    name: 'test_attention_local_window_ext_cache_3d_mask (mask as [B, 1, Nq, T])', rank: 4, B: 2, H: 3, Hk: 3, Nq: 4, N: 8, D: 8, Dv: 8,
    mask: { dims: [2, 1, 4, 8] }, nonpad: [6, 7], attrs: { local_window_size: 3 }, noOrt: WINDOWS,
  },
  { name: 'test_attention_3d_local_window', ...f3, attrs: with3(f3, { local_window_size: 3 }), noOrt: WINDOWS },
  { name: 'left/right_window_size: both sides, 3-D with a cache', ...gqa3, P: 5, present: true, attrs: with3(gqa3, { left_window_size: 4, right_window_size: 2 }), noOrt: WINDOWS },
  { name: 'left/right_window_size: left only, causal, nonpad', ...gqa4, nonpad: [5, 6], attrs: { is_causal: 1, left_window_size: 2, right_window_size: -1 }, noOrt: WINDOWS },
];

function values(t: OnnxFloatTensor): Float32Array {
  const h = t as { type?: string; data: Float32Array | Uint16Array };
  return h.type === 'float16' || h.type === 'bfloat16' ? halfToFloat32(h.type, h.data as Uint16Array) : (h.data as Float32Array);
}

/** n values in [0, 1), rounded to the case's element type. */
function draw(rng: Rng, n: number, type: Dtype): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng();
  return type === 'float32' ? a : halfToFloat32(type, float32ToHalf(type, a));
}

const prod = (d: readonly number[]) => d.reduce((a, b) => a * b, 1);
const seedOf = (name: string) => [...name].reduce((h, ch) => (Math.imul(h, 31) + ch.charCodeAt(0)) >>> 0, 7);

interface Built {
  inputs: OnnxAttentionInputs;
  ref: OpRefInputs;
  feeds: Record<string, OnnxFeed>;
  dims: Record<string, number[]>;
}

function build(c: Case): Built {
  const type = c.dtype ?? 'float32';
  const rng = mulberry32(seedOf(c.name));
  const T = (c.P ?? 0) + c.N;
  const dims: Record<string, number[]> = c.rank === 4
    ? { Q: [c.B, c.H, c.Nq, c.D], K: [c.B, c.Hk, c.N, c.D], V: [c.B, c.Hk, c.N, c.Dv] }
    : { Q: [c.B, c.Nq, c.H * c.D], K: [c.B, c.N, c.Hk * c.D], V: [c.B, c.N, c.Hk * c.Dv] };
  const x: Drawn = { Q: draw(rng, prod(dims.Q), type), K: draw(rng, prod(dims.K), type), V: draw(rng, prod(dims.V), type) };
  if (c.mask) {
    dims.attn_mask = c.mask.dims;
    const n = prod(c.mask.dims);
    x.mask = c.mask.values ? Float32Array.from(c.mask.values) : c.mask.bool ? Float32Array.from({ length: n }, () => (rng() < 0.7 ? 1 : 0)) : draw(rng, n, type);
    expect(x.mask.length).toBe(n);
  }
  if (c.P !== undefined) {
    dims.past_key = [c.B, c.Hk, c.P, c.D];
    dims.past_value = [c.B, c.Hk, c.P, c.Dv];
    x.pastK = draw(rng, prod(dims.past_key), type);
    x.pastV = draw(rng, prod(dims.past_value), type);
  }
  c.edit?.(x);
  const asType = (a: Float32Array, d: number[]): OnnxFloatTensor => (type === 'float32' ? { data: a, dims: d } : { type, data: float32ToHalf(type, a), dims: d });
  const feed = (a: Float32Array, d: number[]): OnnxFeed => (type === 'float32' ? { data: a, dims: d } : { data: float32ToHalf(type, a), dims: d, type });
  const inputs: OnnxAttentionInputs = { Q: asType(x.Q, dims.Q), K: asType(x.K, dims.K), V: asType(x.V, dims.V) };
  const feeds: Record<string, OnnxFeed> = { Q: feed(x.Q, dims.Q), K: feed(x.K, dims.K), V: feed(x.V, dims.V) };
  const ref: OpRefInputs = { Q: { data: x.Q, dims: dims.Q }, K: { data: x.K, dims: dims.K }, V: { data: x.V, dims: dims.V } };
  if (x.mask) {
    if (c.mask!.bool) {
      const bits = Uint8Array.from(x.mask);
      inputs.attn_mask = { type: 'bool', data: bits, dims: dims.attn_mask };
      feeds.attn_mask = { data: bits, dims: dims.attn_mask, type: 'bool' };
    } else {
      inputs.attn_mask = asType(x.mask, dims.attn_mask);
      feeds.attn_mask = feed(x.mask, dims.attn_mask);
    }
    ref.attn_mask = { data: x.mask, dims: dims.attn_mask, bool: c.mask!.bool };
  }
  if (x.pastK && x.pastV) {
    inputs.past_key = asType(x.pastK, dims.past_key);
    inputs.past_value = asType(x.pastV, dims.past_value);
    feeds.past_key = feed(x.pastK, dims.past_key);
    feeds.past_value = feed(x.pastV, dims.past_value);
    ref.past_key = { data: x.pastK, dims: dims.past_key };
    ref.past_value = { data: x.pastV, dims: dims.past_value };
  }
  if (c.nonpad) {
    const lens = BigInt64Array.from(c.nonpad, BigInt);
    inputs.nonpad_kv_seqlen = { type: 'int64', data: lens, dims: [c.B] };
    feeds.nonpad_kv_seqlen = { data: lens, dims: [c.B] };
    ref.nonpad_kv_seqlen = c.nonpad;
    dims.nonpad_kv_seqlen = [c.B];
  }
  expect(T).toBeGreaterThan(0);
  return { inputs, ref, feeds, dims };
}

/** Whether got (float32 values) matches ref within atol + rtol·|ref|; equal infinities match. */
function expectClose(what: string, got: ArrayLike<number>, ref: ArrayLike<number>, tol: number): void {
  expect(got.length).toBe(ref.length);
  for (let i = 0; i < ref.length; i++) {
    const g = got[i];
    const r = ref[i];
    if (g === r) continue;
    if (!(Math.abs(g - r) <= tol * (1 + Math.abs(r)))) throw new Error(`${what}[${i}]: got ${g}, expected ${r} (tolerance ${tol})`);
  }
}

const tolOf = (type: Dtype) => (type === 'float32' ? 1e-5 : type === 'float16' ? 1e-3 : 8e-3);

function checkAgainstReference(c: Case, r: OnnxAttentionResult, ref: OpRefOutputs): void {
  const type = c.dtype ?? 'float32';
  const tol = tolOf(type);
  const typeOf = (t: OnnxFloatTensor) => (t as { type?: string }).type ?? 'float32';
  expect(r.Y.dims).toEqual(ref.Y.dims);
  expect(typeOf(r.Y)).toBe(type);
  expectClose('Y', values(r.Y), ref.Y.data, tol);
  for (const n of ['present_key', 'present_value'] as const) {
    expect(r[n]!.dims).toEqual(ref[n].dims);
    expect(typeOf(r[n]!)).toBe(type);
    expectClose(n, values(r[n]!), ref[n].data, 0); // a concatenation: exact
  }
  const qk = r.qk_matmul_output!;
  expect(qk.dims).toEqual(ref.qk_matmul_output.dims);
  expect(typeOf(qk)).toBe(type);
  expectClose('qk_matmul_output', values(qk), ref.qk_matmul_output.data, tol);
  c.also?.(r, ref);
}

/** An ONNX model of the case: one Attention node with the operator's own input, output and attribute names. */
function ortModel(c: Case, b: Built): Uint8Array {
  const type = c.dtype ?? 'float32';
  const g = new GraphBuilder('onnx_attention_case');
  const names = ['Q', 'K', 'V', 'attn_mask', 'past_key', 'past_value', 'nonpad_kv_seqlen'];
  const ins = names.map((n) => {
    if (!b.feeds[n]) return '';
    const t = n === 'nonpad_kv_seqlen' ? 'int64' : n === 'attn_mask' && c.mask?.bool ? 'bool' : type;
    return g.addInput(n, t, b.dims[n]);
  });
  while (ins[ins.length - 1] === '') ins.pop();
  const outs = ['Y', c.present ? 'present_key' : '', c.present ? 'present_value' : '', c.qk ? 'qk_matmul_output' : ''];
  while (outs[outs.length - 1] === '') outs.pop();
  const a = c.attrs ?? {};
  const attrs: Record<string, ReturnType<typeof attr.float> | number> = {};
  if (a.is_causal !== undefined) attrs.is_causal = Number(a.is_causal);
  for (const n of ['q_num_heads', 'kv_num_heads', 'qk_matmul_output_mode', 'softmax_precision'] as const) if (a[n] !== undefined) attrs[n] = Number(a[n]);
  if (a.scale !== undefined) attrs.scale = attr.float(a.scale);
  if (a.softcap !== undefined) attrs.softcap = attr.float(a.softcap);
  g.addNode('Attention', ins, outs, attrs);
  g.addOutput('Y', type);
  if (c.present) {
    g.addOutput('present_key', type);
    g.addOutput('present_value', type);
  }
  if (c.qk) g.addOutput('qk_matmul_output', type);
  return g.toModel({ opsets: { '': c.nonpad ? 24 : 23 } });
}

describe('published conformance cases, against the float64 reference', () => {
  test('the table covers the operator’s published cases once each', () => {
    const names = CASES.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names.filter((n) => n.startsWith('test_attention')).length).toBeGreaterThanOrEqual(80);
  });
  for (const c of CASES)
    test(c.name, () => {
      const b = build(c);
      const r = onnxAttention(b.inputs, c.attrs);
      checkAgainstReference(c, r, referenceOnnxAttention(b.ref, c.attrs));
    });
});

describe('published conformance cases, against ONNX Runtime', () => {
  for (const c of CASES) {
    if (c.noOrt) {
      test.skip(`${c.name} — ${c.noOrt}`, () => undefined);
      continue;
    }
    test(c.name, async () => {
      const b = build(c);
      const ort = await runOnnx(ortModel(c, b), b.feeds, { intraOpNumThreads: 1 });
      const r = onnxAttention(b.inputs, c.attrs);
      const type = c.dtype ?? 'float32';
      // ORT's masked-stage scores hold the lowest finite float where the causal mask excludes a key; the operator's -Infinity.
      const ortValues = (n: string) => {
        const o = ort[n];
        const x = type === 'float32' ? Float32Array.from(o.data as Float32Array) : halfToFloat32(type, o.data as Uint16Array);
        return n === 'qk_matmul_output' ? x.map((s) => (s <= -3.4e38 ? -Infinity : s)) : x;
      };
      // ORT computes half inputs in its own precision: allow the reference's tolerance on each side.
      const tol = 2 * tolOf(type);
      expect(ort.Y.dims).toEqual(r.Y.dims);
      expectClose('Y vs ORT', values(r.Y), ortValues('Y'), tol);
      if (c.present)
        for (const n of ['present_key', 'present_value'] as const) {
          expect(ort[n].dims).toEqual(r[n]!.dims);
          expectClose(`${n} vs ORT`, values(r[n]!), ortValues(n), 0);
        }
      if (c.qk) expectClose('qk_matmul_output vs ORT', values(r.qk_matmul_output!), ortValues('qk_matmul_output'), tol);
    });
  }
});

describe('known values', () => {
  test('left_window_size 1, right_window_size 2 on equal scores: each row averages its window of v', () => {
    const z = { data: new Float32Array(5), dims: [1, 1, 5, 1] };
    const v = { data: Float32Array.from([0, 1, 2, 3, 4]), dims: [1, 1, 5, 1] };
    const r = onnxAttention({ Q: z, K: z, V: v }, { left_window_size: 1, right_window_size: 2 });
    expectClose('Y', values(r.Y), [1, 1.5, 2.5, 3, 3.5], 1e-6);
  });

  test('a 3-D attn_mask is [H, Nq, T] (NumPy broadcasting), the same as its 4-D [1, H, Nq, T]', () => {
    const rng = mulberry32(3);
    const [B, H, Nq, Nk, D] = [2, 3, 2, 4, 2];
    const t = (d: number[]) => ({ data: draw(rng, prod(d), 'float32'), dims: d });
    const inputs = { Q: t([B, H, Nq, D]), K: t([B, H, Nk, D]), V: t([B, H, Nk, D]) };
    const mask = t([H, Nq, Nk]);
    const attrs = { is_causal: 1, left_window_size: 2 };
    const nonpad = BigInt64Array.of(3n, 4n);
    const a = onnxAttention({ ...inputs, attn_mask: mask, nonpad_kv_seqlen: nonpad }, attrs);
    const b = onnxAttention({ ...inputs, attn_mask: { data: mask.data, dims: [1, H, Nq, Nk] }, nonpad_kv_seqlen: nonpad }, attrs);
    expect(Array.from(values(a.Y))).toEqual(Array.from(values(b.Y)));
  });

  test('3-D inputs: Y is the 4-D result with heads interleaved, no copy of q, k, v needed', () => {
    const rng = mulberry32(9);
    const [B, H, Hk, Nq, Nk, D, Dv] = [2, 4, 2, 3, 5, 6, 7];
    const q4 = { data: draw(rng, B * H * Nq * D, 'float32'), dims: [B, H, Nq, D] };
    const k4 = { data: draw(rng, B * Hk * Nk * D, 'float32'), dims: [B, Hk, Nk, D] };
    const v4 = { data: draw(rng, B * Hk * Nk * Dv, 'float32'), dims: [B, Hk, Nk, Dv] };
    const rowsFirst = (t: { data: Float32Array; dims: number[] }) => {
      const [b0, h0, n0, d0] = t.dims;
      const out = new Float32Array(t.data.length);
      for (let b = 0; b < b0; b++) for (let h = 0; h < h0; h++) for (let n = 0; n < n0; n++) for (let d = 0; d < d0; d++)
        out[((b * n0 + n) * h0 + h) * d0 + d] = t.data[((b * h0 + h) * n0 + n) * d0 + d];
      return { data: out, dims: [b0, n0, h0 * d0] };
    };
    const r4 = onnxAttention({ Q: q4, K: k4, V: v4 }, { is_causal: 1 });
    const r3 = onnxAttention({ Q: rowsFirst(q4), K: rowsFirst(k4), V: rowsFirst(v4) }, { is_causal: 1, q_num_heads: H, kv_num_heads: Hk });
    expect(r3.Y.dims).toEqual([B, Nq, H * Dv]);
    expectClose('Y', values(r3.Y), rowsFirst({ data: values(r4.Y), dims: r4.Y.dims.slice() }).data, 1e-6);
    // Without a cache, 4-D present_key / present_value are K / V themselves.
    expect(r4.present_key!.data).toBe(k4.data);
    expect(r4.present_value!.data).toBe(v4.data);
  });

  test("V's element type may differ from Q's (the operator's T2): Y in Q's type, present_value in V's", () => {
    const rng = mulberry32(21);
    const [B, H, Nq, Nk, D, Dv] = [1, 2, 3, 5, 4, 6];
    const q = draw(rng, B * H * Nq * D, 'float32');
    const k = draw(rng, B * H * Nk * D, 'float32');
    const v = draw(rng, B * H * Nk * Dv, 'float16');
    const pastV = draw(rng, B * H * 2 * Dv, 'float16');
    const pastK = draw(rng, B * H * 2 * D, 'float32');
    const r = onnxAttention({
      Q: { data: q, dims: [B, H, Nq, D] }, K: { data: k, dims: [B, H, Nk, D] }, V: { type: 'float16', data: float32ToHalf('float16', v), dims: [B, H, Nk, Dv] },
      past_key: { data: pastK, dims: [B, H, 2, D] }, past_value: { type: 'float16', data: float32ToHalf('float16', pastV), dims: [B, H, 2, Dv] },
    }, { is_causal: 1 });
    const ref = referenceOnnxAttention({
      Q: { data: q, dims: [B, H, Nq, D] }, K: { data: k, dims: [B, H, Nk, D] }, V: { data: v, dims: [B, H, Nk, Dv] },
      past_key: { data: pastK, dims: [B, H, 2, D] }, past_value: { data: pastV, dims: [B, H, 2, Dv] },
    }, { is_causal: 1 });
    expect((r.Y as { type?: string }).type).toBeUndefined();
    expect((r.present_value as { type?: string }).type).toBe('float16');
    expectClose('Y', values(r.Y), ref.Y.data, 1e-5);
    expectClose('present_value', values(r.present_value!), ref.present_value.data, 0);
  });

  test('integer attributes may be bigints (int64 attributes of a parsed model)', () => {
    const c = CASES.find((x) => x.name === 'test_attention_3d_gqa_causal')!;
    const b = build(c);
    const big = onnxAttention(b.inputs, { q_num_heads: 9n, kv_num_heads: 3n, is_causal: 1n, qk_matmul_output_mode: 3n, softmax_precision: 1n });
    const num = onnxAttention(b.inputs, { q_num_heads: 9, kv_num_heads: 3, is_causal: 1, qk_matmul_output_mode: 3, softmax_precision: 1 });
    expect(values(big.Y)).toEqual(values(num.Y));
    expect(values(big.qk_matmul_output!)).toEqual(values(num.qk_matmul_output!));
    expect(() => onnxAttention(b.inputs, { q_num_heads: 9n, kv_num_heads: 3n, is_causal: 2n })).toThrow(/attributes\.is_causal must be an integer in \[0, 1\]/);
  });

  test("options.outputs ['Y'] returns Y only", () => {
    const z = { data: new Float32Array(8), dims: [1, 1, 2, 4] };
    const r = onnxAttention({ Q: z, K: z, V: z }, {}, { outputs: ['Y'] });
    expect(Object.keys(r)).toEqual(['Y']);
  });
});

/** Bigger odd shapes: sequence lengths off every tile size, D = 10, a short mask, a cache, GQA. */
const BIG: Case[] = [
  {
    name: '4-D GQA, cache, short float mask, causal, softcap, masked scores', rank: 4, B: 2, H: 6, Hk: 2, Nq: 37, N: 29, D: 10, Dv: 13, P: 24,
    mask: { dims: [2, 1, 37, 41] }, present: true, qk: true, attrs: { is_causal: 1, softcap: 3, qk_matmul_output_mode: 2 },
  },
  {
    name: '3-D GQA, cache, bool [B, 1, 1, T] mask, window, softmax scores', rank: 3, B: 3, H: 4, Hk: 2, Nq: 19, N: 23, D: 10, Dv: 10, P: 17,
    mask: { dims: [3, 1, 1, 40], bool: true }, present: true, qk: true,
    attrs: { q_num_heads: 4, kv_num_heads: 2, left_window_size: 7, right_window_size: 3, qk_matmul_output_mode: 3 },
  },
  {
    name: '3-D, no cache (bnhd, no copies), nonpad, causal, scale', rank: 3, B: 2, H: 5, Hk: 5, Nq: 33, N: 71, D: 10, Dv: 6, nonpad: [71, 40],
    qk: true, present: true, attrs: { q_num_heads: 5, kv_num_heads: 5, is_causal: 1, scale: 0.3 },
  },
  {
    name: 'float16 4-D, cache, float16 mask, causal', rank: 4, B: 1, H: 4, Hk: 4, Nq: 21, N: 21, D: 10, Dv: 10, P: 30, mask: { dims: [21, 51] },
    present: true, qk: true, dtype: 'float16', attrs: { is_causal: 1 },
  },
  {
    name: 'bfloat16 3-D GQA, bool mask, softcap', rank: 3, B: 2, H: 6, Hk: 3, Nq: 17, N: 45, D: 10, Dv: 10, mask: { dims: [2, 6, 17, 45], bool: true },
    present: true, qk: true, dtype: 'bfloat16', attrs: { q_num_heads: 6, kv_num_heads: 3, softcap: 2, qk_matmul_output_mode: 1 },
  },
];

describe('bigger odd shapes', () => {
  for (const c of BIG)
    test(c.name, async () => {
      const b = build(c);
      checkAgainstReference(c, onnxAttention(b.inputs, c.attrs), referenceOnnxAttention(b.ref, c.attrs));
      checkAgainstReference(c, await onnxAttentionAsync(b.inputs, c.attrs, { threads: 2 }), referenceOnnxAttention(b.ref, c.attrs));
    });
});

describe('async form', () => {
  test('matches the sync form and honours an aborted signal', async () => {
    const c = CASES.find((x) => x.name === 'test_attention_3d_with_past_and_present_qk_matmul_softmax')!;
    const b = build(c);
    const s = onnxAttention(b.inputs, c.attrs);
    const a = await onnxAttentionAsync(b.inputs, c.attrs);
    for (const n of ['Y', 'present_key', 'present_value', 'qk_matmul_output'] as const) expect(values(a[n]!)).toEqual(values(s[n]!));
    const ctl = new AbortController();
    ctl.abort();
    await expect(onnxAttentionAsync(b.inputs, c.attrs, { signal: ctl.signal })).rejects.toMatchObject({ name: 'AbortError' });
    await expect(onnxAttentionAsync({ ...b.inputs, Q: { data: new Float32Array(3), dims: [3] } }, c.attrs)).rejects.toThrow(RangeError);
  });
});

describe('bad input names the input or attribute', () => {
  const z = (d: number[]) => ({ data: new Float32Array(prod(d)), dims: d });
  const ok = { Q: z([1, 2, 3, 4]), K: z([1, 2, 5, 4]), V: z([1, 2, 5, 4]) };
  const bad: [string, () => unknown, typeof TypeError | typeof RangeError, RegExp][] = [
    ['inputs not an object', () => onnxAttention(null as never), TypeError, /inputs must be an object/],
    ['Q missing', () => onnxAttention({ K: ok.K, V: ok.V } as never), TypeError, /inputs\.Q is required/],
    ['unknown input', () => onnxAttention({ ...ok, mask: ok.Q } as never), TypeError, /mask/],
    ['Q rank 2', () => onnxAttention({ ...ok, Q: z([3, 4]) }), RangeError, /inputs\.Q must have 3 or 4 dims/],
    ['ranks differ', () => onnxAttention({ ...ok, K: z([1, 5, 8]) }), RangeError, /same rank/],
    ['3-D without head counts', () => onnxAttention({ Q: z([1, 3, 8]), K: z([1, 5, 8]), V: z([1, 5, 8]) }), TypeError, /q_num_heads and attributes\.kv_num_heads are required/],
    ['hidden not a multiple', () => onnxAttention({ Q: z([1, 3, 8]), K: z([1, 5, 8]), V: z([1, 5, 8]) }, { q_num_heads: 3, kv_num_heads: 2 }), RangeError, /not a multiple of attributes\.q_num_heads/],
    ['heads do not divide', () => onnxAttention({ Q: z([1, 3, 3, 4]), K: z([1, 2, 5, 4]), V: z([1, 2, 5, 4]) }), RangeError, /must be a multiple of kv_num_heads/],
    ['q_num_heads disagrees with 4-D Q', () => onnxAttention(ok, { q_num_heads: 3 }), RangeError, /attributes\.q_num_heads = 3 but Q has 2 heads/],
    ['head sizes differ', () => onnxAttention({ ...ok, K: z([1, 2, 5, 3]) }), RangeError, /one head size/],
    ['K and V lengths differ', () => onnxAttention({ ...ok, V: z([1, 2, 6, 4]) }), RangeError, /inputs\.V must have K's 5 rows/],
    ['mask not broadcastable', () => onnxAttention({ ...ok, attn_mask: z([3, 3, 5]) }), RangeError, /inputs\.attn_mask dims \[3, 3, 5\] do not broadcast/],
    ['mask longer than the keys', () => onnxAttention({ ...ok, attn_mask: z([3, 6]) }), RangeError, /attn_mask's last dim 6 exceeds the key count T = 5/],
    ['int32 mask', () => onnxAttention({ ...ok, attn_mask: { type: 'int32', data: new Int32Array(15), dims: [3, 5] } as never }), TypeError, /attn_mask must be a bool, float32, float16 or bfloat16 tensor/],
    ['past_key alone', () => onnxAttention({ ...ok, past_key: z([1, 2, 1, 4]) }), TypeError, /past_key and inputs\.past_value must be given together/],
    ['past_key of wrong dims', () => onnxAttention({ ...ok, past_key: z([1, 3, 1, 4]), past_value: z([1, 2, 1, 4]) }), RangeError, /inputs\.past_key must have dims/],
    ['nonpad out of range', () => onnxAttention({ ...ok, nonpad_kv_seqlen: BigInt64Array.of(6n) }), RangeError, /nonpad_kv_seqlen\[0\] = 6 is outside \[0, 5\]/],
    ['nonpad of floats', () => onnxAttention({ ...ok, nonpad_kv_seqlen: new Float32Array(1) as never }), TypeError, /nonpad_kv_seqlen must be a BigInt64Array or Int32Array/],
    ['nonpad wrong length', () => onnxAttention({ ...ok, nonpad_kv_seqlen: Int32Array.of(1, 2) }), RangeError, /must have B = 1 elements/],
    ['Q half, K float32', () => onnxAttention({ ...ok, Q: { type: 'float16', data: new Uint16Array(24), dims: [1, 2, 3, 4] } }), TypeError, /inputs\.K must have Q's element type float16/],
    ['unknown attribute', () => onnxAttention(ok, { causal: 1 } as never), TypeError, /causal/],
    ['is_causal 2', () => onnxAttention(ok, { is_causal: 2 }), RangeError, /attributes\.is_causal/],
    ['softcap negative', () => onnxAttention(ok, { softcap: -1 }), RangeError, /attributes\.softcap must be a finite number >= 0/],
    ['scale NaN', () => onnxAttention(ok, { scale: NaN }), RangeError, /attributes\.scale must be finite/],
    ['qk mode 4', () => onnxAttention(ok, { qk_matmul_output_mode: 4 }), RangeError, /attributes\.qk_matmul_output_mode/],
    ['softmax_precision INT32', () => onnxAttention(ok, { softmax_precision: 6 }), RangeError, /attributes\.softmax_precision must be 1 \(FLOAT\)/],
    ['left_window_size -2', () => onnxAttention(ok, { left_window_size: -2 }), RangeError, /attributes\.left_window_size/],
    ['local_window_size 0', () => onnxAttention(ok, { local_window_size: 0 }), RangeError, /local_window_size must be -1 \(off\) or positive/],
    ['both window forms', () => onnxAttention(ok, { local_window_size: 2, left_window_size: 1 }), RangeError, /local_window_size cannot be given with/],
    ['unknown output', () => onnxAttention(ok, {}, { outputs: ['scores' as 'Y'] }), RangeError, /options\.outputs: unknown output/],
    ['threads 1.5', () => onnxAttention(ok, {}, { threads: 1.5 }), RangeError, /options\.threads must be an integer/],
  ];
  for (const [name, call, Err, msg] of bad)
    test(name, () => {
      expect(call).toThrow(Err);
      expect(call).toThrow(msg);
    });
});

// crossCheck: the native kernels vs ONNX Runtime running the graphs lib/onnx builds, on given or
// seeded random inputs. onnxruntime-node (an optional dev dependency) is loaded only when a check
// runs; without it crossCheck rejects with a one-line OnnxRuntimeUnavailableError (lib/onnx/run.ts).
import type { StandardAttentionOutputs } from './attention-options';
import { attention, type AttentionOptions } from './dense';
import { LongT5Attention, LongT5LocalAttention, LongT5TransientGlobalAttention, type LongT5Config, type LongT5Weights } from './longt5';
import { buildDenseAttentionModel, type DenseOnnxSpec } from './onnx/dense';
import { OnnxSession, loadOrt } from './onnx/run';
import { mulberry32, uniform } from './random';
import { MaskInput, Tensor, checkMask, checkOptions, checkSize, checkTensor } from './tensor';

type Layer = LongT5TransientGlobalAttention | LongT5LocalAttention | LongT5Attention;
export type CrossCheckTarget = Layer | 'tglobal' | 'local' | 'full' | 'dense';

export interface CrossCheckInputs {
  /** Layers: [B, N, d_model] input (default: seeded random). */
  hidden?: Tensor;
  /** Layers: [B, N] mask, 1 = token (default: row 0 full, other rows right-padded to ~70 %). Dense: the key mask [B, Nk]. */
  mask?: MaskInput;
  /** Dense: q [B,H,Nq,D], k [B,H,Nk,D], v [B,H,Nk,Dv] (default: seeded random, B 2, H 4, D 32). */
  q?: Tensor;
  k?: Tensor;
  v?: Tensor;
  /** Random inputs: batch size (default 2) and sequence length (default 300). */
  batch?: number;
  seqLen?: number;
  seed?: number;
  /** Pass threshold on maxRel (default 1e-4). */
  tolerance?: number;
  /**
   * Dense: the standard operator's options to check too (ORT's Attention: softcap and the score
   * stages as its attributes, keyLengths as nonpad_kv_seqlen, causal/causalOffset/window as mask
   * terms). returnScores adds a 'scores' output to the report.
   */
  options?: DenseCrossCheckOptions;
}

/** The attention() options crossCheck('dense') can give ONNX Runtime. */
export type DenseCrossCheckOptions = Pick<AttentionOptions, 'scale' | 'causal' | 'softcap' | 'window' | 'keyLengths' | 'returnScores'> & {
  /** A number only (ORT's per-batch diagonal is keyLengths - Nq, not any offset). */
  causalOffset?: number;
};

export interface CrossCheckOutputReport {
  name: string;
  dims: number[];
  /** max |native − onnx| over the compared rows. */
  maxAbs: number;
  /** maxAbs / max |native| over the compared rows (0 when both are 0). */
  maxRel: number;
  /** max |native| over the compared rows. */
  maxRef: number;
  /** Rows compared (layers: valid query rows for tglobal/local, every row for full/dense) of `rows`. */
  comparedRows: number;
  rows: number;
  /** Every element of both outputs is finite (padded rows included). */
  finite: boolean;
  ok: boolean;
}

export interface CrossCheckReport {
  target: 'tglobal' | 'local' | 'full' | 'dense';
  /** The layer config, or the dense shapes. */
  config: Record<string, unknown>;
  inputDims: Record<string, number[]>;
  tolerance: number;
  outputs: CrossCheckOutputReport[];
  ok: boolean;
  /** Wall time of one native call and of one ONNX Runtime run (session creation excluded), ms. */
  nativeMs: number;
  onnxMs: number;
}

const OPTION_NAMES = ['hidden', 'mask', 'q', 'k', 'v', 'batch', 'seqLen', 'seed', 'tolerance', 'options'] as const;
const DENSE_OPTION_NAMES = ['scale', 'causal', 'causalOffset', 'softcap', 'window', 'keyLengths', 'returnScores'] as const;

/** Row 0 full, row b > 0 right-padded to ~70 % (at least 1 token). */
function defaultMask(B: number, N: number): Uint8Array {
  const m = new Uint8Array(B * N);
  for (let b = 0; b < B; b++) {
    const len = b === 0 ? N : Math.max(1, Math.round(N * 0.7) - b);
    m.fill(1, b * N, b * N + len);
  }
  return m;
}

/** A layer with seeded random weights and a small default config. */
export function randomLayer(kind: 'tglobal' | 'local' | 'full', config: Partial<LongT5Config> = {}, seed = 1): Layer {
  const c: LongT5Config = {
    d_model: 64, d_kv: 16, num_heads: 4, local_radius: 15, global_block_size: 16,
    relative_attention_num_buckets: 32, relative_attention_max_distance: 128, layer_norm_epsilon: 1e-6, ...config,
  };
  const r = mulberry32(seed);
  const HD = c.num_heads * c.d_kv;
  const nb = c.relative_attention_num_buckets ?? 32;
  const w: LongT5Weights = {
    'q.weight': uniform(r, HD * c.d_model, 1 / Math.sqrt(c.d_model)),
    'k.weight': uniform(r, HD * c.d_model, 1 / Math.sqrt(c.d_model)),
    'v.weight': uniform(r, HD * c.d_model, 1 / Math.sqrt(c.d_model)),
    'o.weight': uniform(r, c.d_model * HD, 1 / Math.sqrt(HD)),
    'relative_attention_bias.weight': uniform(r, nb * c.num_heads, 1),
  };
  if (kind === 'tglobal') {
    w['global_relative_attention_bias.weight'] = uniform(r, nb * c.num_heads, 1);
    w['global_input_layer_norm.weight'] = uniform(r, c.d_model, 1).map((x) => 1 + 0.5 * x);
    return new LongT5TransientGlobalAttention(c, w);
  }
  return kind === 'local' ? new LongT5LocalAttention(c, w) : new LongT5Attention(c, w);
}

/** Compares `a` (native) and `b` (ONNX) over the rows `rowOk` keeps; rows of `rowLen` elements. */
function compare(name: string, dims: number[], a: Float32Array, b: Float32Array, rowLen: number, rowOk: (row: number) => boolean, tol: number): CrossCheckOutputReport {
  const rows = rowLen > 0 ? a.length / rowLen : 0;
  let maxAbs = a.length === b.length ? 0 : Infinity;
  let maxRef = 0;
  let finite = true;
  let compared = 0;
  for (let i = 0; i < a.length && i < b.length; i++) if (!Number.isFinite(a[i]) || !Number.isFinite(b[i])) finite = false;
  for (let row = 0; row < rows && a.length === b.length; row++) {
    if (!rowOk(row)) continue;
    compared++;
    for (let i = row * rowLen; i < (row + 1) * rowLen; i++) {
      const d = Math.abs(a[i] - b[i]);
      if (!(d <= maxAbs)) maxAbs = d; // NaN propagates
      const m = Math.abs(a[i]);
      if (m > maxRef) maxRef = m;
    }
  }
  const maxRel = maxAbs === 0 ? 0 : maxAbs / maxRef;
  return { name, dims, maxAbs, maxRel, maxRef, comparedRows: compared, rows, finite, ok: finite && maxRel <= tol };
}

async function timed<T>(f: () => Promise<T> | T): Promise<[T, number]> {
  const t = process.hrtime.bigint();
  const v = await f();
  return [v, Number(process.hrtime.bigint() - t) / 1e6];
}

async function checkLayer(layer: Layer, o: Partial<CrossCheckInputs>, tol: number): Promise<CrossCheckReport> {
  const kind: 'tglobal' | 'local' | 'full' =
    layer instanceof LongT5TransientGlobalAttention ? 'tglobal' : layer instanceof LongT5LocalAttention ? 'local' : 'full';
  const C = layer.config.d_model;
  let hidden: { data: Float32Array; dims: number[] };
  if (o.hidden !== undefined) {
    const h = checkTensor('inputs.hidden', o.hidden, 3);
    if (h.dims[2] !== C) throw new RangeError(`inputs.hidden must be [B, N, ${C}], got [${h.dims.join(', ')}]`);
    hidden = { data: h.data, dims: h.dims.slice() };
  } else {
    const B = o.batch === undefined ? 2 : checkSize('inputs.batch', o.batch, { min: 1 });
    const N = o.seqLen === undefined ? 300 : checkSize('inputs.seqLen', o.seqLen, { min: 1 });
    hidden = { data: uniform(mulberry32(o.seed ?? 7), B * N * C, 1), dims: [B, N, C] };
  }
  const [B, N] = hidden.dims;
  const mask = o.mask === undefined ? defaultMask(B, N) : checkMask('inputs.mask', o.mask, B, N);
  const [nat, nativeMs] = await timed(() => layer.forward(hidden, { data: mask, dims: [B, N] }));
  const session = await OnnxSession.create(layer.toOnnx());
  let out: Float32Array;
  let onnxMs: number;
  try {
    const m64 = new BigInt64Array(B * N);
    for (let i = 0; i < m64.length; i++) m64[i] = mask[i] !== 0 ? BigInt(1) : BigInt(0);
    const [res, ms] = await timed(() => session.run({ hidden_states: hidden, attention_mask: { data: m64, dims: [B, N] } }));
    out = res.output.data as Float32Array;
    onnxMs = ms;
  } finally {
    await session.release();
  }
  const rowOk = kind === 'full' ? () => true : (row: number) => mask[row] !== 0;
  const report = compare('output', [B, N, C], nat.data, out, C, rowOk, tol);
  return { target: kind, config: { ...layer.config }, inputDims: { hidden_states: [B, N, C], attention_mask: [B, N] }, tolerance: tol, outputs: [report], ok: report.ok, nativeMs, onnxMs };
}

async function checkDense(o: Partial<CrossCheckInputs>, tol: number): Promise<CrossCheckReport> {
  let q: { data: Float32Array; dims: number[] }, k: typeof q, v: typeof q;
  if (o.q !== undefined || o.k !== undefined || o.v !== undefined) {
    if (o.q === undefined || o.k === undefined || o.v === undefined) throw new TypeError('inputs: give all of q, k, v or none');
    const [qt, kt, vt] = [checkTensor('inputs.q', o.q, 4), checkTensor('inputs.k', o.k, 4), checkTensor('inputs.v', o.v, 4)];
    q = { data: qt.data, dims: qt.dims.slice() };
    k = { data: kt.data, dims: kt.dims.slice() };
    v = { data: vt.data, dims: vt.dims.slice() };
  } else {
    const B = o.batch === undefined ? 2 : checkSize('inputs.batch', o.batch, { min: 1 });
    const N = o.seqLen === undefined ? 300 : checkSize('inputs.seqLen', o.seqLen, { min: 1 });
    const r = mulberry32(o.seed ?? 7);
    const H = 4, D = 32;
    q = { data: uniform(r, B * H * N * D, 1), dims: [B, H, N, D] };
    k = { data: uniform(r, B * H * N * D, 1), dims: [B, H, N, D] };
    v = { data: uniform(r, B * H * N * D, 1), dims: [B, H, N, D] };
  }
  const [B, H, Nq, D] = q.dims;
  const [, Hk, Nk] = k.dims;
  const Dv = v.dims[3];
  const keyMask = o.mask === undefined ? defaultMask(B, Nk) : checkMask('inputs.mask', o.mask, B, Nk);
  const std = checkOptions<DenseCrossCheckOptions>('inputs.options', o.options, DENSE_OPTION_NAMES);
  if (std.causalOffset !== undefined && typeof std.causalOffset !== 'number')
    throw new TypeError('inputs.options.causalOffset must be a number here (ORT has no per-batch diagonal but keyLengths - Nq)');
  // attention() checks every option (and names it) before the model is built from them.
  const [nat, nativeMs] = await timed(() => attention(q, k, v, { ...std, keyMask: { data: keyMask, dims: [B, Nk] } }));
  const spec: DenseOnnxSpec = { op: 'Attention', numHeads: H, kvNumHeads: Hk, headSize: D, vHeadSize: Dv, keyMask: true };
  for (const key of DENSE_OPTION_NAMES) if (std[key] !== undefined) Object.assign(spec, { [key === 'returnScores' ? 'scores' : key]: std[key] });
  if (std.keyLengths) spec.keyLengths = true;
  const session = await OnnxSession.create(buildDenseAttentionModel(spec));
  let res: Awaited<ReturnType<OnnxSession['run']>>;
  let onnxMs: number;
  const inputDims: Record<string, number[]> = { q: q.dims, k: k.dims, v: v.dims, key_mask: [B, Nk] };
  try {
    const feeds: Parameters<OnnxSession['run']>[0] = { q, k, v, key_mask: { data: Int32Array.from(keyMask), dims: [B, Nk] } };
    if (std.keyLengths) {
      (feeds as Record<string, unknown>).key_lengths = { data: std.keyLengths, dims: [B] };
      inputDims.key_lengths = [B];
    }
    [res, onnxMs] = await timed(() => session.run(feeds));
  } finally {
    await session.release();
  }
  const outputs = [compare('out', [B, H, Nq, Dv], nat.data, res.out.data as Float32Array, Dv, () => true, tol)];
  if (std.returnScores !== undefined) {
    // Excluded scores: -Infinity here, -Infinity or -FLT_MAX (its own causal / key-length exclusions) in ORT.
    const a = (nat as StandardAttentionOutputs).scores!.data.slice();
    const b = (res.scores.data as Float32Array).slice();
    for (let i = 0; i < a.length && i < b.length; i++) {
      const ea = a[i] === -Infinity || a[i] <= -3e38;
      const eb = b[i] === -Infinity || b[i] <= -3e38;
      if (ea || eb) [a[i], b[i]] = ea && eb ? [0, 0] : [NaN, NaN];
    }
    outputs.push(compare(`scores (${std.returnScores})`, [B, H, Nq, Nk], a, b, Nk, () => true, tol));
  }
  return {
    target: 'dense', config: { ...spec, scale: spec.scale ?? 1 / Math.sqrt(D) },
    inputDims, tolerance: tol, outputs, ok: outputs.every((r) => r.ok), nativeMs, onnxMs,
  };
}

/**
 * Runs the native implementation and ONNX Runtime (on the graph lib/onnx builds: layer.toOnnx() for
 * a layer, the standard Attention op for 'dense') on the same inputs and reports the largest
 * differences. A string target checks a layer with seeded random weights. Needs onnxruntime-node.
 */
export async function crossCheck(target: CrossCheckTarget, inputs?: CrossCheckInputs): Promise<CrossCheckReport> {
  const o = checkOptions<CrossCheckInputs>('inputs', inputs, OPTION_NAMES);
  const tol = o.tolerance ?? 1e-4;
  if (typeof tol !== 'number' || !(tol >= 0)) throw new RangeError(`inputs.tolerance must be a number >= 0, got ${String(o.tolerance)}`);
  loadOrt(); // without onnxruntime-node: its one-line OnnxRuntimeUnavailableError, before any native work
  if (target === 'dense') return checkDense(o, tol);
  if (target === 'tglobal' || target === 'local' || target === 'full') return checkLayer(randomLayer(target), o, tol);
  if (target instanceof LongT5TransientGlobalAttention || target instanceof LongT5LocalAttention || target instanceof LongT5Attention)
    return checkLayer(target, o, tol);
  throw new TypeError("crossCheck: target must be a LongT5 layer or one of 'tglobal', 'local', 'full', 'dense'");
}

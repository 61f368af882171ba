// ONNX models of our dense attention (docs/ARCHITECTURE.md §1.1), for cross-checks and benchmarks against
// ONNX Runtime. The model takes our layout (q [B,H,Nq,D], k [B,Hk,Nk,D], v [B,Hk,Nk,Dv]) and
// computes our semantics, whatever the wrapped op's own conventions:
//  - causal is bottom-right aligned here (key j allowed iff j <= i + Nk - Nq); ORT 1.30's
//    Attention(is_causal=1) is top-left aligned (j <= i), MultiHeadAttention(unidirectional=1)
//    too except that for Nq < Nk its last query row sees every key; so causal is always built
//    into an additive mask;
//  - rows with no admissible key: ORT 1.30's Attention returns 0 there when the mask holds -inf
//    (as we do), so its model masks with -Infinity. MultiHeadAttention returns NaN for -inf
//    rows, so its model masks with the finite MASKED_SCORE and returns the mean of v there;
//    compare only the other rows for that op.
//
// The standard operator's options (op 'Attention' only, except causalOffset and window, which
// are mask terms and work with both ops): softcap and the score output (ORT implements both),
// keyLengths as nonpad_kv_seqlen (opset 24), a cache split off k/v as past_key/past_value,
// 3-D inputs, ORT's own is_causal (causalMode 'native'); the window (opset 25's
// left/right_window_size, which ORT 1.30 lacks) and a moved diagonal go into the additive mask.
import { DataType, GraphBuilder, attr, tensor, type Dim } from './model';

export interface DenseOnnxSpec {
  op: 'Attention' | 'MultiHeadAttention';
  numHeads: number;
  /** Default numHeads; must divide it (grouped-query attention). 'Attention' only. */
  kvNumHeads?: number;
  headSize: number;
  /** Default headSize. */
  vHeadSize?: number;
  /** Default 1/sqrt(headSize). */
  scale?: number;
  causal?: boolean;
  /** Adds input "key_mask" [B, Nk] (1 = attend, 0 = excluded). */
  keyMask?: boolean;
  /** Element type of "key_mask"; default 'int32'. */
  keyMaskType?: 'int32' | 'bool';
  /** Adds float input "bias" with these dims, broadcastable (NumPy rules) to [B,H,Nq,Nk]; omit for none. */
  biasDims?: readonly (number | 'B' | 'H' | 'Nq' | 'Nk')[];
  /** The Attention op's softcap attribute (> 0): scores become softcap·tanh(s / softcap) before the mask. */
  softcap?: number;
  /** Diagonal p = i + causalOffset of the causal and window mask terms; default Nk - Nq (bottom-right). */
  causalOffset?: number;
  /** [left, right]: key j allowed iff p - left <= j <= p + right (Infinity = open), as a mask term. */
  window?: readonly [number, number];
  /**
   * 'mask' (default): causal is an additive mask term with our diagonal. 'native': the op's own
   * is_causal = 1, whose diagonal is ORT's: pastLength with a cache, else key_lengths[b] - Nq with
   * keyLengths, else 0 (top-left); the window term then uses that diagonal too (causalOffset must be unset).
   */
  causalMode?: 'mask' | 'native';
  /** Adds int32 input "key_lengths" [B], fed to the op as nonpad_kv_seqlen (opset 24). */
  keyLengths?: boolean;
  /**
   * The first pastLength keys and values of k and v go in as the op's past_key / past_value, the
   * rest as its K / V; outputs "present_key" / "present_value" (= k, v in [B, Hk, Nk, ·]) are added.
   */
  pastLength?: number;
  /** Adds output "scores" [B, H, Nq, Nk] at this stage (qk_matmul_output_mode 0..3). */
  scores?: 'matmul' | 'softcapped' | 'masked' | 'softmax';
  /**
   * 4 (default) or 3: 3-D inputs q [B, Nq, H·D], k [B, Nk, Hk·D], v [B, Nk, Hk·Dv] and output
   * [B, Nq, H·Dv], i.e. our 'bnhd' layout's data.
   */
  inputRank?: 3 | 4;
  /** Element type of q, k, v, bias and the outputs; default 'float32'. ORT runs Attention in float16 too. */
  dataType?: 'float32' | 'float16';
}

/** Additive score of an excluded key in MultiHeadAttention models: finite (see above), exp() of it is 0. */
export const MASKED_SCORE = -1e30;

const SPEC_KEYS = [
  'op', 'numHeads', 'kvNumHeads', 'headSize', 'vHeadSize', 'scale', 'causal', 'keyMask', 'keyMaskType', 'biasDims',
  'softcap', 'causalOffset', 'window', 'causalMode', 'keyLengths', 'pastLength', 'scores', 'inputRank', 'dataType',
];
const SCORE_MODES = ['matmul', 'softcapped', 'masked', 'softmax'] as const;
const AXES = ['B', 'H', 'Nq', 'Nk'] as const;

interface CheckedSpec {
  op: DenseOnnxSpec['op'];
  H: number;
  Hk: number;
  D: number;
  Dv: number;
  scale: number;
  causal: boolean;
  keyMask: 'int32' | 'bool' | undefined;
  /** Bias dims as ONNX dims (symbols for B/Nq/Nk, numbers otherwise), or undefined. */
  bias: Dim[] | undefined;
  softcap: number | undefined;
  causalOffset: number | undefined;
  /** Window sides; undefined = open. */
  window: [number | undefined, number | undefined] | undefined;
  nativeCausal: boolean;
  keyLengths: boolean;
  pastLength: number;
  /** qk_matmul_output_mode, or undefined for no score output. */
  scoresMode: number | undefined;
  rank: 3 | 4;
  dtype: 'float32' | 'float16';
}

function posInt(name: string, x: unknown): number {
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 1)
    throw new RangeError(`DenseOnnxSpec.${name} must be a positive integer, got ${String(x)}`);
  return x;
}

function bool(name: string, x: unknown): boolean {
  if (x === undefined) return false;
  if (typeof x !== 'boolean') throw new TypeError(`DenseOnnxSpec.${name} must be a boolean, got ${String(x)}`);
  return x;
}

/** Validates a spec; every error names the field. */
function checkSpec(spec: DenseOnnxSpec): CheckedSpec {
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec))
    throw new TypeError(`DenseOnnxSpec must be an object, got ${spec === null ? 'null' : typeof spec}`);
  for (const k of Object.keys(spec))
    if (!SPEC_KEYS.includes(k)) throw new TypeError(`DenseOnnxSpec: unknown field '${k}' (allowed: ${SPEC_KEYS.join(', ')})`);
  if (spec.op !== 'Attention' && spec.op !== 'MultiHeadAttention')
    throw new RangeError(`DenseOnnxSpec.op must be 'Attention' or 'MultiHeadAttention', got ${JSON.stringify(spec.op)}`);
  const H = posInt('numHeads', spec.numHeads);
  const Hk = spec.kvNumHeads === undefined ? H : posInt('kvNumHeads', spec.kvNumHeads);
  if (H % Hk !== 0) throw new RangeError(`DenseOnnxSpec: numHeads (${H}) must be a multiple of kvNumHeads (${Hk})`);
  if (spec.op === 'MultiHeadAttention' && Hk !== H)
    throw new RangeError(
      `DenseOnnxSpec: com.microsoft MultiHeadAttention has no grouped-query attention (kvNumHeads ${Hk} != numHeads ${H}); use op 'Attention'`,
    );
  const D = posInt('headSize', spec.headSize);
  const Dv = spec.vHeadSize === undefined ? D : posInt('vHeadSize', spec.vHeadSize);
  let scale = 1 / Math.sqrt(D);
  if (spec.scale !== undefined) {
    if (typeof spec.scale !== 'number' || !Number.isFinite(spec.scale))
      throw new RangeError(`DenseOnnxSpec.scale must be a finite number, got ${String(spec.scale)}`);
    scale = spec.scale;
  }
  const causal = bool('causal', spec.causal);
  const hasMask = bool('keyMask', spec.keyMask);
  if (spec.keyMaskType !== undefined && spec.keyMaskType !== 'int32' && spec.keyMaskType !== 'bool')
    throw new RangeError(`DenseOnnxSpec.keyMaskType must be 'int32' or 'bool', got ${JSON.stringify(spec.keyMaskType)}`);
  if (spec.keyMaskType !== undefined && !hasMask) throw new RangeError('DenseOnnxSpec.keyMaskType is given but keyMask is not true');
  let bias: Dim[] | undefined;
  if (spec.biasDims !== undefined) {
    if (!Array.isArray(spec.biasDims)) throw new TypeError('DenseOnnxSpec.biasDims must be an array');
    const r = spec.biasDims.length;
    if (r > 4) throw new RangeError(`DenseOnnxSpec.biasDims must have at most 4 dims, got ${r}`);
    bias = spec.biasDims.map((d, i) => {
      const axis = AXES[4 - r + i]; // NumPy broadcasting aligns trailing dims
      const bad = () =>
        new RangeError(
          `DenseOnnxSpec.biasDims[${i}] = ${JSON.stringify(d)} does not broadcast to the ${axis} axis of [B, H, Nq, Nk] ` +
            `(use 1, '${axis}'${axis === 'H' ? ` or ${H}` : ''})`,
        );
      if (typeof d === 'string') {
        if (d !== axis) throw bad();
        return d === 'H' ? H : d;
      }
      if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 1) throw bad();
      if (axis === 'H' && d !== 1 && d !== H) throw bad();
      return d;
    });
  }
  const std = checkStandardSpec(spec, spec.op, causal);
  return { op: spec.op, H, Hk, D, Dv, scale, causal, keyMask: hasMask ? (spec.keyMaskType ?? 'int32') : undefined, bias, ...std };
}

/** The standard operator's fields of a spec. */
function checkStandardSpec(spec: DenseOnnxSpec, op: DenseOnnxSpec['op'], causal: boolean) {
  const attentionOnly = (field: string) => {
    if (op !== 'Attention') throw new RangeError(`DenseOnnxSpec.${field} needs op 'Attention'`);
  };
  let softcap: number | undefined;
  if (spec.softcap !== undefined) {
    attentionOnly('softcap');
    if (typeof spec.softcap !== 'number' || !(spec.softcap > 0) || !Number.isFinite(spec.softcap))
      throw new RangeError(`DenseOnnxSpec.softcap must be a finite number > 0, got ${String(spec.softcap)}`);
    softcap = spec.softcap;
  }
  let causalOffset: number | undefined;
  if (spec.causalOffset !== undefined) {
    if (typeof spec.causalOffset !== 'number' || !Number.isSafeInteger(spec.causalOffset))
      throw new RangeError(`DenseOnnxSpec.causalOffset must be an integer, got ${String(spec.causalOffset)}`);
    causalOffset = spec.causalOffset;
  }
  let window: [number | undefined, number | undefined] | undefined;
  if (spec.window !== undefined) {
    if (!Array.isArray(spec.window) || spec.window.length !== 2) throw new TypeError('DenseOnnxSpec.window must be [left, right]');
    window = spec.window.map((w, i) => {
      if (typeof w !== 'number' || !(w >= 0) || (w !== Infinity && !Number.isSafeInteger(w)))
        throw new RangeError(`DenseOnnxSpec.window[${i}] must be a non-negative integer or Infinity, got ${String(w)}`);
      return w === Infinity ? undefined : w;
    }) as [number | undefined, number | undefined];
  }
  if (spec.causalMode !== undefined && spec.causalMode !== 'mask' && spec.causalMode !== 'native')
    throw new RangeError(`DenseOnnxSpec.causalMode must be 'mask' or 'native', got ${JSON.stringify(spec.causalMode)}`);
  const nativeCausal = spec.causalMode === 'native';
  if (nativeCausal) {
    attentionOnly('causalMode');
    if (!causal) throw new RangeError("DenseOnnxSpec.causalMode 'native' needs causal: true");
    if (causalOffset !== undefined) throw new RangeError("DenseOnnxSpec.causalOffset cannot be given with causalMode 'native' (ORT picks the diagonal)");
  }
  const keyLengths = bool('keyLengths', spec.keyLengths);
  if (keyLengths) attentionOnly('keyLengths');
  let pastLength = 0;
  if (spec.pastLength !== undefined) {
    attentionOnly('pastLength');
    if (typeof spec.pastLength !== 'number' || !Number.isSafeInteger(spec.pastLength) || spec.pastLength < 0)
      throw new RangeError(`DenseOnnxSpec.pastLength must be a non-negative integer, got ${String(spec.pastLength)}`);
    if (keyLengths) throw new RangeError('DenseOnnxSpec: ORT takes no keyLengths (nonpad_kv_seqlen) together with pastLength (past_key)');
    pastLength = spec.pastLength;
  }
  let scoresMode: number | undefined;
  if (spec.scores !== undefined) {
    attentionOnly('scores');
    scoresMode = SCORE_MODES.indexOf(spec.scores);
    if (scoresMode < 0) throw new RangeError(`DenseOnnxSpec.scores must be one of ${SCORE_MODES.join(', ')}, got ${JSON.stringify(spec.scores)}`);
  }
  if (spec.inputRank !== undefined && spec.inputRank !== 3 && spec.inputRank !== 4)
    throw new RangeError(`DenseOnnxSpec.inputRank must be 3 or 4, got ${String(spec.inputRank)}`);
  const rank = spec.inputRank ?? 4;
  if (rank === 3) attentionOnly('inputRank');
  if (spec.dataType !== undefined && spec.dataType !== 'float32' && spec.dataType !== 'float16')
    throw new RangeError(`DenseOnnxSpec.dataType must be 'float32' or 'float16', got ${JSON.stringify(spec.dataType)}`);
  const dtype = spec.dataType ?? 'float32';
  if (dtype === 'float16') attentionOnly('dataType');
  return { softcap, causalOffset, window, nativeCausal, keyLengths, pastLength, scoresMode, rank, dtype };
}

/** An additive mask term and its rank; `full` when its last two dims are surely [Nq, Nk]. */
interface Term {
  name: string;
  rank: number;
  full: boolean;
}

/** Builds the graph pieces shared by both ops. */
class DenseGraph {
  readonly g = new GraphBuilder('dense_attention');
  readonly q: string;
  readonly k: string;
  readonly v: string;
  readonly keyMask?: string;
  readonly bias?: string;
  readonly keyLengths?: string;
  private nqCache?: string;
  private nkCache?: string;

  /** @param masked the additive score of an excluded key. */
  constructor(readonly s: CheckedSpec, readonly masked: number) {
    const g = this.g;
    const shape = (heads: number, n: string, d: number): Dim[] => (s.rank === 4 ? ['B', heads, n, d] : ['B', n, heads * d]);
    this.q = g.addInput('q', s.dtype, shape(s.H, 'Nq', s.D));
    this.k = g.addInput('k', s.dtype, shape(s.Hk, 'Nk', s.D));
    this.v = g.addInput('v', s.dtype, shape(s.Hk, 'Nk', s.Dv));
    if (s.keyMask) this.keyMask = g.addInput('key_mask', s.keyMask, ['B', 'Nk']);
    if (s.bias) this.bias = g.addInput('bias', s.dtype, s.bias);
    if (s.keyLengths) this.keyLengths = g.addInput('key_lengths', 'int32', ['B']);
  }

  /** Sequence lengths as int64 scalars (0-D), from the input shapes. */
  private seqLen(x: string, base: string): string {
    const axis = this.s.rank === 4 ? 2 : 1;
    return this.g.op('Gather', [this.g.op('Shape', [x]), this.g.constInt64(axis)], { axis: 0 }, { output: this.g.uniqueName(base) });
  }

  get nq(): string {
    return (this.nqCache ??= this.seqLen(this.q, 'nq'));
  }

  get nk(): string {
    return (this.nkCache ??= this.seqLen(this.k, 'nk'));
  }

  /** `masked` where `excluded`, 0 elsewhere. */
  private additive(excluded: string, base: string): string {
    return this.g.op('Where', [excluded, this.g.constFloat(this.masked), this.g.constFloat(0)], {}, { output: this.g.uniqueName(base) });
  }

  /**
   * The diagonal p = i + offset: [Nq, 1] (rank 2) for one offset, [B, Nq, 1] (rank 3) for ORT's
   * per-batch one (native causal with key lengths: key_lengths[b] - Nq).
   */
  private diagonal(): { name: string; rank: number } {
    const g = this.g;
    const s = this.s;
    const i = g.op('Range', [g.constInt64(0), this.nq, g.constInt64(1)]);
    const col = (x: string) => g.op('Unsqueeze', [x, g.constInt64([1])]);
    if (s.nativeCausal && s.pastLength === 0 && this.keyLengths) {
      const off = g.op('Sub', [g.op('Cast', [this.keyLengths], { to: DataType.INT64 }), this.nq]); // [B]
      return { name: g.op('Add', [col(i), g.op('Unsqueeze', [off, g.constInt64([1, 2])])]), rank: 3 };
    }
    let off: string;
    if (s.nativeCausal) off = g.constInt64(s.pastLength);
    else if (s.causalOffset !== undefined) off = g.constInt64(s.causalOffset);
    else off = g.op('Sub', [this.nk, this.nq]);
    return { name: col(g.op('Add', [i, off])), rank: 2 };
  }

  /** Key positions compared with a diagonal: `excluded` as a term of rank 4 ([B|1, 1, Nq, Nk]) or 2. */
  private diagonalTerm(excluded: (j: string, p: string) => string, base: string): Term {
    const g = this.g;
    const j = g.op('Range', [g.constInt64(0), this.nk, g.constInt64(1)]);
    const p = this.diagonal();
    const add = this.additive(excluded(j, p.name), base);
    if (p.rank === 2) return { name: add, rank: 2, full: true };
    return { name: g.op('Unsqueeze', [add, g.constInt64([1])]), rank: 4, full: true };
  }

  /** Key j excluded for query i when j > p (bottom-right aligned unless causalOffset moves it). */
  causalTerm(): Term {
    return this.diagonalTerm((j, p) => this.g.op('Greater', [j, p]), 'causal_mask');
  }

  /** Key j excluded for query i when j < p - left or j > p + right. */
  windowTerm(): Term {
    const g = this.g;
    const [left, right] = this.s.window!;
    return this.diagonalTerm((j, p) => {
      const parts: string[] = [];
      if (left !== undefined) parts.push(g.op('Less', [j, g.op('Sub', [p, g.constInt64(left)])]));
      if (right !== undefined) parts.push(g.op('Greater', [j, g.op('Add', [p, g.constInt64(right)])]));
      return parts.length === 1 ? parts[0] : g.op('Or', parts); // (both sides open: no term, see maskTerms)
    }, 'window_mask');
  }

  /** [B, 1, 1, Nk] from the key mask (anything nonzero attends). */
  keyMaskTerm(): Term {
    const g = this.g;
    const m = this.keyMask!;
    const excluded = this.s.keyMask === 'bool' ? g.op('Not', [m]) : g.op('Equal', [m, g.constInt32(0)]);
    return { name: g.op('Unsqueeze', [this.additive(excluded, 'key_mask_add'), g.constInt64([1, 2])]), rank: 4, full: false };
  }

  biasTerm(): Term {
    const d = this.s.bias!;
    const r = d.length;
    // A dim of 1 may or may not equal Nq / Nk; anything else must equal it.
    return { name: this.bias!, rank: r, full: r >= 2 && d[r - 2] !== 1 && d[r - 1] !== 1 };
  }

  /**
   * Sum of the terms, with last two dims made exactly [Nq, Nk] (both ORT ops require that) and
   * at least `minRank` dims. Undefined when there are no terms.
   */
  combine(terms: Term[], minRank: number): string | undefined {
    if (terms.length === 0) return undefined;
    const g = this.g;
    if (!terms.some((t) => t.full)) {
      const ax = this.s.rank === 4 ? 2 : 1;
      const shape = g.op('Concat', [g.op('Shape', [this.q], { start: ax, end: ax + 1 }), g.op('Shape', [this.k], { start: ax, end: ax + 1 })], { axis: 0 });
      terms = [...terms, { name: g.op('ConstantOfShape', [shape], { value: tensor('float32', [1], [0]) }), rank: 2, full: true }];
    }
    // The terms built here are float32; a float16 bias joins them as float32 and the sum goes back.
    const f32 = (t: Term) => (this.s.dtype === 'float16' && t.name === this.bias ? g.op('Cast', [t.name], { to: DataType.FLOAT }) : t.name);
    let sum = f32(terms[0]);
    for (const t of terms.slice(1)) sum = g.op('Add', [sum, f32(t)]);
    if (this.s.dtype === 'float16') sum = g.op('Cast', [sum], { to: DataType.FLOAT16 });
    const rank = Math.max(...terms.map((t) => t.rank));
    if (rank < minRank) sum = g.op('Unsqueeze', [sum, g.constInt64(Array.from({ length: minRank - rank }, (_, i) => i))]);
    return sum;
  }

  /** q, pre-multiplied by the scale when the op cannot take it as an attribute (ORT needs scale > 0). */
  scaledQ(): { q: string; scale: number } {
    if (this.s.scale > 0) return { q: this.q, scale: this.s.scale };
    let c = this.g.constFloat(this.s.scale);
    if (this.s.dtype === 'float16') c = this.g.op('Cast', [c], { to: DataType.FLOAT16 });
    return { q: this.g.op('Mul', [this.q, c]), scale: 1 };
  }

  /** The additive mask terms: causal (unless the op's own), window, key mask (unless the op takes it apart), bias. */
  maskTerms(withKeyMask: boolean): Term[] {
    const terms: Term[] = [];
    if (this.s.causal && !this.s.nativeCausal) terms.push(this.causalTerm());
    if (this.s.window && this.s.window.some((w) => w !== undefined)) terms.push(this.windowTerm());
    if (this.keyMask && withKeyMask) terms.push(this.keyMaskTerm());
    if (this.bias) terms.push(this.biasTerm());
    return terms;
  }
}

/** x[..., from:to, ...] along the sequence axis of a k/v input; as the op's 4-D cache when `asCache`. */
function sliceKeys(dg: DenseGraph, x: string, from: number, to: number | undefined, heads: number, asCache: boolean): string {
  const g = dg.g;
  const ax = dg.s.rank === 4 ? 2 : 1;
  const end = to === undefined ? g.op('Gather', [g.op('Shape', [x]), g.constInt64(ax)], { axis: 0 }) : g.constInt64(to);
  const sl = g.op('Slice', [x, g.constInt64([from]), to === undefined ? g.op('Unsqueeze', [end, g.constInt64([0])]) : g.constInt64([to]), g.constInt64([ax])]);
  if (!asCache || dg.s.rank === 4) return sl;
  return g.op('Transpose', [g.op('Reshape', [sl, g.constInt64([0, 0, heads, -1])])], { perm: [0, 2, 1, 3] });
}

/** ONNX standard Attention (opset 23, or 24 with key lengths), on our layout directly; GQA is native. Exactly our semantics, empty rows included. */
function buildAttention(s: CheckedSpec): Uint8Array {
  const dg = new DenseGraph(s, -Infinity);
  const g = dg.g;
  const mask = dg.combine(dg.maskTerms(true), 2);
  const { q, scale } = dg.scaledQ();
  let k = dg.k;
  let v = dg.v;
  let pastK = '';
  let pastV = '';
  if (s.pastLength > 0) {
    pastK = sliceKeys(dg, dg.k, 0, s.pastLength, s.Hk, true);
    pastV = sliceKeys(dg, dg.v, 0, s.pastLength, s.Hk, true);
    k = sliceKeys(dg, dg.k, s.pastLength, undefined, s.Hk, false);
    v = sliceKeys(dg, dg.v, s.pastLength, undefined, s.Hk, false);
  }
  const nonpad = dg.keyLengths ? g.op('Cast', [dg.keyLengths], { to: DataType.INT64 }) : '';
  const inputs = [q, k, v, mask ?? '', pastK, pastV, nonpad];
  while (inputs[inputs.length - 1] === '') inputs.pop();
  const outputs = ['out', s.pastLength > 0 ? 'present_key' : '', s.pastLength > 0 ? 'present_value' : '', s.scoresMode !== undefined ? 'scores' : ''];
  while (outputs[outputs.length - 1] === '') outputs.pop();
  const attrs: Record<string, ReturnType<typeof attr.float> | number> = {
    q_num_heads: s.H, kv_num_heads: s.Hk, scale: attr.float(scale), is_causal: s.nativeCausal ? 1 : 0,
  };
  if (s.softcap !== undefined) attrs.softcap = attr.float(s.softcap);
  if (s.scoresMode !== undefined) attrs.qk_matmul_output_mode = s.scoresMode;
  g.addNode('Attention', inputs, outputs, attrs);
  g.addOutput('out', s.dtype, s.rank === 4 ? ['B', s.H, 'Nq', s.Dv] : ['B', 'Nq', s.H * s.Dv]);
  if (s.pastLength > 0) {
    g.addOutput('present_key', s.dtype, ['B', s.Hk, 'Nk', s.D]);
    g.addOutput('present_value', s.dtype, ['B', s.Hk, 'Nk', s.Dv]);
  }
  // [B, H, Nq, Nk], left undeclared: ORT 1.30's shape inference gives this output a last dim of 0
  // whatever we declare (it then logs a harmless size warning at run time).
  if (s.scoresMode !== undefined) g.addOutput('scores', s.dtype);
  return g.toModel({ opsets: { '': dg.keyLengths ? 24 : 23 } });
}

/**
 * com.microsoft MultiHeadAttention: 3-D [B, S, H*D] inputs, so the graph transposes and
 * reshapes around it. The key mask goes in as its key_padding_mask [B, Nk] (int32, 1 = attend);
 * causal and bias as attention_bias [B|1, H|1, Nq, Nk].
 */
function buildMultiHeadAttention(s: CheckedSpec): Uint8Array {
  const dg = new DenseGraph(s, MASKED_SCORE);
  const g = dg.g;
  const toBSHD = (x: string, hidden: number) =>
    g.op('Reshape', [g.op('Transpose', [x], { perm: [0, 2, 1, 3] }), g.constInt64([0, 0, hidden])]);
  const attentionBias = dg.combine(dg.maskTerms(false), 4);  // the key mask goes in as key_padding_mask
  let padding = '';
  if (dg.keyMask) {
    // ORT attends where mask > 0; we attend where mask != 0.
    const attend = s.keyMask === 'bool' ? dg.keyMask : g.op('Not', [g.op('Equal', [dg.keyMask, g.constInt32(0)])]);
    padding = g.op('Cast', [attend], { to: DataType.INT32 });
  }
  const { q, scale } = dg.scaledQ();
  const inputs = [toBSHD(q, s.H * s.D), toBSHD(dg.k, s.H * s.D), toBSHD(dg.v, s.H * s.Dv), '', padding, attentionBias ?? ''];
  while (inputs[inputs.length - 1] === '') inputs.pop();
  const [o] = g.addNode('MultiHeadAttention', inputs, 1, {
    num_heads: s.H, scale: attr.float(scale), mask_filter_value: attr.float(MASKED_SCORE), unidirectional: 0,
  }, { domain: 'com.microsoft' });
  const o4 = g.op('Reshape', [o, g.constInt64([0, 0, s.H, s.Dv])]);
  g.addNode('Transpose', [o4], ['out'], { perm: [0, 2, 1, 3] });
  g.addOutput('out', 'float32', ['B', s.H, 'Nq', s.Dv]);
  return g.toModel({ opsets: { '': 23, 'com.microsoft': 1 } });
}

/**
 * An ONNX model computing dense attention with our semantics. Inputs "q" [B,H,Nq,D],
 * "k" [B,Hk,Nk,D], "v" [B,Hk,Nk,Dv] (float32; 3-D with inputRank 3), optional "key_mask" [B,Nk],
 * "bias" (spec.biasDims) and "key_lengths" [B] (int32); output "out" [B,H,Nq,Dv], plus "scores"
 * and "present_key"/"present_value" when asked. Throws TypeError/RangeError on a bad spec.
 */
export function buildDenseAttentionModel(spec: DenseOnnxSpec): Uint8Array {
  const s = checkSpec(spec);
  return s.op === 'Attention' ? buildAttention(s) : buildMultiHeadAttention(s);
}

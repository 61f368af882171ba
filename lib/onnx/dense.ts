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
}

/** Additive score of an excluded key in MultiHeadAttention models: finite (see above), exp() of it is 0. */
export const MASKED_SCORE = -1e30;

const SPEC_KEYS = ['op', 'numHeads', 'kvNumHeads', 'headSize', 'vHeadSize', 'scale', 'causal', 'keyMask', 'keyMaskType', 'biasDims'];
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
  return { op: spec.op, H, Hk, D, Dv, scale, causal, keyMask: hasMask ? (spec.keyMaskType ?? 'int32') : undefined, bias };
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
  private nqCache?: string;
  private nkCache?: string;

  /** @param masked the additive score of an excluded key. */
  constructor(readonly s: CheckedSpec, readonly masked: number) {
    const g = this.g;
    this.q = g.addInput('q', 'float32', ['B', s.H, 'Nq', s.D]);
    this.k = g.addInput('k', 'float32', ['B', s.Hk, 'Nk', s.D]);
    this.v = g.addInput('v', 'float32', ['B', s.Hk, 'Nk', s.Dv]);
    if (s.keyMask) this.keyMask = g.addInput('key_mask', s.keyMask, ['B', 'Nk']);
    if (s.bias) this.bias = g.addInput('bias', 'float32', s.bias);
  }

  /** Sequence lengths as int64 scalars (0-D), from the input shapes. */
  private seqLen(x: string, base: string): string {
    return this.g.op('Gather', [this.g.op('Shape', [x]), this.g.constInt64(2)], { axis: 0 }, { output: this.g.uniqueName(base) });
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

  /** [Nq, Nk]: key j excluded for query i when j > i + (Nk - Nq) (bottom-right aligned). */
  causalTerm(): Term {
    const g = this.g;
    const one = g.constInt64(1);
    const zero = g.constInt64(0);
    const i = g.op('Range', [zero, this.nq, one]);
    const j = g.op('Range', [zero, this.nk, one]);
    const last = g.op('Unsqueeze', [g.op('Add', [i, g.op('Sub', [this.nk, this.nq])]), g.constInt64([1])]); // [Nq, 1]
    return { name: this.additive(g.op('Greater', [j, last]), 'causal_mask'), rank: 2, full: true };
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
      const shape = g.op('Concat', [g.op('Shape', [this.q], { start: 2, end: 3 }), g.op('Shape', [this.k], { start: 2, end: 3 })], { axis: 0 });
      terms = [...terms, { name: g.op('ConstantOfShape', [shape], { value: tensor('float32', [1], [0]) }), rank: 2, full: true }];
    }
    let sum = terms[0].name;
    for (const t of terms.slice(1)) sum = g.op('Add', [sum, t.name]);
    const rank = Math.max(...terms.map((t) => t.rank));
    if (rank < minRank) sum = g.op('Unsqueeze', [sum, g.constInt64(Array.from({ length: minRank - rank }, (_, i) => i))]);
    return sum;
  }

  /** q, pre-multiplied by the scale when the op cannot take it as an attribute (ORT needs scale > 0). */
  scaledQ(): { q: string; scale: number } {
    if (this.s.scale > 0) return { q: this.q, scale: this.s.scale };
    return { q: this.g.op('Mul', [this.q, this.g.constFloat(this.s.scale)]), scale: 1 };
  }
}

/** ONNX standard Attention (opset 23), on our 4-D layout directly; GQA is native. Exactly our semantics, empty rows included. */
function buildAttention(s: CheckedSpec): Uint8Array {
  const dg = new DenseGraph(s, -Infinity);
  const g = dg.g;
  const terms: Term[] = [];
  if (s.causal) terms.push(dg.causalTerm());
  if (dg.keyMask) terms.push(dg.keyMaskTerm());
  if (dg.bias) terms.push(dg.biasTerm());
  const mask = dg.combine(terms, 2);
  const { q, scale } = dg.scaledQ();
  g.addNode('Attention', mask ? [q, dg.k, dg.v, mask] : [q, dg.k, dg.v], ['out'], {
    q_num_heads: s.H, kv_num_heads: s.Hk, scale: attr.float(scale), is_causal: 0,
  });
  g.addOutput('out', 'float32', ['B', s.H, 'Nq', s.Dv]);
  return g.toModel({ opsets: { '': 23 } });
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
  const terms: Term[] = [];
  if (s.causal) terms.push(dg.causalTerm());
  if (dg.bias) terms.push(dg.biasTerm());
  const attentionBias = dg.combine(terms, 4);
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
 * "k" [B,Hk,Nk,D], "v" [B,Hk,Nk,Dv] (float32), optional "key_mask" [B,Nk] and "bias"
 * (spec.biasDims); output "out" [B,H,Nq,Dv]. Throws TypeError/RangeError on a bad spec.
 */
export function buildDenseAttentionModel(spec: DenseOnnxSpec): Uint8Array {
  const s = checkSpec(spec);
  return s.op === 'Attention' ? buildAttention(s) : buildMultiHeadAttention(s);
}

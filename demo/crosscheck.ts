// The demo's cross-checks: the same inputs through ONNX Runtime (onnxruntime-node, a dev
// dependency) and, without ORT, the step-by-step TGlobal pipeline against the layer's one-call
// forward(). ORT missing is reported, not fatal.
import { crossCheck, type CrossCheckReport } from '../lib';
import { buildDenseAttentionModel, isOnnxRuntimeUnavailable, runOnnx } from '../lib/onnx';
import type { DemoMaps } from './model';

export interface CheckLine {
  /** What is compared with what. */
  name: string;
  /** The reference: 'onnxruntime' or 'library'. */
  against: string;
  maxAbs: number;
  maxRel: number;
  tolerance: number;
  ok: boolean;
  note?: string;
}

export interface CrossCheckSummary {
  /** ONNX Runtime could be loaded and ran. */
  ortAvailable: boolean;
  /** Why it could not (message), when not. */
  ortError?: string;
  lines: CheckLine[];
  /** Every check that ran passed. */
  ok: boolean;
}

const TOLERANCE = 1e-4;

function compare(a: Float32Array, b: Float32Array): { maxAbs: number; maxRel: number } {
  if (a.length !== b.length) return { maxAbs: Infinity, maxRel: Infinity };
  let maxAbs = 0, maxRef = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= maxAbs)) maxAbs = d;
    maxRef = Math.max(maxRef, Math.abs(a[i]));
  }
  return { maxAbs, maxRel: maxAbs === 0 ? 0 : maxAbs / maxRef };
}

function line(name: string, against: string, r: { maxAbs: number; maxRel: number }, note?: string): CheckLine {
  const l: CheckLine = { name, against, ...r, tolerance: TOLERANCE, ok: r.maxRel <= TOLERANCE };
  if (note) l.note = note;
  return l;
}

const fromReport = (name: string, r: CrossCheckReport, note: string): CheckLine =>
  line(name, 'onnxruntime', { maxAbs: r.outputs[0].maxAbs, maxRel: r.outputs[0].maxRel }, note);


export async function runCrossChecks(maps: DemoMaps): Promise<CrossCheckSummary> {
  const { N, G, q, k, v, hidden, layer } = maps;
  const lines: CheckLine[] = [];

  // 1. The pictures' pipeline is the layer: q/k/v, globals, TGlobal core, Wo step by step == layer.forward().
  const forward = layer.forward(hidden, new Uint8Array(N).fill(1));
  lines.push(line('TGlobal step by step (linear, globalAggregates, transientGlobalAttention, linear) vs layer.forward()', 'library',
    compare(maps.tglobalLayerOut.data, forward.data)));

  const summary: CrossCheckSummary = { ortAvailable: true, lines, ok: true };
  try {
    // 2. Dense: crossCheck runs attention() and ORT's standard Attention op on the same q, k, v.
    // crossCheck uses the default scale 1/√D; the maps use 1, so q is given times √D (same scores).
    const D = q.dims[3];
    const qScaled = { data: q.data.map((x) => x * Math.sqrt(D)), dims: q.dims };
    const dense = await crossCheck('dense', { q: qScaled, k, v, mask: new Uint8Array(N).fill(1), tolerance: TOLERANCE });
    lines.push(fromReport('dense attention()', dense, 'ONNX Attention op (opset 23)'));

    // 3. TGlobal: the whole layer vs the ONNX graph layer.toOnnx() builds from standard ops.
    const tg = await crossCheck(layer, { hidden, mask: new Uint8Array(N).fill(1), tolerance: TOLERANCE });
    lines.push(fromReport('LongT5 TGlobal layer forward()', tg, 'layer.toOnnx() graph'));

    // 4. Block-global: dense attention over [tokens; block means] where each query may see only its
    //    own block and its own block's mean (an additive bias of -Infinity elsewhere).
    if (G > 0) {
      const ref = await blockGlobalReference(maps);
      lines.push(line('blockGlobalAttention()', 'onnxruntime', compare(maps.blockGlobalOut.data, ref),
        'ONNX Attention op over [tokens; block means] with a block bias'));
    }
  } catch (e) {
    if (!isOnnxRuntimeUnavailable(e)) throw e; // a failing check, not a missing ORT
    summary.ortAvailable = false;
    summary.ortError = String((e as Error).message ?? e);
  }
  summary.ok = lines.every((l) => l.ok);
  return summary;
}

/** ORT's Attention op on keys/values [k; block means of k] with -Infinity outside the own block. */
async function blockGlobalReference(maps: DemoMaps): Promise<Float32Array> {
  const { N, G, q, k, v, blockIds } = maps;
  const [, H, , D] = q.dims;
  const Dv = v.dims[3];
  const Nk = N + G;
  const extend = (t: Float32Array, width: number) => {
    const out = new Float32Array(H * Nk * width);
    for (let h = 0; h < H; h++) {
      out.set(t.subarray(h * N * width, (h + 1) * N * width), h * Nk * width);
      const counts = new Float64Array(G);
      const sums = new Float64Array(G * width);
      for (let i = 0; i < N; i++) {
        const b = blockIds[i];
        counts[b]++;
        for (let d = 0; d < width; d++) sums[b * width + d] += t[(h * N + i) * width + d];
      }
      for (let b = 0; b < G; b++)
        for (let d = 0; d < width; d++) out[(h * Nk + N + b) * width + d] = sums[b * width + d] / counts[b];
    }
    return out;
  };
  const bias = new Float32Array(N * Nk).fill(-Infinity);
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) if (blockIds[j] === blockIds[i]) bias[i * Nk + j] = 0;
    bias[i * Nk + N + blockIds[i]] = 0;
  }
  const model = buildDenseAttentionModel({ op: 'Attention', numHeads: H, headSize: D, vHeadSize: Dv, scale: 1, biasDims: ['Nq', 'Nk'] });
  const res = await runOnnx(model, {
    q, k: { data: extend(k.data, D), dims: [1, H, Nk, D] }, v: { data: extend(v.data, Dv), dims: [1, H, Nk, Dv] },
    bias: { data: bias, dims: [N, Nk] },
  });
  return res.out.data as Float32Array;
}

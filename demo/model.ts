// The demo's toy model: a seeded random embedding per word and a seeded random LongT5 TGlobal
// layer (one head), and the three attention maps computed from them with the library's public API:
//   dense         attention(q, k, v, { returnWeights })
//   TGlobal       globalAggregates + linear for the global keys/values, then
//                 transientGlobalAttention(q, k, v, globalK, globalV, { localRadius, globalBlockSize, ... })
//   block-global  blockGlobalAttention(q, k, v, { blockSize, returnWeights })
// The weights are random: the maps show which keys each query CAN see and what that costs, not
// anything about language.
import {
  LongT5TransientGlobalAttention, attention, blockGlobalAttention, globalAggregates, globalBlockIds, linear,
  transientGlobalAttention, type LongT5Config, type Tensor,
} from '../lib';
import { mulberry32, uniform } from '../lib/random';

/** Toy layer size: one head so that each map is one picture. */
export const D_MODEL = 32;
export const D_KV = 16;
export const HEADS = 1;
export const NUM_BUCKETS = 32;
export const MAX_DISTANCE = 128;

/** FNV-1a of a string, for a per-word seed. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** [1, N, D_MODEL]: each word (lowercased) gets its own seeded random vector, so repeated words share one. */
export function embed(tokens: readonly string[], seed: number): Tensor {
  const data = new Float32Array(tokens.length * D_MODEL);
  tokens.forEach((t, i) => data.set(uniform(mulberry32(hash(t.toLowerCase()) ^ seed), D_MODEL, Math.sqrt(3)), i * D_MODEL));
  return { data, dims: [1, tokens.length, D_MODEL] };
}

/** A LongT5 TGlobal layer with seeded random weights (Hugging Face config and weight names). */
export function randomLayer(seed: number, radius: number, blockSize: number): LongT5TransientGlobalAttention {
  const config: LongT5Config = {
    d_model: D_MODEL, d_kv: D_KV, num_heads: HEADS, local_radius: radius, global_block_size: blockSize,
    relative_attention_num_buckets: NUM_BUCKETS, relative_attention_max_distance: MAX_DISTANCE, layer_norm_epsilon: 1e-6,
  };
  const r = mulberry32(seed * 7919 + 17);
  const HD = HEADS * D_KV;
  // Scales chosen so that q·k spreads over a few units: softmax rows are neither flat nor one-hot.
  const qk = 0.2;
  return new LongT5TransientGlobalAttention(config, {
    'q.weight': uniform(r, HD * D_MODEL, qk),
    'k.weight': uniform(r, HD * D_MODEL, qk),
    'v.weight': uniform(r, HD * D_MODEL, 1 / Math.sqrt(D_MODEL)),
    'o.weight': uniform(r, D_MODEL * HD, 1 / Math.sqrt(HD)),
    'relative_attention_bias.weight': uniform(r, NUM_BUCKETS * HEADS, 0.5),
    'global_relative_attention_bias.weight': uniform(r, NUM_BUCKETS * HEADS, 0.5),
    'global_input_layer_norm.weight': new Float32Array(D_MODEL).fill(1),
  });
}

/** [B, N, H, D] → [B, H, N, D] (the layout attention() and blockGlobalAttention() take). */
export function toBhnd(t: Tensor): Tensor {
  const [B, N, H, D] = t.dims;
  const out = new Float32Array(t.data.length);
  for (let b = 0; b < B; b++)
    for (let n = 0; n < N; n++)
      for (let h = 0; h < H; h++) {
        const src = ((b * N + n) * H + h) * D;
        out.set(t.data.subarray(src, src + D), ((b * H + h) * N + n) * D);
      }
  return { data: out, dims: [B, H, N, D] };
}

export interface DemoMaps {
  N: number;
  /** Global tokens, floor(N / g). */
  G: number;
  radius: number;
  blockSize: number;
  /** Block of each token (globalBlockIds). */
  blockIds: Int32Array;
  /** Tokens each global token sums, by block. */
  blocks: number[][];
  /** Row-major probabilities of head 0: dense N×N; TGlobal and block-global N×(N+G) (N token keys, then G global keys). */
  dense: Float32Array;
  tglobal: Float32Array;
  blockGlobal: Float32Array;
  /** Inputs, for the cross-checks: hidden [1,N,C]; q/k/v [1,H,N,D]. */
  hidden: Tensor;
  q: Tensor;
  k: Tensor;
  v: Tensor;
  layer: LongT5TransientGlobalAttention;
  /** blockGlobalAttention's output, [1, H, N, D]. */
  blockGlobalOut: Tensor;
  /** The TGlobal layer output computed step by step here (… then · Woᵀ), [1, N, d_model]. */
  tglobalLayerOut: Tensor;
}

/** Head 0 of weights [1, H, N, W] → N×W. */
const head0 = (w: Tensor): Float32Array => w.data.slice(0, w.dims[2] * w.dims[3]);

export function computeMaps(tokens: readonly string[], seed: number, radius: number, blockSize: number): DemoMaps {
  const N = tokens.length;
  const layer = randomLayer(seed, radius, blockSize);
  const w = layer.weights;
  const hidden = embed(tokens, seed);
  const mask = new Uint8Array(N).fill(1);

  // 1. Which block each token belongs to (LongT5's rule: a short last block merges into the previous one).
  const { blockIds, G } = globalBlockIds(mask, blockSize);
  const blocks: number[][] = Array.from({ length: G }, () => []);
  blockIds.forEach((b, i) => b >= 0 && blocks[b].push(i));

  // 2. Projections, [1, N, H·D] read as [1, N, H, D] (layout 'bnhd').
  const proj = (name: string, x: Tensor) => {
    const y = linear(x, { data: w[name], dims: [HEADS * D_KV, D_MODEL] });
    return { data: y.data, dims: [1, x.dims[1], HEADS, D_KV] };
  };
  const q = proj('q.weight', hidden), k = proj('k.weight', hidden), v = proj('v.weight', hidden);

  // 3. Global tokens: the SUM of each block's embeddings, RMS-normalised, then projected like any token.
  const aggregates = globalAggregates(hidden, mask, blockSize, { normWeight: w['global_input_layer_norm.weight'], eps: 1e-6 });
  const globalK = proj('k.weight', aggregates), globalV = proj('v.weight', aggregates);

  // 4. TGlobal: local window |i − j| <= r plus every global token, T5 relative biases, no 1/√D.
  const tg = transientGlobalAttention(q, k, v, globalK, globalV, {
    localRadius: radius, globalBlockSize: blockSize, layout: 'bnhd', returnWeights: true,
    relativeAttentionBias: { data: w['relative_attention_bias.weight'], dims: [NUM_BUCKETS, HEADS] },
    globalRelativeAttentionBias: { data: w['global_relative_attention_bias.weight'], dims: [NUM_BUCKETS, HEADS] },
    maxDistance: MAX_DISTANCE,
  });
  const tglobalLayerOut = linear({ data: tg.data, dims: [1, N, HEADS * D_KV] }, { data: w['o.weight'], dims: [D_MODEL, HEADS * D_KV] });

  // 5. Dense and block-global on the same q, k, v (scale 1, as T5 does, so the three are comparable).
  const qb = toBhnd(q), kb = toBhnd(k), vb = toBhnd(v);
  const dense = attention(qb, kb, vb, { scale: 1, returnWeights: true });
  const bg = blockGlobalAttention(qb, kb, vb, { blockSize, scale: 1, returnWeights: true });

  return {
    N, G, radius, blockSize, blockIds, blocks,
    dense: head0(dense.weights!), tglobal: head0(tg.weights!), blockGlobal: head0(bg.weights!),
    hidden, q: qb, k: kb, v: vb, layer, blockGlobalOut: { data: bg.data, dims: bg.dims }, tglobalLayerOut,
  };
}

/** Whether query i attends to key column c of a map (the structure, not the value). */
export function attends(kind: 'dense' | 'tglobal' | 'blockGlobal', maps: DemoMaps, i: number, c: number): boolean {
  const { N, radius, blockIds } = maps;
  if (kind === 'dense') return true;
  if (kind === 'tglobal') return c < N ? Math.abs(i - c) <= radius : true;
  return c < N ? blockIds[c] === blockIds[i] : c - N === blockIds[i];
}

/** The top `n` columns of row i by weight: [column, weight][]. */
export function topKeys(weights: Float32Array, width: number, i: number, n = 3): [number, number][] {
  const row = Array.from(weights.subarray(i * width, (i + 1) * width), (x, c) => [c, x] as [number, number]);
  return row.sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, n);
}

/** Largest |Σ_row − 1| over the rows of a map. */
export function maxRowSumError(weights: Float32Array, width: number): number {
  let worst = 0;
  for (let i = 0; i * width < weights.length; i++) {
    let s = 0;
    for (let c = 0; c < width; c++) s += weights[i * width + c];
    worst = Math.max(worst, Math.abs(s - 1));
  }
  return worst;
}

// A plain float64 JavaScript reference of the whole LongT5 model (encoder, teacher-forced decoder,
// LM head), written from test/fixtures/longt5-model/README.md. The encoder's attention layers are
// refLayer (test/helpers/longt5-reference.ts, itself checked against HF's fixtures); everything
// else — embedding, RMS norm, feed-forward, the decoder's causal self-attention with unidirectional
// T5 buckets, cross-attention, the LM head — is written here and shares no code with lib/ or native/.
import { refLayer, refLinear } from './longt5-reference';

export interface RefModelConfig {
  vocab_size: number; d_model: number; d_kv: number; num_heads: number; d_ff: number;
  num_layers: number; num_decoder_layers: number;
  local_radius: number; global_block_size: number;
  relative_attention_num_buckets: number; relative_attention_max_distance: number;
  layer_norm_epsilon: number;
  encoder_attention_type: 'local' | 'transient-global';
  feed_forward_proj: 'relu' | 'gated-gelu';
  tie_word_embeddings: boolean;
}

type Weights = Map<string, ArrayLike<number>>;

function rms(x: ArrayLike<number>, rows: number, C: number, w: ArrayLike<number>, eps: number): Float64Array {
  const out = new Float64Array(rows * C);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let c = 0; c < C; c++) ss += x[r * C + c] ** 2;
    const inv = 1 / Math.sqrt(ss / C + eps);
    for (let c = 0; c < C; c++) out[r * C + c] = w[c] * x[r * C + c] * inv;
  }
  return out;
}

function feedForward(cfg: RefModelConfig, w: (n: string) => ArrayLike<number>, prefix: string, x: Float64Array, rows: number): Float64Array {
  const C = cfg.d_model, F = cfg.d_ff;
  let h: Float64Array;
  if (cfg.feed_forward_proj === 'gated-gelu') {
    const a = refLinear(x, rows, C, w(prefix + 'wi_0.weight'), F);
    const b = refLinear(x, rows, C, w(prefix + 'wi_1.weight'), F);
    h = a.map((v, i) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))) * b[i]);
  } else {
    h = refLinear(x, rows, C, w(prefix + 'wi.weight'), F).map((v) => Math.max(v, 0));
  }
  return refLinear(h, rows, F, w(prefix + 'wo.weight'), C);
}

/** T5's bucket with bidirectional=False (keys after the query: 0), in float64 (HF uses float32 logs; the tests keep away from its borderlines). */
export function refCausalBucket(rel: number, numBuckets: number, maxDistance: number): number {
  const n = Math.max(-rel, 0);
  const maxExact = Math.floor(numBuckets / 2);
  if (n < maxExact) return n;
  const large = maxExact + Math.trunc((Math.log(n / maxExact) / Math.log(maxDistance / maxExact)) * (numBuckets - maxExact));
  return Math.min(large, numBuckets - 1);
}

/** The encoder's last hidden state [B, N, d_model] (padded rows: whatever this computes). */
export function refEncoder(cfg: RefModelConfig, weights: Weights, ids: ArrayLike<number>, mask: ArrayLike<number>, B: number, N: number): Float64Array {
  const w = (n: string) => {
    const t = weights.get(n);
    if (!t) throw new Error(`refEncoder: no ${n}`);
    return t;
  };
  const C = cfg.d_model;
  const emb = w('shared.weight');
  let x = new Float64Array(B * N * C);
  for (let i = 0; i < B * N; i++) for (let c = 0; c < C; c++) x[i * C + c] = emb[ids[i] * C + c];
  const A = cfg.encoder_attention_type === 'local' ? 'LocalSelfAttention' : 'TransientGlobalSelfAttention';
  const kind = cfg.encoder_attention_type === 'local' ? 'local' : 'tglobal';
  for (let l = 0; l < cfg.num_layers; l++) {
    const p = `encoder.block.${l}.layer.0.${A}.`;
    const lw: Record<string, ArrayLike<number>> = {
      'q.weight': w(p + 'q.weight'), 'k.weight': w(p + 'k.weight'), 'v.weight': w(p + 'v.weight'), 'o.weight': w(p + 'o.weight'),
      'relative_attention_bias.weight': w(`encoder.block.0.layer.0.${A}.relative_attention_bias.weight`),
    };
    if (kind === 'tglobal') {
      lw['global_relative_attention_bias.weight'] = w(`encoder.block.0.layer.0.${A}.global_relative_attention_bias.weight`);
      lw['global_input_layer_norm.weight'] = w(p + 'global_input_layer_norm.weight');
    }
    const n = rms(x, B * N, C, w(`encoder.block.${l}.layer.0.layer_norm.weight`), cfg.layer_norm_epsilon);
    const att = refLayer(kind, cfg, lw, { data: n, dims: [B, N, C] }, mask).out;
    x = x.map((v, i) => v + att[i]);
    const f = feedForward(cfg, w, `encoder.block.${l}.layer.1.DenseReluDense.`, rms(x, B * N, C, w(`encoder.block.${l}.layer.1.layer_norm.weight`), cfg.layer_norm_epsilon), B * N);
    x = x.map((v, i) => v + f[i]);
  }
  return rms(x, B * N, C, w('encoder.final_layer_norm.weight'), cfg.layer_norm_epsilon);
}

/** softmax(q kᵀ + bias) v per head over the allowed keys; rows with none allowed give 0. */
function attend(q: Float64Array, k: Float64Array, v: Float64Array, H: number, D: number, Nq: number, Nk: number,
                allowed: (i: number, j: number) => boolean, bias: (h: number, i: number, j: number) => number): Float64Array {
  const out = new Float64Array(Nq * H * D);
  const s = new Float64Array(Nk);
  for (let h = 0; h < H; h++)
    for (let i = 0; i < Nq; i++) {
      let mx = -Infinity;
      for (let j = 0; j < Nk; j++) {
        if (!allowed(i, j)) {
          s[j] = -Infinity;
          continue;
        }
        let d = 0;
        for (let e = 0; e < D; e++) d += q[(i * H + h) * D + e] * k[(j * H + h) * D + e];
        s[j] = d + bias(h, i, j);
        mx = Math.max(mx, s[j]);
      }
      if (mx === -Infinity) continue;
      let sum = 0;
      for (let j = 0; j < Nk; j++) sum += s[j] = s[j] === -Infinity ? 0 : Math.exp(s[j] - mx);
      for (let j = 0; j < Nk; j++) {
        if (s[j] === 0) continue;
        const p = s[j] / sum;
        for (let e = 0; e < D; e++) out[(i * H + h) * D + e] += p * v[(j * H + h) * D + e];
      }
    }
  return out;
}

/** Teacher-forced logits [B, T, vocab] given the encoder output [B, N, d_model]. */
export function refDecoder(cfg: RefModelConfig, weights: Weights, enc: ArrayLike<number>, mask: ArrayLike<number>, B: number, N: number,
                           dec: ArrayLike<number>, T: number): Float64Array {
  const w = (n: string) => {
    const t = weights.get(n);
    if (!t) throw new Error(`refDecoder: no ${n}`);
    return t;
  };
  const C = cfg.d_model, H = cfg.num_heads, D = cfg.d_kv, HD = H * D, V = cfg.vocab_size, eps = cfg.layer_norm_epsilon;
  const emb = w('shared.weight');
  const relBias = w('decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight');  // [buckets, H]
  const logits = new Float64Array(B * T * V);
  for (let b = 0; b < B; b++) {
    let x = new Float64Array(T * C);
    for (let t = 0; t < T; t++) for (let c = 0; c < C; c++) x[t * C + c] = emb[dec[b * T + t] * C + c];
    const e = Array.from({ length: N * C }, (_, i) => enc[b * N * C + i]);
    for (let l = 0; l < cfg.num_decoder_layers; l++) {
      const p = `decoder.block.${l}.`;
      let n = rms(x, T, C, w(p + 'layer.0.layer_norm.weight'), eps);
      const q = refLinear(n, T, C, w(p + 'layer.0.SelfAttention.q.weight'), HD);
      const k = refLinear(n, T, C, w(p + 'layer.0.SelfAttention.k.weight'), HD);
      const v = refLinear(n, T, C, w(p + 'layer.0.SelfAttention.v.weight'), HD);
      const sa = attend(q, k, v, H, D, T, T, (i, j) => j <= i,
        (h, i, j) => relBias[refCausalBucket(j - i, cfg.relative_attention_num_buckets, cfg.relative_attention_max_distance) * H + h]);
      const so = refLinear(sa, T, HD, w(p + 'layer.0.SelfAttention.o.weight'), C);
      x = x.map((val, i) => val + so[i]);
      n = rms(x, T, C, w(p + 'layer.1.layer_norm.weight'), eps);
      const cq = refLinear(n, T, C, w(p + 'layer.1.EncDecAttention.q.weight'), HD);
      const ck = refLinear(e, N, C, w(p + 'layer.1.EncDecAttention.k.weight'), HD);
      const cv = refLinear(e, N, C, w(p + 'layer.1.EncDecAttention.v.weight'), HD);
      const ca = attend(cq, ck, cv, H, D, T, N, (_, j) => mask[b * N + j] !== 0, () => 0);
      const co = refLinear(ca, T, HD, w(p + 'layer.1.EncDecAttention.o.weight'), C);
      x = x.map((val, i) => val + co[i]);
      const f = feedForward(cfg, w, p + 'layer.2.DenseReluDense.', rms(x, T, C, w(p + 'layer.2.layer_norm.weight'), eps), T);
      x = x.map((val, i) => val + f[i]);
    }
    let h = rms(x, T, C, w('decoder.final_layer_norm.weight'), eps);
    if (cfg.tie_word_embeddings) h = h.map((val) => val * C ** -0.5);
    logits.set(refLinear(h, T, C, cfg.tie_word_embeddings ? emb : w('lm_head.weight'), V), b * T * V);
  }
  return logits;
}

// Plain float64 reference of the ONNX Attention operator (opset 23-25), written from the
// operator's definition and independent of lib/onnx-attention.ts (which maps the operator onto
// attention()'s options): 3-D inputs split into heads; past_key/past_value concatenated before
// K/V; attn_mask padded to the key count T with -inf (bool: false); is_causal and the window on
// the diagonal p = i + offset (offset = past length with a cache, else nonpad_kv_seqlen[b] - Nq
// with per-batch lengths, else 0); keys j >= nonpad_kv_seqlen[b] excluded; scores = scale·q·k,
// softcap before the mask; softmax, where a row with no admissible key gives 0; then ·v.
// Direct loops over every (b, h, i, j), no tiles, no broadcasting shortcuts.

/** A tensor of plain values (float16 data already decoded). */
export interface OpRefTensor {
  data: ArrayLike<number>;
  dims: readonly number[];
}

export interface OpRefInputs {
  Q: OpRefTensor;
  K: OpRefTensor;
  V: OpRefTensor;
  /** Float (additive) or, with `bool`, 0/1 values (1 = attend). */
  attn_mask?: OpRefTensor & { bool?: boolean };
  past_key?: OpRefTensor;
  past_value?: OpRefTensor;
  nonpad_kv_seqlen?: ArrayLike<number>;
}

export interface OpRefAttributes {
  is_causal?: number;
  scale?: number;
  softcap?: number;
  q_num_heads?: number;
  kv_num_heads?: number;
  qk_matmul_output_mode?: number;
  /** Accepted and ignored: the reference computes everything in float64. */
  softmax_precision?: number;
  left_window_size?: number;
  right_window_size?: number;
  local_window_size?: number;
}

export interface OpRefOutputs {
  /** [B, H, Nq, Dv], or [B, Nq, H·Dv] for 3-D inputs. */
  Y: { data: Float64Array; dims: number[] };
  present_key: { data: Float64Array; dims: number[] };
  present_value: { data: Float64Array; dims: number[] };
  /** [B, H, Nq, T] at qk_matmul_output_mode's stage. */
  qk_matmul_output: { data: Float64Array; dims: number[] };
}

/** Element (b, head, row, d) of a 4-D [B, heads, rows, D] tensor, or of a 3-D [B, rows, heads·D] one. */
function at(t: OpRefTensor, heads: number, b: number, h: number, n: number, d: number): number {
  if (t.dims.length === 4) {
    const [, Hs, N, D] = t.dims;
    return t.data[((b * Hs + h) * N + n) * D + d];
  }
  const [, N, hidden] = t.dims;
  const D = hidden / heads;
  return t.data[(b * N + n) * hidden + h * D + d];
}

/** The mask value for (b, h, i, j) under NumPy broadcasting to [B, H, Nq, L]. */
function maskAt(m: OpRefTensor, b: number, h: number, i: number, j: number): number {
  const d = [...Array(4 - m.dims.length).fill(1), ...m.dims];
  const idx = [d[0] === 1 ? 0 : b, d[1] === 1 ? 0 : h, d[2] === 1 ? 0 : i, j];
  return m.data[((idx[0] * d[1] + idx[1]) * d[2] + idx[2]) * d[3] + idx[3]];
}

export function referenceOnnxAttention(inp: OpRefInputs, a: OpRefAttributes = {}): OpRefOutputs {
  const rank = inp.Q.dims.length;
  const B = inp.Q.dims[0];
  let H: number, Hk: number, Nq: number, N: number, D: number, Dv: number;
  if (rank === 4) {
    [, H, Nq, D] = inp.Q.dims;
    [, Hk, N] = inp.K.dims;
    Dv = inp.V.dims[3];
  } else {
    H = a.q_num_heads!;
    Hk = a.kv_num_heads!;
    Nq = inp.Q.dims[1];
    N = inp.K.dims[1];
    D = inp.Q.dims[2] / H;
    Dv = inp.V.dims[2] / Hk;
  }
  const P = inp.past_key ? inp.past_key.dims[2] : 0;
  const T = P + N;
  const scale = a.scale ?? 1 / Math.sqrt(D);
  const softcap = a.softcap ?? 0;
  const mode = a.qk_matmul_output_mode ?? 0;

  // present = past then new, [B, Hk, T, ·].
  const present = (past: OpRefTensor | undefined, cur: OpRefTensor, d: number) => {
    const out = new Float64Array(B * Hk * T * d);
    for (let b = 0; b < B; b++)
      for (let h = 0; h < Hk; h++)
        for (let j = 0; j < T; j++)
          for (let c = 0; c < d; c++)
            out[((b * Hk + h) * T + j) * d + c] = j < P ? at(past!, Hk, b, h, j, c) : at(cur, Hk, b, h, j - P, c);
    return { data: out, dims: [B, Hk, T, d] };
  };
  const pk = present(inp.past_key, inp.K, D);
  const pv = present(inp.past_value, inp.V, Dv);

  const offsetOf = (b: number) => (inp.past_key ? P : inp.nonpad_kv_seqlen ? inp.nonpad_kv_seqlen[b] - Nq : 0);
  /** The additive bias of (b, h, i, j): attn_mask, causal, window, padding. */
  const bias = (b: number, h: number, i: number, j: number): number => {
    let s = 0;
    if (inp.attn_mask) {
      const L = inp.attn_mask.dims[inp.attn_mask.dims.length - 1];
      if (j >= L) return -Infinity; // the operator pads a short mask with -inf / false
      const m = maskAt(inp.attn_mask, b, h, i, j);
      s += inp.attn_mask.bool ? (m ? 0 : -Infinity) : m;
    }
    const p = i + offsetOf(b);
    if (a.is_causal && j > p) return -Infinity;
    const left = a.left_window_size ?? -1;
    const right = a.right_window_size ?? -1;
    if (left >= 0 && j < p - left) return -Infinity;
    if (right >= 0 && j > p + right) return -Infinity;
    if (a.local_window_size !== undefined && a.local_window_size > 0 && !(p - j >= 0 && p - j < a.local_window_size)) return -Infinity;
    if (inp.nonpad_kv_seqlen && j >= inp.nonpad_kv_seqlen[b]) return -Infinity;
    return s;
  };

  const Y = new Float64Array(B * H * Nq * Dv);
  const qk = new Float64Array(B * H * Nq * T);
  const group = H / Hk;
  const raw = new Float64Array(T);
  const capped = new Float64Array(T);
  const masked = new Float64Array(T);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const hk = Math.floor(h / group); // each kv head serves `group` consecutive q heads
      for (let i = 0; i < Nq; i++) {
        let max = -Infinity;
        for (let j = 0; j < T; j++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += at(inp.Q, H, b, h, i, d) * pk.data[((b * Hk + hk) * T + j) * D + d];
          raw[j] = scale * dot;
          capped[j] = softcap > 0 ? softcap * Math.tanh(raw[j] / softcap) : raw[j];
          masked[j] = capped[j] + bias(b, h, i, j);
          if (masked[j] > max) max = masked[j];
        }
        const row = ((b * H + h) * Nq + i) * T;
        const probs = new Float64Array(T);
        if (max !== -Infinity) {
          let sum = 0;
          for (let j = 0; j < T; j++) sum += Math.exp(masked[j] - max);
          for (let j = 0; j < T; j++) probs[j] = Math.exp(masked[j] - max) / sum;
        }
        for (let j = 0; j < T; j++) qk[row + j] = [raw, capped, masked, probs][mode][j];
        const yo = rank === 4 ? ((b * H + h) * Nq + i) * Dv : ((b * Nq + i) * H + h) * Dv;
        for (let j = 0; j < T; j++) {
          if (probs[j] === 0) continue;
          for (let c = 0; c < Dv; c++) Y[yo + c] += probs[j] * pv.data[((b * Hk + hk) * T + j) * Dv + c];
        }
      }
    }
  return {
    Y: { data: Y, dims: rank === 4 ? [B, H, Nq, Dv] : [B, Nq, H * Dv] },
    present_key: pk,
    present_value: pv,
    qk_matmul_output: { data: qk, dims: [B, H, Nq, T] },
  };
}

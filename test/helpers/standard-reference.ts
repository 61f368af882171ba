// Plain float64 reference of attention() with the standard operator's options (softcap, causal
// diagonal offset, sliding window, key lengths, the four score stages, log-sum-exp), written
// from the ONNX Attention definition: scores = scale·q·k, softcap, + bias and masks (excluded =
// -inf), softmax, ·v. Direct loops, no tiles: independent of the kernel. Layout [B, H, N, D].
import type { RefTensor } from './fixtures';

export interface StandardRefOptions {
  scale?: number;
  causal?: boolean;
  keyMask?: ArrayLike<number>;
  /** Additive bias, NumPy-broadcast to [B, H, Nq, Nk]. */
  bias?: RefTensor;
  softcap?: number;
  causalOffset?: number | ArrayLike<number>;
  /** Infinity = open side. */
  window?: readonly [number, number];
  keyLengths?: ArrayLike<number>;
}

export interface StandardRefResult {
  out: Float64Array; // [B, H, Nq, Dv]
  /** Per stage, [B, H, Nq, Nk]. */
  matmul: Float64Array;
  softcapped: Float64Array;
  masked: Float64Array;
  softmax: Float64Array;
  lse: Float64Array; // [B, H, Nq]
}

function broadcastStrides(dims: readonly number[], full: readonly number[]): number[] {
  const bd = [...Array(4 - dims.length).fill(1), ...dims];
  const bs = [0, 0, 0, 0];
  let stride = 1;
  for (let i = 3; i >= 0; i--) {
    if (bd[i] !== 1 && bd[i] !== full[i]) throw new Error('reference: bias does not broadcast');
    bs[i] = bd[i] === 1 ? 0 : stride;
    stride *= bd[i];
  }
  return bs;
}

/** Whether query i of batch b may attend key j (before the key mask and the bias). */
export function allowedKey(
  o: StandardRefOptions, b: number, i: number, j: number, Nq: number, Nk: number,
): boolean {
  const klen = o.keyLengths === undefined ? Nk : o.keyLengths[b];
  if (j >= klen) return false;
  const off = o.causalOffset === undefined ? Nk - Nq : typeof o.causalOffset === 'number' ? o.causalOffset : o.causalOffset[b];
  const p = i + off;
  if (o.causal && j > p) return false;
  if (o.window && (j < p - o.window[0] || j > p + o.window[1])) return false;
  return true;
}

export function referenceStandardAttention(q: RefTensor, k: RefTensor, v: RefTensor, o: StandardRefOptions = {}): StandardRefResult {
  const [B, H, Nq, D] = q.dims;
  const [, Hk, Nk] = k.dims;
  const Dv = v.dims[3];
  const group = H / Hk;
  const scale = o.scale ?? 1 / Math.sqrt(D);
  const bs = o.bias ? broadcastStrides(o.bias.dims, [B, H, Nq, Nk]) : [0, 0, 0, 0];
  const n = B * H * Nq * Nk;
  const r: StandardRefResult = {
    out: new Float64Array(B * H * Nq * Dv),
    matmul: new Float64Array(n), softcapped: new Float64Array(n), masked: new Float64Array(n), softmax: new Float64Array(n),
    lse: new Float64Array(B * H * Nq),
  };
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const hk = Math.floor(h / group);
      for (let i = 0; i < Nq; i++) {
        const row = ((b * H + h) * Nq + i) * Nk;
        const qo = ((b * H + h) * Nq + i) * D;
        let max = -Infinity;
        for (let j = 0; j < Nk; j++) {
          const ko = ((b * Hk + hk) * Nk + j) * D;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q.data[qo + d] * k.data[ko + d];
          const raw = scale * dot;
          const capped = o.softcap ? o.softcap * Math.tanh(raw / o.softcap) : raw;
          const keep = allowedKey(o, b, i, j, Nq, Nk) && (o.keyMask === undefined || o.keyMask[b * Nk + j] !== 0);
          const bias = o.bias ? o.bias.data[b * bs[0] + h * bs[1] + i * bs[2] + j * bs[3]] : 0;
          const masked = keep ? capped + bias : -Infinity;
          r.matmul[row + j] = raw;
          r.softcapped[row + j] = capped;
          r.masked[row + j] = masked;
          if (masked > max) max = masked;
        }
        const li = (b * H + h) * Nq + i;
        if (max === -Infinity) {
          r.lse[li] = -Infinity; // no admissible key: probabilities and output stay 0
          continue;
        }
        let sum = 0;
        for (let j = 0; j < Nk; j++) sum += Math.exp(r.masked[row + j] - max);
        r.lse[li] = max + Math.log(sum);
        for (let j = 0; j < Nk; j++) {
          const p = Math.exp(r.masked[row + j] - max) / sum;
          r.softmax[row + j] = p;
          if (p === 0) continue;
          const vo = ((b * Hk + hk) * Nk + j) * Dv;
          for (let c = 0; c < Dv; c++) r.out[li * Dv + c] += p * v.data[vo + c];
        }
      }
    }
  return r;
}

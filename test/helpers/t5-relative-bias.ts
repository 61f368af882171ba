// T5 relative-position bias as a full [B, H, Nq, Nk] tensor, for checking attention()'s
// relativeBias (computed in the kernel from tables by distance) against a plain additive bias.
// Buckets follow Hugging Face's T5Attention._relative_position_bucket in float32 (Math.fround at
// each torch op); the bidirectional rule is lib/onnx's t5RelativeBucket.
import { t5RelativeBucket } from '../../lib/onnx';

const fround = Math.fround;

/** bidirectional=False: only n = max(0, -rel) counts, all numBuckets buckets for that direction. */
export function t5UnidirectionalBucket(rel: number, numBuckets: number, maxDistance: number): number {
  const n = Math.max(0, -rel);
  const maxExact = Math.trunc(numBuckets / 2);
  if (n < maxExact) return n;
  if (maxExact <= 0) return numBuckets - 1;
  const l = fround(Math.log(fround(fround(n) / fround(maxExact))));
  const v = fround(fround(l / fround(Math.log(maxDistance / maxExact))) * fround(numBuckets - maxExact));
  if (!(v >= 0 && v < numBuckets)) return numBuckets - 1;
  return Math.min(maxExact + Math.trunc(v), numBuckets - 1);
}

export interface RelativeBiasSpec {
  table: Float32Array; // [numBuckets, H]
  numBuckets: number;
  maxDistance: number;
  bidirectional?: boolean;
}

/** bias[b,h,i,j] = table[bucket(j - (i + offset_b)), h]; offset default Nk - Nq. */
export function relativeBiasTensor(
  rel: RelativeBiasSpec, B: number, H: number, Nq: number, Nk: number, offset?: number | ArrayLike<number>,
): { data: Float32Array; dims: number[] } {
  const data = new Float32Array(B * H * Nq * Nk);
  for (let b = 0; b < B; b++) {
    const off = offset === undefined ? Nk - Nq : typeof offset === 'number' ? offset : offset[b];
    for (let i = 0; i < Nq; i++)
      for (let j = 0; j < Nk; j++) {
        const r = j - (i + off);
        const bucket = rel.bidirectional === false ? t5UnidirectionalBucket(r, rel.numBuckets, rel.maxDistance) : t5RelativeBucket(r, rel.numBuckets, rel.maxDistance);
        for (let h = 0; h < H; h++) data[((b * H + h) * Nq + i) * Nk + j] = rel.table[bucket * H + h];
      }
  }
  return { data, dims: [B, H, Nq, Nk] };
}

/** a + b, b broadcast (NumPy rules) to a's [B, H, Nq, Nk]. */
export function addBias(a: { data: Float32Array; dims: number[] }, b: { data: Float32Array; dims: number[] }): { data: Float32Array; dims: number[] } {
  const full = a.dims;
  const bd = [...Array(4 - b.dims.length).fill(1), ...b.dims];
  const st = [0, 0, 0, 0];
  let s = 1;
  for (let i = 3; i >= 0; i--) {
    st[i] = bd[i] === 1 ? 0 : s;
    s *= bd[i];
  }
  const out = new Float32Array(a.data.length);
  let n = 0;
  for (let x = 0; x < full[0]; x++)
    for (let h = 0; h < full[1]; h++)
      for (let i = 0; i < full[2]; i++)
        for (let j = 0; j < full[3]; j++, n++) out[n] = a.data[n] + b.data[x * st[0] + h * st[1] + i * st[2] + j * st[3]];
  return { data: out, dims: full.slice() };
}

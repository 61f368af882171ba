// T5's bidirectional relative-position buckets (Hugging Face `_relative_position_bucket`) in the
// float32 arithmetic Hugging Face uses, and per-head bias tables by distance for the ONNX graphs.
//
// The ONNX graphs do not compute buckets with Log/Div/Cast: ORT's vectorised Log may differ from
// PyTorch's by an ulp, and the result is truncated to an integer, so a bucket boundary that falls on
// an exact value (n = 16 with 32 buckets / max distance 128: log(2)/log(16)·8 = 2) could flip. The
// bucket depends on the distance only and is constant from some distance S on (the last bucket), so
// the graphs take a constant table indexed by clamp(rel, -S, S) + S, computed here once per export.
const fround = Math.fround;

/**
 * Bucket of `rel` (key position − query position), bidirectional, as Hugging Face computes it:
 * `log(float32(n) / max_exact)` in float32 (the correctly rounded log: the double log rounded to
 * float), divided by float32(log(max_distance / max_exact)), times (num_buckets/2 − max_exact),
 * truncated, clamped to the last bucket. Mirrors native/kernels/longt5_blocks.cc
 * (relative_position_bucket), degenerate configs included.
 */
export function t5RelativeBucket(rel: number, numBuckets: number, maxDistance: number): number {
  const nb = Math.trunc(numBuckets / 2); // buckets per direction
  if (nb <= 0) return 0;
  const ret = rel > 0 ? nb : 0;
  const n = Math.abs(rel);
  const maxExact = Math.trunc(nb / 2);
  if (n < maxExact) return ret + n;
  if (maxExact <= 0) return ret + nb - 1;
  const ratio = fround(fround(n) / fround(maxExact));
  const l = fround(Math.log(ratio));
  const c = fround(Math.log(maxDistance / maxExact));
  const v = fround(fround(l / c) * fround(nb - maxExact));
  let large = nb - 1; // also for max_distance <= max_exact (v is inf, NaN or negative)
  if (v >= 0 && v < nb) large = Math.min(maxExact + Math.trunc(v), nb - 1);
  return ret + large;
}

/** A distance S >= 1 from which every bucket is the last one (|rel| >= S has the bucket of ±S). */
export function t5SaturationDistance(numBuckets: number, maxDistance: number): number {
  if (!Number.isSafeInteger(numBuckets) || numBuckets < 2)
    throw new RangeError(`relative_attention_num_buckets must be an integer >= 2, got ${numBuckets}`);
  if (!Number.isSafeInteger(maxDistance) || maxDistance < 1)
    throw new RangeError(`relative_attention_max_distance must be a positive integer, got ${maxDistance}`);
  const nb = Math.trunc(numBuckets / 2);
  const v = (n: number) => t5RelativeBucket(-n, numBuckets, maxDistance); // 0..nb-1, non-decreasing in n
  // Every step of the bucket is a monotone rounding, so v is non-decreasing, and max_distance is
  // already in the last bucket; bisect for the first saturated distance.
  let hi = Math.max(maxDistance, Math.trunc(nb / 2), 1);
  while (v(hi) !== nb - 1) {
    // Defensive: does not happen (v(max_distance) is the last bucket).
    if (hi > 2 ** 40) throw new RangeError(`T5 buckets never saturate for num_buckets ${numBuckets}, max_distance ${maxDistance}`);
    hi *= 2;
  }
  let lo = 0; // v(lo) unsaturated or lo = 0; answer in (lo, hi]
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (v(mid) === nb - 1) hi = mid;
    else lo = mid;
  }
  return hi;
}

/**
 * Bias by clamped distance: table[(c + S) * H + h] = weight[bucket(c) * H + h] for c in [-S, S],
 * where `weight` is Hugging Face's relative_attention_bias.weight [numBuckets, H]. Returns the table
 * ([2S+1, H], row-major) and S; a distance rel maps to row clamp(rel, -S, S) + S.
 */
export function t5BiasByDistance(weight: Float32Array, numBuckets: number, maxDistance: number, H: number): { table: Float32Array; S: number } {
  const S = t5SaturationDistance(numBuckets, maxDistance);
  const table = new Float32Array((2 * S + 1) * H);
  for (let c = -S; c <= S; c++) {
    const b = t5RelativeBucket(c, numBuckets, maxDistance);
    for (let h = 0; h < H; h++) table[(c + S) * H + h] = weight[b * H + h];
  }
  return { table, S };
}

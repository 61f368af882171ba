#include "kernels/longt5_blocks.h"

#include <cmath>
#include <vector>

namespace ga {

void global_block_ids(const uint8_t* mask, int64_t B, int64_t N, int64_t g, int32_t* block_ids, int32_t* segment_ids) {
  if (g < 1) g = 1;
  const int64_t G = N / g;
  for (int64_t b = 0; b < B; ++b) {
    const uint8_t* m = mask + b * N;
    int64_t full = 0;  // F_b: block ends (i % g == g - 1) that are real tokens
    for (int64_t i = g - 1; i < N; i += g) full += m[i] != 0;
    int32_t* ids = block_ids + b * N;
    int64_t max_id = -1;
    for (int64_t i = 0; i < N; ++i) {
      int64_t id = -1;
      if (m[i] && full > 0) {
        id = i / g;
        if (id > full - 1) id = full - 1;  // orphans (and complete blocks past F_b) join block F_b - 1
      }
      ids[i] = static_cast<int32_t>(id);
      if (id > max_id) max_id = id;
    }
    for (int64_t j = 0; j < G; ++j) segment_ids[b * G + j] = j <= max_id ? 1 : 0;
  }
}

// HF (modeling_longt5.py, fd365f0f) computes the log-spaced buckets with float32 torch ops:
//   max_exact + (torch.log(rel.float() / max_exact) / math.log(max_distance / max_exact)
//                * (num_buckets - max_exact)).to(torch.long)
// i.e. r = f32(n) / f32(max_exact) (IEEE division), l = logf(r), c = f32(double log of the double
// ratio) (the Python float is converted to the tensor's float32), q = l / c, v = q * f32(nb - me),
// then truncation toward zero and a clamp at nb - 1. Each step below is that float32 operation
// (no FMA can contract a division followed by a multiplication, and the operands are floats).
//
// Borderline distances. The result can only flip where the exact value
// log(n/me) / log(md/me) * (nb - me) is an integer k, i.e. n/me = (md/me)^(k/(nb-me)) (me =
// max_exact, md = max_distance, nb = the half of num_buckets used per direction). For the common
// configs these are exact powers of two:
//   num_buckets 32, max_distance 128 (me 8, md/me 16, 8 log buckets): n = 16, 32, 64 (v = 2, 4, 6)
//   num_buckets 16, max_distance 64  (me 4, md/me 16, 4 log buckets): n = 8, 16, 32 (v = 1, 2, 3)
//   num_buckets 64, max_distance 256: n = 32, 64, 128; 128/512: n = 64, 128, 256.
// There logf(2^j) = j·ln2 lies within 0.03 ulp of its float32 value and f32(ln 16) rounds up by
// about the same relative amount, so q rounds to exactly 0.25, 0.5, 0.75 and v is exactly the
// integer: buckets 10, 12, 14 for n = 16, 32, 64 (+16 for positive distances) with 32/128. A logf
// one ulp low would give 9, 11, 13; the fixtures (dense_t5layer_*, local_layer_n200_r31, all
// tglobal_layer_*) confirm 10 and 12. float32 and float64 agree for these configs, but not for
// every config: num_buckets 96, max_distance 81, distance 54 has exact value 16 (54/24 =
// (81/24)^(2/3)) and float32 gives 15.999999, so HF's bucket is 39 where float64 math gives 40.
// A scan of 765k (config, distance) pairs (num_buckets 4..256, max_distance up to 4096) found 190
// where a one-ulp change of logf flips the bucket. For the power-of-two configs above all are the
// n = me·2^j cases with their 0.03-ulp margin; for unusual ones (e.g. 64/121, distance 44) the
// true log sits within 0.0005 ulp of a float32 rounding midpoint, so HF's own answer there depends
// on its logf being correctly rounded. We use the correctly rounded logf: the double log rounded to
// float (double rounding could only differ within ~2^-29 ulp of a midpoint; the closest case found
// is 2^-11 ulp away).
int32_t relative_position_bucket(int64_t relative_position, int32_t num_buckets, int32_t max_distance,
                                 bool bidirectional) {
  // HF: bidirectional halves num_buckets and offsets positive distances by the half; otherwise
  // relative_position = -min(relative_position, 0) (keys after the query count as distance 0).
  const int32_t nb = bidirectional ? num_buckets / 2 : num_buckets;  // buckets per direction
  if (nb <= 0) return 0;
  const int32_t ret = bidirectional && relative_position > 0 ? nb : 0;
  const uint64_t n = relative_position < 0 ? 0 - static_cast<uint64_t>(relative_position)
                                           : (bidirectional ? static_cast<uint64_t>(relative_position) : 0);
  const int32_t max_exact = nb / 2;
  if (n < static_cast<uint64_t>(max_exact)) return ret + static_cast<int32_t>(n);
  if (max_exact <= 0) return ret + nb - 1;  // degenerate config (HF gets NaN here)
  const float r = static_cast<float>(n) / static_cast<float>(max_exact);
  const float l = static_cast<float>(std::log(static_cast<double>(r)));
  const float c = static_cast<float>(std::log(static_cast<double>(max_distance) / static_cast<double>(max_exact)));
  const float v = l / c * static_cast<float>(nb - max_exact);
  int64_t large = nb - 1;  // also for max_distance <= max_exact, where v is inf/NaN/negative
  if (v >= 0.f && v < static_cast<float>(nb)) {
    large = max_exact + static_cast<int64_t>(v);
    if (large > nb - 1) large = nb - 1;
  }
  return ret + static_cast<int32_t>(large);
}

void bias_by_distance(const float* weight, int64_t H, int32_t num_buckets, int32_t max_distance, int64_t len,
                      int64_t offset, bool reversed, float* table, bool bidirectional) {
  for (int64_t x = 0; x < len; ++x) {
    const int64_t rel = reversed ? offset - x : x - offset;
    const int32_t bucket = relative_position_bucket(rel, num_buckets, max_distance, bidirectional);
    for (int64_t h = 0; h < H; ++h) table[h * len + x] = weight[bucket * H + h];
  }
}

void global_aggregates(const float* x, int64_t B, int64_t N, int64_t C, const int32_t* block_ids, int64_t G,
                       const float* norm_weight, float eps, float* out) {
  for (int64_t i = 0; i < B * G * C; ++i) out[i] = 0.f;
  if (B <= 0 || N <= 0 || C <= 0 || G <= 0) return;  // before sizing anything by C
  // Block ids are non-decreasing along a row (min(i/g, F_b-1)), so a block's tokens are
  // consecutive among the row's valid tokens: sum each run in double and add it once.
  std::vector<double> acc(static_cast<size_t>(C));
  for (int64_t b = 0; b < B; ++b) {
    int64_t cur = -1;
    auto flush = [&]() {
      if (cur < 0) return;
      float* o = out + (b * G + cur) * C;
      for (int64_t c = 0; c < C; ++c) o[c] = static_cast<float>(static_cast<double>(o[c]) + acc[c]);
    };
    for (int64_t i = 0; i < N; ++i) {
      const int64_t id = block_ids[b * N + i];
      if (id < 0 || id >= G) continue;
      if (id != cur) {
        flush();
        cur = id;
        for (int64_t c = 0; c < C; ++c) acc[c] = 0.0;
      }
      const float* xi = x + (b * N + i) * C;
      for (int64_t c = 0; c < C; ++c) acc[c] += xi[c];
    }
    flush();
  }
  if (!norm_weight) return;
  // T5 RMS norm (LongT5LayerNorm): w * a / sqrt(mean(a^2) + eps), no mean subtraction, no bias.
  for (int64_t r = 0; r < B * G; ++r) {
    float* o = out + r * C;
    double ss = 0;
    for (int64_t c = 0; c < C; ++c) ss += static_cast<double>(o[c]) * o[c];
    const double denom = ss / static_cast<double>(C) + static_cast<double>(eps);
    if (ss == 0.0 || !(denom > 0.0)) continue;  // empty block stays zero (also when eps == 0)
    const double inv = 1.0 / std::sqrt(denom);
    for (int64_t c = 0; c < C; ++c) o[c] = static_cast<float>(norm_weight[c] * (o[c] * inv));
  }
}

void block_means(const float* x, int64_t rows, int64_t N, int64_t D, int64_t g, float* out) {
  if (rows <= 0 || g < 1 || N < g || D <= 0) return;  // before sizing anything by D
  const int64_t nb = N / g;
  std::vector<double> acc(static_cast<size_t>(D));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < nb; ++c) {
      const int64_t lo = c * g, hi = c == nb - 1 ? N : lo + g;  // the last block takes the orphans
      for (int64_t d = 0; d < D; ++d) acc[d] = 0.0;
      for (int64_t i = lo; i < hi; ++i) {
        const float* xi = x + (r * N + i) * D;
        for (int64_t d = 0; d < D; ++d) acc[d] += xi[d];
      }
      const double inv = 1.0 / static_cast<double>(hi - lo);
      float* o = out + (r * nb + c) * D;
      for (int64_t d = 0; d < D; ++d) o[d] = static_cast<float>(acc[d] * inv);
    }
}

}  // namespace ga

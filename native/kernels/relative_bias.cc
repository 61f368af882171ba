#include "kernels/relative_bias.h"

#include <cmath>

#include "kernels/longt5_blocks.h"

namespace ga {

int32_t relative_position_bucket_unidirectional(int64_t relative_position, int32_t num_buckets, int32_t max_distance) {
  if (num_buckets <= 0) return 0;
  // n = max(0, -(j - i)): keys after the query share bucket 0.
  const uint64_t n = relative_position < 0 ? 0 - static_cast<uint64_t>(relative_position) : 0;
  const int32_t max_exact = num_buckets / 2;
  if (n < static_cast<uint64_t>(max_exact)) return static_cast<int32_t>(n);
  if (max_exact <= 0) return num_buckets - 1;  // degenerate config (HF gets NaN here)
  const float r = static_cast<float>(n) / static_cast<float>(max_exact);
  const float l = static_cast<float>(std::log(static_cast<double>(r)));
  const float c = static_cast<float>(std::log(static_cast<double>(max_distance) / static_cast<double>(max_exact)));
  const float v = l / c * static_cast<float>(num_buckets - max_exact);
  int64_t large = num_buckets - 1;  // also for max_distance <= max_exact, where v is inf/NaN/negative
  if (v >= 0.f && v < static_cast<float>(num_buckets)) {
    large = max_exact + static_cast<int64_t>(v);
    if (large > num_buckets - 1) large = num_buckets - 1;
  }
  return static_cast<int32_t>(large);
}

void relative_bias_tables(const float* weight, int64_t H, int32_t num_buckets, int32_t max_distance, bool bidirectional,
                          int64_t Nq, int64_t Nk, const int64_t* offsets, int64_t tables, float* table) {
  const int64_t len = Nq + Nk - 1;
  if (len <= 0) return;
  for (int64_t t = 0; t < tables; ++t) {
    float* tt = table + t * H * len;
    // x = (i - j) + Nk - 1, so j - (i + offset) = (Nk - 1 - offset) - x.
    const int64_t origin = Nk - 1 - offsets[t];
    if (bidirectional) {
      bias_by_distance(weight, H, num_buckets, max_distance, len, origin, true, tt);
      continue;
    }
    for (int64_t x = 0; x < len; ++x) {
      const int32_t bucket = relative_position_bucket_unidirectional(origin - x, num_buckets, max_distance);
      for (int64_t h = 0; h < H; ++h) tt[h * len + x] = weight[bucket * H + h];
    }
  }
}

}  // namespace ga

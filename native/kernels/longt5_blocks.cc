#include "kernels/longt5_blocks.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace ga {

void global_block_ids(const uint8_t* mask, int64_t B, int64_t N, int64_t g, int32_t* block_ids, int32_t* segment_ids) {
  const int64_t G = N / g;
  for (int64_t b = 0; b < B; ++b) {
    const uint8_t* m = mask + b * N;
    int64_t full = 0;  // F_b: complete blocks whose last position is a real token
    for (int64_t i = g - 1; i < N; i += g) full += m[i] != 0;
    int32_t max_id = -1;
    for (int64_t i = 0; i < N; ++i) {
      int32_t id = -1;
      if (m[i] && full > 0) id = static_cast<int32_t>(std::min<int64_t>(i / g, full - 1));
      block_ids[b * N + i] = id;
      max_id = std::max(max_id, id);
    }
    for (int64_t j = 0; j < G; ++j) segment_ids[b * G + j] = j <= max_id ? 1 : 0;
  }
}

int32_t relative_position_bucket(int64_t relative_position, int32_t num_buckets, int32_t max_distance) {
  // Hugging Face's _relative_position_bucket (bidirectional), with its float32 log arithmetic.
  const int32_t half = num_buckets / 2;
  int32_t bucket = relative_position > 0 ? half : 0;
  const int64_t n = relative_position < 0 ? -relative_position : relative_position;
  const int32_t max_exact = half / 2;
  if (n < max_exact) return bucket + static_cast<int32_t>(n);
  const float ratio = static_cast<float>(n) / static_cast<float>(max_exact);
  const float scale = static_cast<float>(std::log(static_cast<double>(max_distance) / max_exact));
  const float large = std::log(ratio) / scale * static_cast<float>(half - max_exact);
  int64_t v = max_exact + static_cast<int64_t>(large);
  v = std::min<int64_t>(v, half - 1);
  return bucket + static_cast<int32_t>(v);
}

void global_aggregates(const float* x, int64_t B, int64_t N, int64_t C, const int32_t* block_ids, int64_t G,
                       const float* norm_weight, float eps, float* out) {
  for (int64_t i = 0; i < B * G * C; ++i) out[i] = 0.f;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < N; ++i) {
      const int32_t id = block_ids[b * N + i];
      if (id < 0 || id >= G) continue;
      const float* xi = x + (b * N + i) * C;
      float* o = out + (b * G + id) * C;
      for (int64_t c = 0; c < C; ++c) o[c] += xi[c];
    }
  if (!norm_weight) return;
  for (int64_t r = 0; r < B * G; ++r) {
    float* o = out + r * C;
    double ss = 0;
    for (int64_t c = 0; c < C; ++c) ss += static_cast<double>(o[c]) * o[c];
    const float inv = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(C) + eps));
    for (int64_t c = 0; c < C; ++c) o[c] = norm_weight[c] * (o[c] * inv);
  }
}

void block_means(const float* x, int64_t rows, int64_t N, int64_t D, int64_t g, float* out) {
  const int64_t nb = N / g;
  if (nb == 0) return;
  std::vector<double> acc(static_cast<size_t>(D));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < nb; ++c) {
      const int64_t lo = c * g, hi = c == nb - 1 ? N : lo + g;
      for (auto& a : acc) a = 0;
      for (int64_t i = lo; i < hi; ++i)
        for (int64_t d = 0; d < D; ++d) acc[d] += x[(r * N + i) * D + d];
      for (int64_t d = 0; d < D; ++d) out[(r * nb + c) * D + d] = static_cast<float>(acc[d] / static_cast<double>(hi - lo));
    }
}

}  // namespace ga

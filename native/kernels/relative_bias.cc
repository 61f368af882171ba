#include "kernels/relative_bias.h"

#include "kernels/longt5_blocks.h"

namespace ga {

void relative_bias_tables(const float* weight, int64_t H, int32_t num_buckets, int32_t max_distance, bool bidirectional,
                          int64_t Nq, int64_t Nk, const int64_t* offsets, int64_t tables, float* table) {
  const int64_t len = Nq + Nk - 1;
  if (len <= 0) return;
  // x = (i - j) + Nk - 1, so j - (i + offset) = (Nk - 1 - offset) - x: bias_by_distance reversed.
  for (int64_t t = 0; t < tables; ++t)
    bias_by_distance(weight, H, num_buckets, max_distance, len, Nk - 1 - offsets[t], true, table + t * H * len,
                     bidirectional);
}

}  // namespace ga

// T5 relative-position bias for dense attention (attention()'s relativeBias): per-head tables by
// distance, read by the kernel through negative bias strides, so no Nq x Nk tensor exists. The
// bucket rule (bidirectional or not) is kernels/longt5_blocks' relative_position_bucket.
#pragma once
#include <cstdint>

namespace ga {

// T5 bias of query i (at key position i + offset) and key j, as tables by x = (i - j) + Nk - 1:
// table[(t * H + h) * len + x] = weight[bucket(j - i - offsets[t]) * H + h], len = Nq + Nk - 1,
// for each of `tables` offsets (one per batch, or one shared). weight is Hugging Face's
// relative_attention_bias.weight [num_buckets, H]. Read it as a bias with base table + Nk - 1 and
// strides {tables > 1 ? H * len : 0, len, 1, -1}.
void relative_bias_tables(const float* weight, int64_t H, int32_t num_buckets, int32_t max_distance, bool bidirectional,
                          int64_t Nq, int64_t Nk, const int64_t* offsets, int64_t tables, float* table);

}  // namespace ga

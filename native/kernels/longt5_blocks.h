// LongT5 pieces that are not SIMD hot paths: fixed global block ids, T5's relative-position
// buckets, global aggregates (block sums + RMS norm) and the seed variant's block means.
// Semantics: Hugging Face modeling_longt5.py at commit fd365f0f (see DESIGN §1.2).
#pragma once
#include <cstdint>

namespace ga {

// Token i (mask 1) gets min(i / g, F_b - 1), F_b = number of valid positions with i % g == g - 1;
// padding gets -1 (so does every token when F_b == 0). segment_ids[b, m] = 1 iff m <= the row's
// largest block id. G = N / g.
void global_block_ids(const uint8_t* mask, int64_t B, int64_t N, int64_t g, int32_t* block_ids, int32_t* segment_ids);

// T5's bidirectional bucket of relative_position (key - query).
int32_t relative_position_bucket(int64_t relative_position, int32_t num_buckets, int32_t max_distance);

// out[b, m] = RMSNorm(sum of x[b, i] over tokens with block_ids[b, i] == m) (plain sums when
// norm_weight is null). x [B, N, C], out [B, G, C].
void global_aggregates(const float* x, int64_t B, int64_t N, int64_t C, const int32_t* block_ids, int64_t G,
                       const float* norm_weight, float eps, float* out);

// out[r, c] = mean of x[r, i] over block c (g tokens; the last block also takes the N % g
// orphans). x [rows, N, D], out [rows, N / g, D]; needs N >= g.
void block_means(const float* x, int64_t rows, int64_t N, int64_t D, int64_t g, float* out);

}  // namespace ga

// LongT5 "transient global" bookkeeping (plain C++, baseline flags), following Hugging Face
// transformers src/transformers/models/longt5/modeling_longt5.py at commit
// fd365f0f5165c04aec1be34359d0c37d13a4c413 (docs/ARCHITECTURE.md §1.2, test/fixtures/README.md).
#pragma once
#include <cstdint>

namespace ga {

// HF _make_global_fixed_block_ids, in exact integer arithmetic (HF's float cumsum of 1/g drifts
// for some g; this does not). mask [B,N] (nonzero = token), g >= 1, G = N / g.
// Valid token i of row b gets min(i / g, F_b - 1), where F_b = number of valid positions i with
// i % g == g - 1 (complete blocks); padding gets -1; F_b == 0 gives -1 everywhere.
// segment_ids[b,m] = 1 if m <= max_i block_ids[b,i], else 0 ([B,G]; nothing written when G == 0).
void global_block_ids(const uint8_t* mask, int64_t B, int64_t N, int64_t g, int32_t* block_ids, int32_t* segment_ids);

// T5's relative-position bucket (HF LongT5Attention._relative_position_bucket), relative_position
// = key - query (j - i). bidirectional (the encoder): half the buckets per direction;
// unidirectional (the decoder's causal self-attention): all num_buckets for j <= i, and every
// j > i shares bucket 0. The log-spaced part is evaluated in float32 exactly as HF's torch ops
// do it; see longt5_blocks.cc for the borderline distances.
int32_t relative_position_bucket(int64_t relative_position, int32_t num_buckets, int32_t max_distance,
                                 bool bidirectional = true);

// T5 relative-position bias as a per-head table by distance (one home for the rule: the layers,
// the TGlobal binding and the facade all build their tables here):
// table[h * len + x] = weight[bucket(rel) * H + h] for x in [0, len), where rel = x - offset
// (reversed: offset - x). weight is Hugging Face's relative_attention_bias.weight [num_buckets, H].
void bias_by_distance(const float* weight, int64_t H, int32_t num_buckets, int32_t max_distance, int64_t len,
                      int64_t offset, bool reversed, float* table, bool bidirectional = true);

// The local radius a window of N tokens can use: a wider one sees the same keys as N - 1, so
// capping keeps every table O(N) whatever the config says.
static inline int64_t capped_radius(int64_t r, int64_t N) { return r < N - 1 ? r : (N > 1 ? N - 1 : 0); }

// HF _create_global_aggregates followed by the global_input_layer_norm (T5 RMS norm):
// a[b,m,:] = sum of x[b,i,:] over tokens i with block_ids[b,i] == m (a SUM; ids outside [0,G)
// are ignored), then out = w * a / sqrt(mean(a^2) + eps) (mean and sqrt in double). norm_weight
// nullptr: plain sums. A block without tokens gives a zero vector. x [B,N,C] rows of C floats,
// out [B,G,C].
void global_aggregates(const float* x, int64_t B, int64_t N, int64_t C, const int32_t* block_ids, int64_t G,
                       const float* norm_weight, float eps, float* out);

// The seed variant's global tokens: the mean of each block's g vectors, x [rows, N, D] contiguous,
// out [rows, N / g, D]. The incomplete last block is merged into the last complete one (it holds
// g + N % g vectors), as HF's block ids do on an all-valid row. Requires N >= g (writes nothing
// otherwise).
void block_means(const float* x, int64_t rows, int64_t N, int64_t D, int64_t g, float* out);

}  // namespace ga

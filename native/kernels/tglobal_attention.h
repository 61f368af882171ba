// The fused LongT5 transient-global attention core (docs/ARCHITECTURE.md §1.2 steps 4-5, before Wo), and the
// seed's block-global variant. Plain C++ descriptions; run on the active ISA.
#pragma once
#include <cstdint>

#include "kernels/dense_attention.h"  // Strides

namespace ga {

struct TGlobalAttentionParams {
  const float* q = nullptr;   // [B, H, N, D]   (any layout through the strides)
  const float* k = nullptr;   // [B, H, N, D]
  const float* v = nullptr;   // [B, H, N, Dv]
  const float* gk = nullptr;  // [B, H, G, D]   global (side) keys
  const float* gv = nullptr;  // [B, H, G, Dv]  global (side) values
  float* out = nullptr;       // [B, H, N, Dv]
  Strides qs, ks, vs, gks, gvs, os;
  int64_t B = 0, H = 0, N = 0, D = 0, Dv = 0, G = 0;
  int64_t radius = 0;                     // local window |i - j| <= radius
  float scale = 1.f;                      // LongT5: 1 (no 1/sqrt(D))
  const uint8_t* mask = nullptr;          // [B, N] 1 = token; padded queries output 0, padded keys excluded
  const int32_t* block_ids = nullptr;     // [B, N] global block of each token (-1 = none); needed with global_bias
  const uint8_t* global_valid = nullptr;  // [B, G] 1 = row b attends global m (LongT5 segment ids)
  const float* local_bias = nullptr;      // [H, 2r+1]: bias of key j for query i at (j - i + r)
  const float* global_bias = nullptr;     // [H, 2G+1]: bias of global m for query i at (m - block_ids[i] + G)
  int threads = 1;
};

// Several independent TGlobal calls (e.g. the sequences of a packed batch, each a B = 1 call) as
// one parallel region: the items are all their query blocks, taken in the calls' order (callers
// put the most expensive first), so threads balance by tokens across the calls instead of
// meeting at a barrier after each. Every item runs the same code on the same numbers as its call
// alone, so each call's output has the same bits. All calls share D and Dv.
struct TGlobalAttentionBatchParams {
  const TGlobalAttentionParams* calls = nullptr;
  int64_t count = 0;
  int threads = 1;
};

// Seed variant: each token attends to the tokens of its own block plus its block's global token.
struct BlockGlobalAttentionParams {
  const float* q = nullptr;  // [B, H, N, D] contiguous
  const float* k = nullptr;
  const float* v = nullptr;   // [B, H, N, Dv]
  const float* gk = nullptr;  // [B, H, nb, D]  block means of k
  const float* gv = nullptr;  // [B, H, nb, Dv] block means of v
  float* out = nullptr;       // [B, H, N, Dv]
  int64_t B = 0, H = 0, N = 0, D = 0, Dv = 0;
  int64_t block = 1;  // block size g; nb = N / g blocks, the last absorbs the N % g orphans
  float scale = 1.f;
  int threads = 1;
};

}  // namespace ga

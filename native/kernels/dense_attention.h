// Dense multi-head attention (DESIGN §1.1): the plain-C++ description of one call.
// No N-API here: the binding fills this struct after validating every argument.
#pragma once
#include <cstdint>

namespace ga {

struct DenseAttentionParams {
  const float* q = nullptr;   // [B, H, Nq, D]
  const float* k = nullptr;   // [B, Hk, Nk, D]
  const float* v = nullptr;   // [B, Hk, Nk, Dv]
  float* out = nullptr;       // [B, H, Nq, Dv]
  int64_t B = 0, H = 0, Hk = 0, Nq = 0, Nk = 0, D = 0, Dv = 0;
  float scale = 1.f;
  bool causal = false;        // bottom-right aligned: key j allowed iff j <= i + (Nk - Nq)
  const uint8_t* key_mask = nullptr;  // optional [B, Nk], nonzero = attend
  // Optional additive bias, broadcast to [B, H, Nq, Nk] through element strides (0 = broadcast dim).
  const float* bias = nullptr;
  int64_t bias_stride[4] = {0, 0, 0, 0};
  int threads = 1;            // threads this call may use (already leased from the budget)
};

// Runs on the active ISA (dispatch/dispatch.h). Throws std::bad_alloc if scratch can't be had.
void dense_attention(const DenseAttentionParams& p);

}  // namespace ga

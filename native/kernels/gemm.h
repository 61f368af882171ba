// C = A · Bᵀ for the layer projections (B is a PyTorch nn.Linear weight, [out, in], so
// y = x · Wᵀ needs no transpose by the caller). Plain C++ description; runs on the active ISA.
#pragma once
#include <cstdint>

namespace ga {

struct GemmParams {
  const float* a = nullptr;  // [M, K], row stride lda
  const float* b = nullptr;  // [N, K], row stride ldb
  float* c = nullptr;        // [M, N], row stride ldc
  int64_t M = 0, N = 0, K = 0;
  int64_t lda = 0, ldb = 0, ldc = 0;
  bool accumulate = false;   // C += A·Bᵀ instead of C = A·Bᵀ
  int threads = 1;           // threads this call may use (already leased)
};

}  // namespace ga

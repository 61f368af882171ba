// PLACEHOLDER (to be replaced by the packed, blocked SIMD GEMM): plain triple loop.
#pragma once
#include "kernels/gemm.h"

namespace ga {

template <class V>
struct GemmKernel {
  static void run(const GemmParams& p) {
    for (int64_t i = 0; i < p.M; ++i)
      for (int64_t j = 0; j < p.N; ++j) {
        float acc = p.accumulate ? p.c[i * p.ldc + j] : 0.f;
        for (int64_t k = 0; k < p.K; ++k) acc += p.a[i * p.lda + k] * p.b[j * p.ldb + k];
        p.c[i * p.ldc + j] = acc;
      }
  }
};

}  // namespace ga

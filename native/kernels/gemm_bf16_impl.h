// The emulated bfloat16 GEMM, for every ISA (kernels/kernel_list.h): A and B rounded to bfloat16
// (kernels/bf16.h) into float32 copies, then the float32 GEMM (kernels/gemm_impl.h). A product of
// two bfloat16 values is exact in float32, so this computes what vdpbf16ps / BFDOT compute, up
// to the order of the float32 additions. A native set replaces it (simd/isa_avx512bf16.cc).
#pragma once
#include <cstdint>

#include "kernels/bf16.h"
#include "kernels/fp16.h"
#include "kernels/gemm_bf16.h"
#include "kernels/gemm_impl.h"
#include "runtime/aligned_buffer.h"
#include "runtime/parallel.h"

namespace ga {

// Rounding: Bf16<V>, or Fp16<V> for precision 'fp16' (kernels/fp16.h); a16/b16 then hold float16 bits.
template <class V, class Rounding = Bf16<V>>
struct GemmBf16EmulatedKernel {
  using B16 = Rounding;

  // rows x cols of src (float32 or bfloat16 bits, row stride ld) rounded into dst (row stride cols).
  static void round_matrix(const float* f32, const uint16_t* b16, int64_t ld, int64_t rows, int64_t cols, float* dst,
                           int threads) {
    const int64_t chunk = 64;
    parallel_items((rows + chunk - 1) / chunk, threads, [&](int, ItemCounter& it) {
      int64_t c;
      while (it.next(c)) {
        const int64_t r1 = (c + 1) * chunk < rows ? (c + 1) * chunk : rows;
        for (int64_t r = c * chunk; r < r1; ++r) {
          if (b16) B16::widen_row(b16 + r * ld, dst + r * cols, cols);
          else B16::round_row(f32 + r * ld, dst + r * cols, cols);
        }
      }
    });
  }

  static void run(const GemmBf16Params& p) {
    const GemmParams& g = p.g;
    if (g.M <= 0 || g.N <= 0) return;
    const int threads = g.threads < 1 ? 1 : g.threads;
    AlignedBuffer a(static_cast<size_t>(g.M * g.K)), b(static_cast<size_t>(g.N * g.K));
    round_matrix(g.a, p.a16, g.lda, g.M, g.K, a.data(), threads);
    round_matrix(g.b, p.b16, g.ldb, g.N, g.K, b.data(), threads);
    GemmParams r = g;
    r.a = a.data();
    r.b = b.data();
    r.lda = r.ldb = g.K;
    GemmKernel<V>::run(r);
  }
};

}  // namespace ga

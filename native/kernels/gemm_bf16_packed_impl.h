// The emulated 16-bit GEMM on a packed B (kernels/gemm_bf16_packed.h), for every ISA: A rounded
// to the 16-bit type into a float32 copy (as GemmBf16EmulatedKernel does), B's pair panels widened
// (exactly) a few at a time into gemm_pack_b's float layout, and the float32 GEMM on each chunk
// (GemmKernel<V>, b_packed). Widening per chunk keeps the float copy cache-sized (64 columns) and
// never holds B in float32. Products of two 16-bit values are exact in float32, so this computes
// what the native kernels compute up to the order of the float32 additions (the float32 GEMM's
// packed-panel order; gemm_abt_bf16's emulated kernel may sum a few-row product by dot products).
#pragma once
#include <cstdint>
#include <type_traits>

#include "kernels/bf16.h"
#include "kernels/fp16.h"
#include "kernels/gemm_bf16_impl.h"
#include "kernels/gemm_bf16_packed.h"
#include "kernels/gemm_impl.h"
#include "runtime/aligned_buffer.h"
#include "runtime/parallel.h"

namespace ga {

template <class V, class Rounding = Bf16<V>>
struct GemmBf16PackedEmulatedKernel {
  static constexpr int P = kGemmPack16Width;
  static_assert(kGemmPack16Width == kGemmPackWidth, "a 16-bit panel widens into one float panel");
  static constexpr int64_t kChunkPanels = 4;  // columns widened per work item: 64

  static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

  // panels 16-bit pair panels (Kp pairs rows) to gemm_pack_b's float panels of K rows: each pair
  // row's even and odd halves to two float rows. bfloat16 widens by a shift (fixed-length loops
  // the compiler vectorises); float16 by V's conversion (Fp16::widen_row) after splitting the
  // pair row into its halves, not value by value through Fp16::to_float's branches.
  static void widen_panels(const uint16_t* src, int64_t panels, int64_t K, float* dst) {
    constexpr bool kFp16 = std::is_same<Rounding, Fp16<V>>::value;
    const int64_t Kp = (K + 1) / 2 * 2;
    alignas(64) uint16_t halves[2 * P];
    for (int64_t pn = 0; pn < panels; ++pn) {
      const uint16_t* s = src + pn * Kp * P;
      float* d = dst + pn * K * P;
      for (int64_t k = 0; k + 1 < K; k += 2, s += 2 * P, d += 2 * P) {
        if constexpr (kFp16) {
          for (int jj = 0; jj < P; ++jj) {
            halves[jj] = s[2 * jj];
            halves[P + jj] = s[2 * jj + 1];
          }
          Rounding::widen_row(halves, d, 2 * P);
        } else {
          for (int jj = 0; jj < P; ++jj) {
            d[jj] = Rounding::to_float(s[2 * jj]);
            d[P + jj] = Rounding::to_float(s[2 * jj + 1]);
          }
        }
      }
      if (K & 1) {
        if constexpr (kFp16) {
          for (int jj = 0; jj < P; ++jj) halves[jj] = s[2 * jj];
          Rounding::widen_row(halves, d, P);
        } else {
          for (int jj = 0; jj < P; ++jj) d[jj] = Rounding::to_float(s[2 * jj]);
        }
      }
    }
  }

  static void run(const GemmPacked16Params& p) {
    const GemmParams& g = p.g;
    const int64_t M = g.M, N = g.N, K = g.K;
    if (M <= 0 || N <= 0) return;
    const int64_t gn = g.b_group_n > 0 ? g.b_group_n : N;
    const int64_t cgs = g.c_group_stride > 0 ? g.c_group_stride : gn;
    const int64_t groups = N / gn;
    const int threads = g.threads < 1 ? 1 : g.threads;
    AlignedBuffer a(static_cast<size_t>(M * (K > 0 ? K : 0)));
    GemmBf16EmulatedKernel<V, Rounding>::round_matrix(g.a, p.a16, g.lda, M, K, a.data(), threads);
    const int64_t Kp = (K + 1) / 2 * 2, ppg = (gn + P - 1) / P, cpg = (ppg + kChunkPanels - 1) / kChunkPanels;
    parallel_items(groups * cpg, threads, [&](int, ItemCounter& it) {
      AlignedBuffer wide(static_cast<size_t>(kChunkPanels * P * (K > 0 ? K : 0)));
      int64_t item;
      while (it.next(item)) {
        const int64_t gi = item / cpg, pan0 = (item % cpg) * kChunkPanels;
        const int64_t panels = min64(kChunkPanels, ppg - pan0), c0 = pan0 * P;
        widen_panels(p.b16_packed + (gi * ppg + pan0) * Kp * P, panels, K, wide.data());
        GemmParams r = g;
        r.a = a.data();
        r.lda = K;
        r.b = nullptr;
        r.b_packed = wide.data();
        r.N = min64(panels * P, gn - c0);
        r.b_group_n = 0;
        r.c_group_stride = 0;
        r.c = g.c + gi * cgs + c0;
        r.threads = 1;
        GemmKernel<V>::run(r);
      }
    });
  }
};

}  // namespace ga

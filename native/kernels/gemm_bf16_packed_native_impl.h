// The native 16-bit GEMM on a packed B (kernels/gemm_bf16_packed.h): GemmBf16NativeKernel's
// micro-kernel (kernels/gemm_bf16_native_impl.h) reading gemm_pack_b16's pair panels in place of
// the panels it packs per call. A is converted per call exactly as there; each output sums the
// same dot-pair products in the same order (all of K, pair by pair), so results are bit-identical
// to gemm_abt_bf16 on the unpacked rows.
//
// A register tile of NR = NV·W columns reads NV vectors of W pairs; each vector lies in one
// 16-column panel (W divides 16), at its own pointer with the panels' common pair stride (32
// values). Work items: (row block of MC rows) x (tile of a group), as in the unpacked kernel.
//
// ODR note: a class template over V, no std:: algorithm templates (kernels/gemm_impl.h).
#pragma once
#include <cstdint>

#include "kernels/gemm_bf16_native_impl.h"
#include "kernels/gemm_bf16_packed.h"
#include "runtime/aligned_buffer.h"
#include "runtime/parallel.h"

namespace ga {

template <class V>
struct GemmBf16PackedNativeKernel {
  using Base = GemmBf16NativeKernel<V>;
  using R = typename V::R;
  using P = typename V::P;
  static constexpr int W = V::W;
  static constexpr int MR = V::kGemmRows;
  static constexpr int NV = V::kGemmVecs;
  static constexpr int NR = NV * W;
  static constexpr int MC = Base::MC;
  static constexpr int64_t PS = 2 * kGemmPack16Width;  // values per panel pair row
  static_assert(kGemmPack16Width % W == 0, "a vector must lie in one packed panel");

  static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

  // ROWS x NR tile: A rows a + i*Kp (16-bit), vector v of B at bv[v] (+ kp * PS); cols < NR: partial stores.
  template <int ROWS>
  static inline void tile(const uint16_t* a, int64_t Kp, const uint16_t* const* bv, float* c, int64_t ldc, int cols,
                          bool add_out) {
    R acc[ROWS][NV];
    for (int i = 0; i < ROWS; ++i)
      for (int v = 0; v < NV; ++v) acc[i][v] = V::zero();
    const int64_t npairs = Kp / 2;
    for (int64_t kp = 0; kp < npairs; ++kp) {
      P b[NV];
      for (int v = 0; v < NV; ++v) b[v] = V::load_pairs(bv[v] + kp * PS);
      for (int i = 0; i < ROWS; ++i) {
        const P ab = V::set1_pair(a + i * Kp + 2 * kp);
        for (int v = 0; v < NV; ++v) acc[i][v] = V::dot_pairs(acc[i][v], ab, b[v]);
      }
    }
    if (cols == NR) {
      for (int i = 0; i < ROWS; ++i)
        for (int v = 0; v < NV; ++v) {
          float* cp = c + i * ldc + v * W;
          V::store(cp, add_out ? V::add(acc[i][v], V::load(cp)) : acc[i][v]);
        }
    } else {
      for (int i = 0; i < ROWS; ++i)
        for (int v = 0; v < NV; ++v) {
          const int r = cols - v * W;
          const int n = r < 0 ? 0 : (r > W ? W : r);
          if (n == 0) continue;
          float* cp = c + i * ldc + v * W;
          V::store_partial(cp, add_out ? V::add(acc[i][v], V::load_partial(cp, n)) : acc[i][v], n);
        }
    }
  }

  template <int ROWS = MR>
  static inline void tile_rows(int rows, const uint16_t* a, int64_t Kp, const uint16_t* const* bv, float* c,
                               int64_t ldc, int cols, bool add_out) {
    if constexpr (ROWS >= 1) {
      if (rows == ROWS) return tile<ROWS>(a, Kp, bv, c, ldc, cols, add_out);
      return tile_rows<ROWS - 1>(rows, a, Kp, bv, c, ldc, cols, add_out);
    }
  }

  static void run(const GemmPacked16Params& p) {
    const GemmParams& g = p.g;
    const int64_t M = g.M, N = g.N, K = g.K;
    if (M <= 0 || N <= 0) return;
    const int64_t gn = g.b_group_n > 0 ? g.b_group_n : N;
    const int64_t cgs = g.c_group_stride > 0 ? g.c_group_stride : gn;
    const int64_t groups = N / gn;
    if (K <= 0) {
      if (!g.accumulate)
        for (int64_t i = 0; i < M; ++i)
          for (int64_t gi = 0; gi < groups; ++gi)
            for (int64_t j = 0; j < gn; ++j) g.c[i * g.ldc + gi * cgs + j] = 0.f;
      return;
    }
    const int threads = g.threads < 1 ? 1 : g.threads;
    const int64_t Kp = (K + 1) / 2 * 2;
    const int64_t ppg = (gn + kGemmPack16Width - 1) / kGemmPack16Width;  // panels per group
    const int64_t tpg = (gn + NR - 1) / NR;                              // tiles per group
    AlignedBuffer abuf(Base::floats_for(M * Kp));
    uint16_t* a = Base::u16(abuf);
    Base::convert_rows(g.a, p.a16, g.lda, M, K, Kp, a, threads);
    const int64_t ntiles = groups * tpg, nrb = (M + MC - 1) / MC;
    parallel_items(nrb * ntiles, threads, [&](int, ItemCounter& it) {
      int64_t item;
      while (it.next(item)) {
        const int64_t rb = item / ntiles, t = item % ntiles, gi = t / tpg, c0 = (t % tpg) * NR;
        const int64_t r0 = rb * MC, r1 = min64(M, r0 + MC);
        const int cols = static_cast<int>(min64(NR, gn - c0));
        const uint16_t* group = p.b16_packed + gi * ppg * Kp * kGemmPack16Width;
        const uint16_t* bv[NV];
        for (int v = 0; v < NV; ++v) {
          // Vectors past the group's last panel read the first one (their sums are never stored).
          const int64_t col = c0 + v * W < ppg * kGemmPack16Width ? c0 + v * W : c0;
          bv[v] = group + (col / kGemmPack16Width) * Kp * kGemmPack16Width + (col % kGemmPack16Width) * 2;
        }
        for (int64_t i = r0; i < r1; i += MR)
          tile_rows(static_cast<int>(min64(MR, r1 - i)), a + i * Kp, Kp, bv, g.c + i * g.ldc + gi * cgs + c0, g.ldc,
                    cols, g.accumulate);
      }
    });
  }
};

}  // namespace ga

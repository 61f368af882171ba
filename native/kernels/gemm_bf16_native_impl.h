// The native 16-bit GEMM, C (+)= A · Bᵀ with 16-bit products and float32 accumulation, over a
// vector type V with 16-bit pair operations: bfloat16 (simd/vec_avx512bf16.h: vdpbf16ps;
// simd/vec_neon_bf16.h: BFDOT) or float16 (simd/vec_neon_fp16.h: FMLAL + FMLAL2). V::Half is the
// 16-bit type's scalar rule (kernels/bf16.h or kernels/fp16.h). A bfloat16 dot-pair instruction
// does 2·W multiply-adds, twice the float32 FMA's W.
//
// Algorithm: the float32 GEMM's structure (kernels/gemm_impl.h) along pairs of K:
//  * A is converted once per call to bfloat16 rows, K padded to even with zeros (Kp).
//  * B is packed once per call into panels of NR = kGemmVecs·W columns, panel[kp][jj] = the pair
//    (B[j][2kp], B[j][2kp+1]), so the micro-kernel loads NV vectors of W pairs per K pair.
//  * Micro-kernel: MR x NR register tile; per K pair it broadcasts A's pair (one 32-bit load) for
//    each of its MR rows and does MR·NV dot-pair instructions.
//  * Rounding: vectorised conversions where whole vectors fit, V::Half for tails; both round the
//    same way (kernels/bf16.h, kernels/fp16.h), so values never depend on where a tail falls.
//  * Threads: (row block of MC rows) x (panel) work items, like the float32 GEMM. K is not
//    blocked: a panel is K·NR·2 bytes (128 KiB for K = 1024 on AVX-512), the projections' size.
//
// ODR note: a class template over V, no std:: algorithm templates (kernels/gemm_impl.h).
#pragma once
#include <cstdint>
#include <cstring>

#include "kernels/bf16.h"
#include "kernels/gemm_bf16.h"
#include "runtime/aligned_buffer.h"
#include "runtime/parallel.h"

namespace ga {

template <class V>
struct GemmBf16NativeKernel {
  using R = typename V::R;
  using P = typename V::P;
  using B16 = typename V::Half;
  static constexpr int W = V::W;
  static constexpr int MR = V::kGemmRows;
  static constexpr int NV = V::kGemmVecs;
  static constexpr int NR = NV * W;
  static constexpr int MC = ((96 + MR - 1) / MR) * MR;

  static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

  // bfloat16 buffer of n values in an AlignedBuffer (float-sized units).
  static uint16_t* u16(AlignedBuffer& b) { return reinterpret_cast<uint16_t*>(b.data()); }
  static size_t floats_for(int64_t n_u16) { return static_cast<size_t>((n_u16 + 1) / 2); }

  // One row of K values (float32 src or bf16 src16) to bfloat16, zero-padded to Kp.
  static void convert_row(const float* src, const uint16_t* src16, int64_t K, int64_t Kp, uint16_t* dst) {
    int64_t k = 0;
    if (src16) {
      std::memcpy(dst, src16, static_cast<size_t>(K) * 2);
      k = K;
    } else {
      for (; k + 2 * W <= K; k += 2 * W)
        V::store_pairs(dst + k, V::cvt_contiguous(V::load(src + k), V::load(src + k + W)));
      for (; k < K; ++k) dst[k] = B16::from_float(src[k]);
    }
    for (; k < Kp; ++k) dst[k] = 0;
  }

  // rows x K of (src | src16), row stride ld, to bfloat16 rows of Kp.
  static void convert_rows(const float* src, const uint16_t* src16, int64_t ld, int64_t rows, int64_t K, int64_t Kp,
                           uint16_t* dst, int threads) {
    const int64_t chunk = 32;
    parallel_items((rows + chunk - 1) / chunk, threads, [&](int, ItemCounter& it) {
      int64_t c;
      while (it.next(c)) {
        const int64_t r1 = min64(rows, (c + 1) * chunk);
        for (int64_t r = c * chunk; r < r1; ++r)
          convert_row(src ? src + r * ld : nullptr, src16 ? src16 + r * ld : nullptr, K, Kp, dst + r * Kp);
      }
    });
  }

  // Panel of nj <= NR rows of the bf16 rows b (Kp each): dst[kp][jj] = pair kp of row jj (0 past nj).
  static void pack_panel(const uint16_t* b, int64_t Kp, int nj, uint16_t* dst) {
    const int64_t npairs = Kp / 2;
    for (int64_t kp = 0; kp < npairs; ++kp) {
      uint16_t* d = dst + kp * 2 * NR;
      for (int jj = 0; jj < NR; ++jj) {
        if (jj < nj) std::memcpy(d + 2 * jj, b + jj * Kp + 2 * kp, 4);
        else d[2 * jj] = d[2 * jj + 1] = 0;
      }
    }
  }

  // ROWS x NR tile: A rows a + i*Kp (bf16), panel bp; cols < NR: partial stores.
  template <int ROWS>
  static inline void tile(const uint16_t* a, int64_t Kp, const uint16_t* bp, float* c, int64_t ldc, int cols,
                          bool add_out) {
    R acc[ROWS][NV];
    for (int i = 0; i < ROWS; ++i)
      for (int v = 0; v < NV; ++v) acc[i][v] = V::zero();
    const int64_t npairs = Kp / 2;
    int64_t kp = 0;
    do {  // npairs >= 1 (run() returns early for K == 0): a do-loop keeps acc in registers throughout
      P bv[NV];
      for (int v = 0; v < NV; ++v) bv[v] = V::load_pairs(bp + kp * 2 * NR + v * 2 * W);
      for (int i = 0; i < ROWS; ++i) {
        const P ab = V::set1_pair(a + i * Kp + 2 * kp);
        for (int v = 0; v < NV; ++v) acc[i][v] = V::dot_pairs(acc[i][v], ab, bv[v]);
      }
    } while (++kp < npairs);
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
          float* cp = c + i * ldc + v * W;
          V::store_partial(cp, add_out ? V::add(acc[i][v], V::load_partial(cp, n)) : acc[i][v], n);
        }
    }
  }

  template <int ROWS = MR>
  static inline void tile_rows(int rows, const uint16_t* a, int64_t Kp, const uint16_t* bp, float* c, int64_t ldc,
                               int cols, bool add_out) {
    if constexpr (ROWS >= 1) {
      if (rows == ROWS) return tile<ROWS>(a, Kp, bp, c, ldc, cols, add_out);
      return tile_rows<ROWS - 1>(rows, a, Kp, bp, c, ldc, cols, add_out);
    }
  }

  static void run(const GemmBf16Params& p) {
    const GemmParams& g = p.g;
    const int64_t M = g.M, N = g.N, K = g.K;
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
      if (!g.accumulate)
        for (int64_t i = 0; i < M; ++i)
          for (int64_t j = 0; j < N; ++j) g.c[i * g.ldc + j] = 0.f;
      return;
    }
    const int threads = g.threads < 1 ? 1 : g.threads;
    const int64_t Kp = (K + 1) / 2 * 2;
    const int64_t npan = (N + NR - 1) / NR;
    AlignedBuffer abuf(floats_for(M * Kp)), bbuf(floats_for(N * Kp)), pbuf(floats_for(npan * Kp * NR));
    uint16_t* a = u16(abuf);
    uint16_t* b = u16(bbuf);
    uint16_t* pk = u16(pbuf);
    convert_rows(g.a, p.a16, g.lda, M, K, Kp, a, threads);
    convert_rows(g.b, p.b16, g.ldb, N, K, Kp, b, threads);
    parallel_items(npan, threads, [&](int, ItemCounter& it) {
      int64_t pn;
      while (it.next(pn)) pack_panel(b + pn * NR * Kp, Kp, static_cast<int>(min64(NR, N - pn * NR)), pk + pn * Kp * NR);
    });
    const int64_t nrb = (M + MC - 1) / MC;
    parallel_items(nrb * npan, threads, [&](int, ItemCounter& it) {
      int64_t item;
      while (it.next(item)) {
        const int64_t rb = item / npan, pn = item % npan;
        const int64_t r0 = rb * MC, r1 = min64(M, r0 + MC);
        const int cols = static_cast<int>(min64(NR, N - pn * NR));
        for (int64_t i = r0; i < r1; i += MR)
          tile_rows(static_cast<int>(min64(MR, r1 - i)), a + i * Kp, Kp, pk + pn * Kp * NR, g.c + i * g.ldc + pn * NR,
                    g.ldc, cols, g.accumulate);
      }
    });
  }
};

}  // namespace ga

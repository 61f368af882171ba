// Flash-style dense attention, written once over a SIMD vector type V and compiled per ISA
// (simd/isa_*.cc). Algorithm: tiled attention with an online softmax (Milakov & Gimelshein
// 2018; Dao et al., FlashAttention 2022): no Nq x Nk score matrix is ever held.
//
// Layout choice (why it is fast on a CPU): per block of BQ queries we keep Q transposed,
// QT[d][m], and compute the score tile transposed, S[j][m] = sum_d K[j][d] * QT[d][m]. The
// micro-kernel broadcasts K[j][d] straight from the caller's K (no K packing) and FMAs it into
// vectors of W queries. Softmax statistics (max, sum) then run elementwise across queries, with
// no horizontal reductions. O[m][:] += sum_j S[j][m] * V[j][:] broadcasts S and streams V rows.
// The softmax runs in base 2: scale * log2(e) is folded into QT and the bias, so exp2 suffices.
//
// ODR note: this header is compiled once per ISA with that ISA's flags. Everything here is a
// template over V (so each ISA gets distinct symbols); it avoids out-of-line std:: algorithm
// templates (std::fill, std::copy), whose one shared copy the linker could take from an AVX
// translation unit and run on a CPU without AVX.
//
// Thread contract: one work item = (batch b, head h, query block); each thread owns one
// Scratch (QT, S, O, stats), allocated before the parallel region.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "kernels/aligned_buffer.h"
#include "kernels/dense_attention.h"
#include "kernels/exp2.h"
#include "kernels/parallel.h"

namespace ga {

template <class V>
struct DenseAttentionKernel {
  using R = typename V::R;
  static constexpr int W = V::W;
  static constexpr int QV = V::kQkVecs;        // query vectors per QK micro-tile
  static constexpr int KR = V::kQkKeys;        // keys per QK micro-tile
  static constexpr int QCOL = QV * W;          // queries per QK micro-tile
  static constexpr int BQ = 2 * QCOL;          // queries per block (one work item)
#ifndef GA_DENSE_BK
#define GA_DENSE_BK 128
#endif
  static constexpr int BK = GA_DENSE_BK;       // keys per tile (S tile = BK x BQ floats)
  static constexpr int MR = V::kPvRows;        // rows per PV micro-tile
  static constexpr int NV = V::kPvVecs;        // output vectors per PV micro-tile
  static_assert(BQ % MR == 0, "PV rows must tile the query block");
  static_assert(BK % KR == 0, "QK keys must tile the key tile");
  static constexpr float kLog2e = 1.4426950408889634f;

  struct Scratch {
    AlignedBuffer qt, s, o, stats, vpad;
    Scratch(int64_t D, int64_t Dvp, bool need_vpad)
        : qt(static_cast<size_t>(D) * BQ), s(static_cast<size_t>(BK) * BQ),
          o(static_cast<size_t>(BQ) * Dvp), stats(3 * BQ),
          vpad(need_vpad ? static_cast<size_t>(BK) * Dvp : 0) {}
  };

  // S[j][m0..m0+QCOL) for NK keys starting at kp (row stride D).
  template <int NK>
  static inline void qk_tile(const float* kp, int64_t D, const float* qt, float* s) {
    R acc[NK][QV];
    for (int a = 0; a < NK; ++a)
      for (int v = 0; v < QV; ++v) acc[a][v] = V::zero();
#pragma GCC unroll 2
    for (int64_t d = 0; d < D; ++d) {
      R qv[QV];
      for (int v = 0; v < QV; ++v) qv[v] = V::load(qt + d * BQ + v * W);
      for (int a = 0; a < NK; ++a) {
        const R kb = V::set1(kp[a * D + d]);
        for (int v = 0; v < QV; ++v) acc[a][v] = V::fmadd(kb, qv[v], acc[a][v]);
      }
    }
    for (int a = 0; a < NK; ++a)
      for (int v = 0; v < QV; ++v) V::store(s + a * BQ + v * W, acc[a][v]);
  }

  // The last nk < KR keys of a tile.
  template <int N = KR - 1>
  static inline void qk_tail(int nk, const float* kp, int64_t D, const float* qt, float* s) {
    if constexpr (N >= 1) {
      if (nk == N) return qk_tile<N>(kp, D, qt, s);
      return qk_tail<N - 1>(nk, kp, D, qt, s);
    }
  }

  // O[r0..r0+MR)[c0..c0+NVV*W) = alpha * O + sum_j S[j][r] * V[j][c].
  template <int NVV>
  static inline void pv_tile(const float* s, int nk, const float* vt, int64_t vstride, float* o,
                             int64_t Dvp, const float* alpha) {
    R acc[MR][NVV];
    for (int r = 0; r < MR; ++r) {
      const R a = V::set1(alpha[r]);
      for (int v = 0; v < NVV; ++v) acc[r][v] = V::mul(a, V::load(o + r * Dvp + v * W));
    }
    for (int j = 0; j < nk; ++j) {
      R vv[NVV];
      for (int v = 0; v < NVV; ++v) vv[v] = V::load(vt + j * vstride + v * W);
      for (int r = 0; r < MR; ++r) {
        const R pb = V::set1(s[j * BQ + r]);
        for (int v = 0; v < NVV; ++v) acc[r][v] = V::fmadd(pb, vv[v], acc[r][v]);
      }
    }
    for (int r = 0; r < MR; ++r)
      for (int v = 0; v < NVV; ++v) V::store(o + r * Dvp + v * W, acc[r][v]);
  }

  template <int N = NV>
  static inline void pv_chunk(int nvec, const float* s, int nk, const float* vt, int64_t vstride,
                              float* o, int64_t Dvp, const float* alpha) {
    if constexpr (N >= 1) {
      if (nvec == N) return pv_tile<N>(s, nk, vt, vstride, o, Dvp, alpha);
      return pv_chunk<N - 1>(nvec, s, nk, vt, vstride, o, Dvp, alpha);
    }
  }

  static void run_block(const DenseAttentionParams& p, int64_t b, int64_t h, int64_t q0, Scratch& sc) {
    const int64_t D = p.D, Dv = p.Dv, Nk = p.Nk, Nq = p.Nq;
    const int64_t Dvp = (Dv + W - 1) / W * W;
    const int nq = static_cast<int>(std::min<int64_t>(BQ, Nq - q0));
    const int64_t hk = h / (p.H / p.Hk);
    const float* q = p.q + ((b * p.H + h) * Nq + q0) * D;
    const float* k = p.k + (b * p.Hk + hk) * Nk * D;
    const float* v = p.v + (b * p.Hk + hk) * Nk * Dv;
    float* out = p.out + ((b * p.H + h) * Nq + q0) * Dv;
    const uint8_t* mask = p.key_mask ? p.key_mask + b * Nk : nullptr;
    const int64_t coff = Nk - Nq;  // causal offset (bottom-right alignment)

    float* qt = sc.qt.data();
    float* s = sc.s.data();
    float* o = sc.o.data();
    float* mrow = sc.stats.data();
    float* lrow = mrow + BQ;
    float* alpha = lrow + BQ;
    const float qscale = p.scale * kLog2e;
    for (int64_t d = 0; d < D; ++d)
      for (int m = 0; m < BQ; ++m) qt[d * BQ + m] = m < nq ? q[m * D + d] * qscale : 0.f;
    for (int64_t i = 0; i < BQ * Dvp; ++i) o[i] = 0.f;
    for (int m = 0; m < BQ; ++m) {
      mrow[m] = -std::numeric_limits<float>::infinity();
      lrow[m] = 0.f;
    }

    int64_t kend = Nk;
    if (p.causal) kend = std::min<int64_t>(Nk, q0 + nq + coff);  // last row's limit + 1
    // Rows computed: nq rounded up to whole QK micro-tiles (a multiple of W and of MR), so
    // every row the PV step reads has real scores and statistics.
    const int rows = (nq + QCOL - 1) / QCOL * QCOL;
    static_assert(QCOL % MR == 0, "PV rows must tile the QK micro-tile");
    const float ninf = -std::numeric_limits<float>::infinity();

    for (int64_t j0 = 0; j0 < kend; j0 += BK) {
      const int nk = static_cast<int>(std::min<int64_t>(BK, kend - j0));
      if (mask) {
        int any = 0;
        for (int j = 0; j < nk; ++j) any |= mask[j0 + j];
        if (!any) continue;
      }
      // Scores.
      const float* kt = k + j0 * D;
      for (int c = 0; c < BQ; c += QCOL) {
        if (c >= rows) break;
        int j = 0;
        for (; j + KR <= nk; j += KR) qk_tile<KR>(kt + j * D, D, qt + c, s + j * BQ + c);
        if (j < nk) qk_tail(nk - j, kt + j * D, D, qt + c, s + j * BQ + c);
      }
      // Bias, key mask, causal rule.
      if (p.bias) {
        const float* bb = p.bias + b * p.bias_stride[0] + h * p.bias_stride[1];
        for (int j = 0; j < nk; ++j) {
          const float* bj = bb + (j0 + j) * p.bias_stride[3];
          for (int m = 0; m < nq; ++m) s[j * BQ + m] += kLog2e * bj[(q0 + m) * p.bias_stride[2]];
        }
      }
      if (mask) {
        for (int j = 0; j < nk; ++j)
          if (!mask[j0 + j])
            for (int m = 0; m < BQ; ++m) s[j * BQ + m] = ninf;
      }
      if (p.causal && j0 + nk - 1 > q0 + coff) {
        for (int j = 0; j < nk; ++j)
          for (int m = 0; m < nq; ++m)
            if (j0 + j > q0 + m + coff) s[j * BQ + m] = ninf;
      }
      // Online softmax, elementwise across queries.
      for (int c = 0; c < rows; c += W) {
        R mt = V::set1(ninf);
        for (int j = 0; j < nk; ++j) mt = V::max(mt, V::load(s + j * BQ + c));
        const R mo = V::load(mrow + c);
        const R mn = V::max(mo, mt);
        // A row that has seen no admissible key keeps max -inf; subtracting -FLT_MAX instead
        // keeps every exp2 argument -inf (-> exactly 0) rather than NaN.
        const R ms = V::max(mn, V::set1(-std::numeric_limits<float>::max()));
        const R a = exp2_vec<V>(V::sub(mo, ms));
        R ls = V::zero();
        for (int j = 0; j < nk; ++j) {
          const R pj = exp2_vec<V>(V::sub(V::load(s + j * BQ + c), ms));
          V::store(s + j * BQ + c, pj);
          ls = V::add(ls, pj);
        }
        V::store(lrow + c, V::fmadd(V::load(lrow + c), a, ls));
        V::store(mrow + c, mn);
        V::store(alpha + c, a);
      }
      // Values (padded copy only when Dv is not a multiple of the vector width).
      const float* vt = v + j0 * Dv;
      int64_t vstride = Dv;
      if (Dvp != Dv) {
        float* vp = sc.vpad.data();
        for (int j = 0; j < nk; ++j) {
          for (int64_t c = 0; c < Dvp; ++c) vp[j * Dvp + c] = c < Dv ? vt[j * Dv + c] : 0.f;
        }
        vt = vp;
        vstride = Dvp;
      }
      for (int r0 = 0; r0 < rows; r0 += MR) {
        for (int64_t c0 = 0; c0 < Dvp; c0 += NV * W) {
          const int nvec = static_cast<int>(std::min<int64_t>(NV, (Dvp - c0) / W));
          pv_chunk(nvec, s + r0, nk, vt + c0, vstride, o + r0 * Dvp + c0, Dvp, alpha + r0);
        }
      }
    }
    // Normalise; rows with no admissible key give exactly 0.
    for (int m = 0; m < nq; ++m) {
      const float l = lrow[m];
      const float inv = l > 0.f ? 1.f / l : 0.f;
      for (int64_t c = 0; c < Dv; ++c) out[m * Dv + c] = l > 0.f ? o[m * Dvp + c] * inv : 0.f;
    }
  }

  static void run(const DenseAttentionParams& p) {
    if (p.B == 0 || p.H == 0 || p.Nq == 0 || p.Dv == 0) return;
    const int64_t nqb = (p.Nq + BQ - 1) / BQ;
    const int64_t items = p.B * p.H * nqb;
    const int threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(p.threads, items)));
    const int64_t Dvp = (p.Dv + W - 1) / W * W;
    std::vector<Scratch> scratch;
    scratch.reserve(threads);
    for (int t = 0; t < threads; ++t) scratch.emplace_back(p.D, Dvp, Dvp != p.Dv);
    parallel_items(items, threads, [&](int tid, ItemCounter& items_left) {
      int64_t it;
      while (items_left.next(it)) {
        const int64_t qb = it % nqb, bh = it / nqb;
        run_block(p, bh / p.H, bh % p.H, qb * BQ, scratch[tid]);
      }
    });
  }
};

}  // namespace ga

// The bfloat16 GEMM on AMX tiles, C (+)= A · Bᵀ (gemm_abt_bf16 and gemm_abt_bf16_packed of the
// amxbf16 set): the same rounding as GemmBf16NativeKernel (A and B to bfloat16, products exact,
// float32 sums), with the products 16 x 16 x 32 at a time. Tiles: simd/amx_bf16.h.
//
//  * A: bfloat16 rows of Kt values (K padded with zeros to a multiple of 32: whole A tile rows),
//    the row count padded to a multiple of 32 with zero rows, converted once per call.
//  * B: panels of 16 columns in pairs along K, panel[kp][jj] = (B[j][2kp], B[j][2kp+1]): the B
//    tile layout itself, 16 pair rows of 64 bytes per tile. gemm_abt_bf16 packs B per call with
//    Kt/2 pair rows; gemm_abt_bf16_packed reads gemm_pack_b16's panels (the same layout, Kp/2
//    rows), a partial last chunk through a zero-padded copy.
//  * A work item is 32 rows x up to 2 panels: four C tiles summed over all of K, stored to a
//    per-thread 32 x 32 float buffer, then written (or added) to C's valid rows and columns.
//    Each thread configures the tiles for its items and releases them when it is done.
//
// ODR note: a class template over V and Tiles, no std:: algorithm templates (kernels/gemm_impl.h).
#pragma once
#include <cstdint>
#include <cstring>

#include "kernels/gemm_bf16.h"
#include "kernels/gemm_bf16_native_impl.h"
#include "kernels/gemm_bf16_packed.h"
#include "runtime/aligned_buffer.h"
#include "runtime/parallel.h"

namespace ga {

template <class V, class Tiles>
struct GemmBf16AmxKernel {
  using Vec = GemmBf16NativeKernel<V>;          // row conversion (the same rounding)
  static constexpr int T = Tiles::kRows;        // rows or columns per tile side
  static constexpr int KC = 2 * Tiles::kPairs;  // K values per A tile row
  static constexpr int PW = kGemmPack16Width;   // columns per panel
  static_assert(PW == T, "a packed panel is one B tile wide");
  static constexpr int64_t kPanelRow = 2 * PW;  // values per panel pair row

  static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
  static int64_t round_up(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

  // Where the C columns of panel pn go: group gi = pn / ppg, columns c0 .. c0 + cols of the group.
  struct Panels {
    const uint16_t* b;  // panel pn starts at b + pn * rows * kPanelRow
    int64_t rows;       // pair rows per panel
    int64_t ppg, gn, cgs;
  };

  // 32 rows (a: Kt-wide rows) x panels p and p + NP - 1 (same group) into tmp (32 x 32 floats).
  // Packed panels of a K that is not a multiple of 32 end in a partial chunk, read through
  // zero-padded copies.
  template <int NP>
  static void block(const uint16_t* a, int64_t Kt, const Panels& pn, int64_t p, float* tmp) {
    const int64_t panel = pn.rows * kPanelRow, chunks = Kt / KC, last = chunks - 1;
    const uint16_t* b0 = pn.b + p * panel;
    const int64_t left = pn.rows - last * Tiles::kPairs;  // pair rows of the last chunk
    alignas(64) uint16_t tail[2][Tiles::kPairs * kPanelRow];
    if (left < Tiles::kPairs) {
      std::memset(tail, 0, sizeof tail);
      for (int t = 0; t < NP; ++t)
        std::memcpy(tail[t], b0 + t * panel + last * Tiles::kPairs * kPanelRow,
                    static_cast<size_t>(left * kPanelRow) * 2);
    }
    const auto at = [&](int t, int64_t i) -> const uint16_t* {
      return i == last && left < Tiles::kPairs ? tail[t] : b0 + t * panel + i * Tiles::kPairs * kPanelRow;
    };
    Tiles::template product<2, NP, false>(tmp, 2 * T, a, Kt, chunks, at, kPanelRow * 2);
  }

  // The 32 x (16·np) block in tmp to C rows r0.. (< M) at the panels' columns.
  static void write(const float* tmp, int64_t r0, int64_t M, const GemmParams& g, const Panels& pn, int64_t p, int np) {
    for (int c = 0; c < np; ++c) {
      const int64_t gi = (p + c) / pn.ppg, c0 = ((p + c) % pn.ppg) * PW;
      const int cols = static_cast<int>(min64(PW, pn.gn - c0));
      for (int64_t r = 0; r < 2 * T && r0 + r < M; ++r) {
        float* cr = g.c + (r0 + r) * g.ldc + gi * pn.cgs + c0;
        const float* t = tmp + r * 2 * T + c * T;
        if (g.accumulate) V::store_partial(cr, V::add(V::load_partial(cr, cols), V::load(t)), cols);
        else V::store_partial(cr, V::load(t), cols);
      }
    }
  }

  // Every (32-row block, panel pair) of a call; panels of a group pair up from its first, so a
  // pair never straddles groups (a group's odd last panel runs alone).
  static void run_panels(const uint16_t* a, int64_t M, int64_t Kt, const GemmParams& g, const Panels& pn,
                         int64_t groups) {
    const int64_t pairs_per_group = (pn.ppg + 1) / 2;
    const int64_t nrb = (M + 2 * T - 1) / (2 * T), items = nrb * groups * pairs_per_group;
    const int threads = g.threads < 1 ? 1 : g.threads;
    parallel_items(items, threads, [&](int, ItemCounter& it) {
      alignas(64) float tmp[2 * T * 2 * T];
      bool configured = false;
      int64_t item;
      while (it.next(item)) {
        if (!configured) Tiles::configure();
        configured = true;
        // Panels inner: a row block's A (32 rows) stays in cache while B's panels (the weights,
        // usually within L2) go by; rows inner re-read all of A from memory for every panel pair.
        const int64_t rb = item / (groups * pairs_per_group), pp = item % (groups * pairs_per_group);
        const int64_t gi = pp / pairs_per_group, p = gi * pn.ppg + (pp % pairs_per_group) * 2;
        const int np = p + 1 < (gi + 1) * pn.ppg ? 2 : 1;
        const uint16_t* ar = a + rb * 2 * T * Kt;
        if (np == 2) block<2>(ar, Kt, pn, p, tmp);
        else block<1>(ar, Kt, pn, p, tmp);
        write(tmp, rb * 2 * T, M, g, pn, p, np);
      }
      if (configured) Tiles::release();
    });
  }

  // A (float32 or 16-bit) as bfloat16 rows of Kt, zero rows to a multiple of 32.
  static void convert_a(const GemmParams& g, const uint16_t* a16, int64_t Kt, AlignedBuffer& buf) {
    const int64_t Mp = round_up(g.M, 2 * T);
    buf.resize(Vec::floats_for(Mp * Kt));
    uint16_t* a = Vec::u16(buf);
    Vec::convert_rows(g.a, a16, g.lda, g.M, g.K, Kt, a, g.threads < 1 ? 1 : g.threads);
    std::memset(a + g.M * Kt, 0, static_cast<size_t>((Mp - g.M) * Kt) * 2);
  }

  static bool zero_k(const GemmParams& g, int64_t groups, int64_t gn, int64_t cgs) {
    if (g.K > 0) return false;
    if (!g.accumulate)
      for (int64_t i = 0; i < g.M; ++i)
        for (int64_t gi = 0; gi < groups; ++gi)
          for (int64_t j = 0; j < gn; ++j) g.c[i * g.ldc + gi * cgs + j] = 0.f;
    return true;
  }

  // gemm_abt_bf16: B [N, K] packed here into 16-column panels of Kt/2 pair rows.
  static void run(const GemmBf16Params& p) {
    const GemmParams& g = p.g;
    if (g.M <= 0 || g.N <= 0 || zero_k(g, 1, g.N, g.N)) return;
    const int64_t Kt = round_up(g.K, KC), npan = (g.N + PW - 1) / PW;
    AlignedBuffer abuf, bbuf(Vec::floats_for(npan * PW * Kt)), pbuf(Vec::floats_for(npan * Kt * PW));
    convert_a(g, p.a16, Kt, abuf);
    uint16_t* b = Vec::u16(bbuf);
    uint16_t* pk = Vec::u16(pbuf);
    const int threads = g.threads < 1 ? 1 : g.threads;
    Vec::convert_rows(g.b, p.b16, g.ldb, g.N, g.K, Kt, b, threads);
    std::memset(b + g.N * Kt, 0, static_cast<size_t>((npan * PW - g.N) * Kt) * 2);
    parallel_items(npan, threads, [&](int, ItemCounter& it) {
      int64_t pn;
      while (it.next(pn)) {
        const uint16_t* rows = b + pn * PW * Kt;
        uint16_t* d = pk + pn * Kt * PW;
        for (int64_t kp = 0; kp < Kt / 2; ++kp)
          for (int jj = 0; jj < PW; ++jj) std::memcpy(d + kp * kPanelRow + 2 * jj, rows + jj * Kt + 2 * kp, 4);
      }
    });
    run_panels(Vec::u16(abuf), g.M, Kt, g, Panels{pk, Kt / 2, npan, g.N, g.N}, 1);
  }

  // gemm_abt_bf16_packed: gemm_pack_b16's panels are B tiles already; where K is not a multiple
  // of 32 the last chunk's pair rows are copied into a zero-padded tile (block()), so the sums are
  // those of run() on the same rows, bit for bit.
  static void run_packed(const GemmPacked16Params& p) {
    const GemmParams& g = p.g;
    if (g.M <= 0 || g.N <= 0) return;
    const int64_t gn = g.b_group_n > 0 ? g.b_group_n : g.N;
    const int64_t cgs = g.c_group_stride > 0 ? g.c_group_stride : gn;
    const int64_t groups = g.N / gn;
    if (zero_k(g, groups, gn, cgs)) return;
    const int64_t Kt = round_up(g.K, KC), Kp = (g.K + 1) / 2 * 2, ppg = (gn + PW - 1) / PW;
    AlignedBuffer abuf;
    convert_a(g, p.a16, Kt, abuf);
    run_panels(Vec::u16(abuf), g.M, Kt, g, Panels{p.b16_packed, Kp / 2, ppg, gn, cgs}, groups);
  }
};

}  // namespace ga

// C[M,N] (+)= A[M,K] · B[N,K]ᵀ, written once over a SIMD vector type V (compiled per ISA).
// B is a PyTorch nn.Linear weight [out, in], so y = x · Wᵀ needs no transpose by the caller.
//
// Algorithm: the GotoBLAS/BLIS structure (Goto & van de Geijn 2008; Van Zee & van de Geijn 2015),
// reduced to what the layer projections need (N, K of a few hundred to a few thousand):
//  * B is packed once per call into column panels of NR = kGemmVecs·W output columns,
//    panel[k][0..NR) = B[j0..j0+NR)[k], the columns past N zero-padded, so the micro-kernel reads
//    NR consecutive floats per k and never needs a column tail while computing.
//  * Micro-kernel: an MR x NR register tile (MR = kGemmRows). Per k it loads kGemmVecs vectors of
//    the panel, broadcasts A[i][k] for each of its MR rows straight from A and does MR·kGemmVecs
//    FMAs. A is not packed: measured on AVX2/AVX-512 (M=4096, N=K=512) packing A was no faster,
//    and it costs a copy. The MR row streams advance in lockstep, so at every cache-line boundary
//    each row's line kPrefetch floats (four lines) ahead is prefetched. Tile shapes were picked by
//    round-robin A/B runs (M=4096; N=K=512, N=K=1024, and N=64, K=512 for per-head projections):
//    on AVX-512, 6x64 measured at least as fast as 12x32, 8x48, 14x32, 8x32 and clearly faster at
//    N=64; on AVX2, 6x16, 4x24 and 3x32 were within noise.
//  * K blocks of KC: K <= KC (the projections' 512/1024) runs unblocked, which measured best.
//    Larger K keeps each tile's partial sums in a per-thread MC x NR buffer (L1) between blocks, so
//    C itself is written once (read once when accumulating).
//  * Tails: rows < MR use tile<ROWS> (compile-time ROWS, all accumulators in registers); columns
//    past N are dropped by partial stores of the last panel.
//  * Threads: work items are (row block of MC rows) x (panel), pulled dynamically by
//    parallel_items; consecutive items share a row block, which stays in that core's L2.
//  * Small M (< kDotRows): packing B would cost about as much as the product, so a dot-product
//    kernel vectorised along K runs on the unpacked rows.
//  * Pre-packed B (GemmParams::b_packed, written once by pack_b in gemm.h's ISA-independent layout
//    of 16-column panels): no packing at any M. The same register tiles run over the panels, each
//    vector of a tile streaming its panel with a k stride of 16; at small M (a decode step's one
//    row per beam) this reads every panel once, contiguously, with no horizontal reductions.
//
// ODR note: compiled once per ISA with that ISA's flags. Everything here is a member of a class
// template over V (each ISA gets distinct symbols); no out-of-line std:: algorithm templates
// (std::fill, std::copy, std::min...) and no non-template inline functions, whose one shared copy
// the linker could take from an AVX translation unit and run on a CPU without AVX.
#pragma once
#include <cstddef>
#include <cstdint>

#include "runtime/aligned_buffer.h"
#include "kernels/gemm.h"
#include "kernels/prefetch.h"
#include "runtime/parallel.h"

namespace ga {

template <class V>
struct GemmKernel {
  using R = typename V::R;
  static constexpr int W = V::W;
  static constexpr int MR = V::kGemmRows;               // rows per register tile
  static constexpr int NV = V::kGemmVecs;               // vectors per register tile row
  static constexpr int NR = NV * W;                     // columns per register tile = panel width
  static constexpr int KC = 1024;                       // K block
  static constexpr int MC = ((96 + MR - 1) / MR) * MR;  // rows per work item (~96, whole tiles)
  static constexpr int kPrefetch = 64;                  // floats ahead in each A row
  // Dot-product path for M below kDotRows (measured crossover, N = K = 512: M ~ 24 on AVX2,
  // ~ 48-56 on AVX-512). Its tile is DR rows of A x DN rows of B, sized like the register tile's
  // accumulator budget (24 on 32-register ISAs, 12-16 otherwise).
  static constexpr int kDotRows = 2 * MR * NV;
  static_assert(kDotRows <= kGemmRowsAnyM, "gemm.h promises the tile path from kGemmRowsAnyM rows");
  static constexpr int DR = MR * NV >= 24 ? 4 : 2;
  static constexpr int DN = 4;

  static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

  // ---- packing ------------------------------------------------------------------------------
  // dst[k*NR + jj] = B[jj][k] for jj < nj, 0 for nj <= jj < NR; k in [0, K). W-wide chunks of the
  // NR rows go through a small transpose buffer: one vector load per row and chunk (each line of
  // B is read once, whole), then the panel is written row after row.
  template <int PW = NR>
  static void pack_panel(const float* b, int64_t ldb, int nj, int64_t K, float* dst) {
    alignas(64) float t[PW * W];  // t[jj * W + k]
    for (int64_t k0 = 0; k0 < K; k0 += W) {
      const int kw = static_cast<int>(min64(W, K - k0));
      if (kw == W)
        for (int jj = 0; jj < PW; ++jj) V::store(t + jj * W, jj < nj ? V::load(b + jj * ldb + k0) : V::zero());
      else
        for (int jj = 0; jj < PW; ++jj)
          V::store(t + jj * W, jj < nj ? V::load_partial(b + jj * ldb + k0, kw) : V::zero());
      float* d = dst + k0 * PW;
      for (int k = 0; k < kw; ++k)
        for (int jj = 0; jj < PW; ++jj) d[k * PW + jj] = t[jj * W + k];
    }
  }

  // ---- packed micro-kernel ------------------------------------------------------------------
  // Where a register tile's NR columns of B are: k row k of vector v is at p[v] + k * LDP. Per-call
  // panels (SPLIT false) hold the NR columns side by side, p[v] = p[0] + v * W. Pre-packed panels
  // are kGemmPackWidth (16) wide, so a tile's vectors may sit in different panels (AVX-512's four,
  // NEON's 12 columns straddling two) and each vector has its own stream, still contiguous.
  struct Slice {
    const float* p[NV];
  };

  // One k step: NV panel loads, ROWS broadcasts, ROWS x NV FMAs.
  template <int ROWS, int LDP, bool SPLIT>
  static inline void step(const float* const* ar, int64_t k, const Slice& b, R (&acc)[ROWS][NV]) {
    R bv[NV];
    if constexpr (SPLIT)
      for (int v = 0; v < NV; ++v) bv[v] = V::load(b.p[v] + k * LDP);
    else
      for (int v = 0; v < NV; ++v) bv[v] = V::load(b.p[0] + k * LDP + v * W);
    for (int i = 0; i < ROWS; ++i) {
      const R ab = V::set1(ar[i][k]);
      for (int v = 0; v < NV; ++v) acc[i][v] = V::fmadd(ab, bv[v], acc[i][v]);
    }
  }

  // ROWS x NR tile over one K block: A rows a + i*lda (i < ROWS), B's columns b (kc rows, see
  // Slice; k stride LDP: NR for per-call panels, kGemmPackWidth for pre-packed ones).
  // result = acc (+ cin[i*ldi + j] when cin) (+ cout[i*ldo + j] when add_out), stored to
  // cout[i*ldo + j] for the first `cols` columns (cols == NR: whole vectors; fewer: partial).
  template <int ROWS, int LDP, bool SPLIT>
  static inline void tile(const float* a, int64_t lda, const Slice& bp, int64_t kc, const float* cin, int64_t ldi,
                          float* cout, int64_t ldo, int cols, bool add_out) {
    R acc[ROWS][NV];
    for (int i = 0; i < ROWS; ++i)
      for (int v = 0; v < NV; ++v) acc[i][v] = V::zero();
    const float* ar[ROWS];
    for (int i = 0; i < ROWS; ++i) ar[i] = a + i * lda;
    // A local copy of the column pointers: read through the reference, GCC 12 keeps reloading
    // them and spills two of the B vectors to the stack (measured 8 % slower on AVX-512).
    const Slice b = bp;
    int64_t k = 0;
    // Whole cache lines of A (16 floats) at a time; the ROWS row streams move in lockstep, and
    // without the hints their line misses would arrive together every 16 steps. One do-loop
    // (kc >= 1: run_panels' K blocks are never empty) rather than a possibly-empty loop plus a
    // tail loop: around those, GCC 12 kept acc in stack slots (zeroed, spilled, reloaded per tile).
    do {
      if (k + 16 <= kc) {
        for (int i = 0; i < ROWS; ++i) prefetch_line(ar[i] + k + kPrefetch);
        for (int kk = 0; kk < 16; ++kk) step<ROWS, LDP, SPLIT>(ar, k + kk, b, acc);
        k += 16;
      } else {
        step<ROWS, LDP, SPLIT>(ar, k, b, acc);
        ++k;
      }
    } while (k < kc);

    if (cin)
      for (int i = 0; i < ROWS; ++i)
        for (int v = 0; v < NV; ++v) acc[i][v] = V::add(acc[i][v], V::load(cin + i * ldi + v * W));
    if (cols == NR) {
      for (int i = 0; i < ROWS; ++i)
        for (int v = 0; v < NV; ++v) {
          float* cp = cout + i * ldo + v * W;
          V::store(cp, add_out ? V::add(acc[i][v], V::load(cp)) : acc[i][v]);
        }
    } else {
      int n[NV];
      for (int v = 0; v < NV; ++v) {
        const int r = cols - v * W;
        n[v] = r < 0 ? 0 : (r > W ? W : r);
      }
      for (int i = 0; i < ROWS; ++i)
        for (int v = 0; v < NV; ++v) {
          float* cp = cout + i * ldo + v * W;
          V::store_partial(cp, add_out ? V::add(acc[i][v], V::load_partial(cp, n[v])) : acc[i][v], n[v]);
        }
    }
  }

  // tile<rows> for 1 <= rows <= MR.
  template <int LDP, bool SPLIT, int ROWS = MR>
  static inline void tile_rows(int rows, const float* a, int64_t lda, const Slice& bp, int64_t kc, const float* cin,
                               int64_t ldi, float* cout, int64_t ldo, int cols, bool add_out) {
    if constexpr (ROWS >= 1) {
      if (rows == ROWS) return tile<ROWS, LDP, SPLIT>(a, lda, bp, kc, cin, ldi, cout, ldo, cols, add_out);
      return tile_rows<LDP, SPLIT, ROWS - 1>(rows, a, lda, bp, kc, cin, ldi, cout, ldo, cols, add_out);
    }
  }

  // Packs B per call into NR-wide panels, then runs the tiles over them.
  static void run_packed(const GemmParams& p, int threads) {
    const int64_t N = p.N, K = p.K;
    const int64_t npan = (N + NR - 1) / NR;
    const int64_t items = ((p.M + MC - 1) / MC) * npan;
    const int nthr = static_cast<int>(items < threads ? items : threads);

    AlignedBuffer packed(static_cast<size_t>(npan * K * NR));
    float* pk = packed.data();
    parallel_items(npan, nthr, [&](int, ItemCounter& it) {
      int64_t pn;
      while (it.next(pn)) {
        const int nj = static_cast<int>(min64(NR, N - pn * NR));
        pack_panel(p.b + pn * NR * p.ldb, p.ldb, nj, K, pk + pn * K * NR);
      }
    });
    run_panels<NR>(p, nthr, pk, N, N);
  }

  // C over packed panels of width PW (k stride PW): N / group_n groups of ceil(group_n / PW)
  // panels each, the columns of each group cut into register-tile slices of NR. Column j of group
  // g goes to c + g * cgs + j. PW == NR: per-call panels, one slice each. Otherwise (pre-packed)
  // a slice's vectors are found panel by panel; vectors wholly past the group's last panel (never
  // stored) reread the slice's first.
  template <int PW>
  static void run_panels(const GemmParams& p, int threads, const float* pk, int64_t group_n, int64_t cgs) {
    constexpr bool SPLIT = PW != NR;
    static_assert(PW % W == 0, "a vector must lie within one panel");
    const int64_t M = p.M, K = p.K;
    const int64_t ppg = (group_n + PW - 1) / PW;
    const int64_t spg = (group_n + NR - 1) / NR;  // slices per group
    const int64_t nsl = (p.N / group_n) * spg;
    const int64_t nrb = (M + MC - 1) / MC;
    const int64_t items = nrb * nsl;
    const int nthr = static_cast<int>(items < threads ? items : threads);

    // Per-thread partial sums of one MC x NR block of C between K blocks (only when K > KC), one
    // allocation, each thread's slice a whole number of cache lines.
    const int64_t cstride = (static_cast<int64_t>(MC) * NR + 15) / 16 * 16;
    AlignedBuffer cbuf(K > KC ? static_cast<size_t>(nthr * cstride) : 0);
    parallel_items(items, nthr, [&](int tid, ItemCounter& it) {
      float* cb = K > KC ? cbuf.data() + tid * cstride : nullptr;
      int64_t item;
      while (it.next(item)) {
        const int64_t rb = item / nsl, sl = item % nsl;
        const int64_t g = sl / spg, j0 = (sl % spg) * NR;  // j0: first column within the group
        const int cols = static_cast<int>(min64(NR, group_n - j0));
        const int64_t r0 = rb * MC, r1 = min64(M, r0 + MC);
        const float* gbase = pk + g * ppg * K * PW;
        Slice slice;
        for (int v = 0; v < NV; ++v) {
          int64_t col = j0 + v * W;
          if (col >= ppg * PW) col = j0;
          slice.p[v] = gbase + (col / PW) * K * PW + col % PW;
        }
        float* cpan = p.c + g * cgs + j0;
        for (int64_t k0 = 0; k0 < K; k0 += KC) {
          const int64_t kc = min64(KC, K - k0);
          const bool first = k0 == 0, last = k0 + kc >= K;
          Slice bk;
          for (int v = 0; v < NV; ++v) bk.p[v] = slice.p[v] + k0 * PW;
          for (int64_t i = r0; i < r1; i += MR) {
            const int rows = static_cast<int>(min64(MR, r1 - i));
            const float* a = p.a + i * p.lda + k0;
            float* cbt = cb ? cb + (i - r0) * NR : nullptr;
            if (last)
              tile_rows<PW, SPLIT>(rows, a, p.lda, bk, kc, first ? nullptr : cbt, NR, cpan + i * p.ldc, p.ldc, cols,
                                   p.accumulate);
            else tile_rows<PW, SPLIT>(rows, a, p.lda, bk, kc, first ? nullptr : cbt, NR, cbt, NR, NR, false);
          }
        }
      }
    });
  }

  // ---- packing once (gemm_pack_b) -----------------------------------------------------------
  // Returns the floats of the packed form (-1 for a bad shape); packs when p.dst is set.
  static int64_t pack_b(const GemmPackParams& p) {
    constexpr int PW = kGemmPackWidth;
    const int64_t gn = p.group_n > 0 ? p.group_n : p.N;
    if (p.N < 0 || p.K < 0) return -1;
    if (p.N == 0) return 0;
    if (gn <= 0 || p.N % gn != 0) return -1;
    const int64_t ppg = (gn + PW - 1) / PW, npan = (p.N / gn) * ppg;
    const int64_t size = npan * p.K * PW;
    if (!p.dst) return size;
    const int threads = p.threads < 1 ? 1 : p.threads;
    parallel_items(npan, static_cast<int>(npan < threads ? npan : threads), [&](int, ItemCounter& it) {
      int64_t pg;
      while (it.next(pg)) {
        const int64_t jl = (pg % ppg) * PW, j0 = (pg / ppg) * gn + jl;
        pack_panel<PW>(p.b + j0 * p.ldb, p.ldb, static_cast<int>(min64(PW, gn - jl)), p.K, p.dst + pg * p.K * PW);
      }
    });
    return size;
  }

  // ---- dot-product path (small M) -----------------------------------------------------------
  // C[i0..i0+nr) x [j0..j0+nc): DR x DN dot products along K, W lanes at a time, reduced at the
  // end. Rows/columns past nr/nc reuse the last real one and are not stored.
  static inline void dot_tile(const GemmParams& p, int64_t i0, int nr, int64_t j0, int nc) {
    const float* ar[DR];
    const float* br[DN];
    for (int i = 0; i < DR; ++i) ar[i] = p.a + (i0 + (i < nr ? i : nr - 1)) * p.lda;
    for (int j = 0; j < DN; ++j) br[j] = p.b + (j0 + (j < nc ? j : nc - 1)) * p.ldb;
    R acc[DR][DN];
    for (int i = 0; i < DR; ++i)
      for (int j = 0; j < DN; ++j) acc[i][j] = V::zero();
    const int64_t K = p.K;
    int64_t k = 0;
    for (; k + W <= K; k += W) {
      R av[DR];
      for (int i = 0; i < DR; ++i) av[i] = V::load(ar[i] + k);
      for (int j = 0; j < DN; ++j) {
        const R bv = V::load(br[j] + k);
        for (int i = 0; i < DR; ++i) acc[i][j] = V::fmadd(av[i], bv, acc[i][j]);
      }
    }
    if (k < K) {
      const int n = static_cast<int>(K - k);
      R av[DR];
      for (int i = 0; i < DR; ++i) av[i] = V::load_partial(ar[i] + k, n);
      for (int j = 0; j < DN; ++j) {
        const R bv = V::load_partial(br[j] + k, n);
        for (int i = 0; i < DR; ++i) acc[i][j] = V::fmadd(av[i], bv, acc[i][j]);
      }
    }
    for (int i = 0; i < DR; ++i) {
      if (i >= nr) break;
      float* ci = p.c + (i0 + i) * p.ldc + j0;
      for (int j = 0; j < DN; ++j) {
        if (j >= nc) break;
        const float s = V::hsum(acc[i][j]);
        ci[j] = p.accumulate ? ci[j] + s : s;
      }
    }
  }

  static void run_dot(const GemmParams& p, int threads) {
    // Items: 64 output columns (B rows) x all M rows, so each B row is read once.
    constexpr int64_t JB = 16 * DN;
    const int64_t nj = (p.N + JB - 1) / JB;
    parallel_items(nj, threads, [&](int, ItemCounter& it) {
      int64_t item;
      while (it.next(item)) {
        const int64_t j1 = min64(p.N, (item + 1) * JB);
        for (int64_t j0 = item * JB; j0 < j1; j0 += DN)
          for (int64_t i0 = 0; i0 < p.M; i0 += DR)
            dot_tile(p, i0, static_cast<int>(min64(DR, p.M - i0)), j0, static_cast<int>(min64(DN, j1 - j0)));
      }
    });
  }

  static void run(const GemmParams& p) {
    if (p.M <= 0 || p.N <= 0) return;
    const int64_t gn = p.b_packed && p.b_group_n > 0 ? p.b_group_n : p.N;
    const int64_t cgs = p.b_packed && p.c_group_stride > 0 ? p.c_group_stride : gn;
    if (p.K <= 0) {  // empty sum
      if (!p.accumulate)
        for (int64_t i = 0; i < p.M; ++i)
          for (int64_t j = 0; j < p.N; ++j) p.c[i * p.ldc + (j / gn) * cgs + j % gn] = 0.f;
      return;
    }
    const int threads = p.threads < 1 ? 1 : p.threads;
    if (p.b_packed) run_panels<kGemmPackWidth>(p, threads, p.b_packed, gn, cgs);
    else if (p.M < kDotRows) run_dot(p, threads);
    else run_packed(p, threads);
  }
};

}  // namespace ga

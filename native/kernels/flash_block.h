// The online-softmax machinery shared by every attention kernel, written once over a SIMD
// vector type V (compiled per ISA). Algorithm: Milakov & Gimelshein 2018 (online softmax),
// Dao et al. 2022 (FlashAttention): a block of BQ queries streams over tiles of <= BK keys and
// never holds more than one BK x BQ score tile.
//
// Why this layout is fast on a CPU: the block keeps Q transposed, QT[d][m], and scores are
// computed transposed, S[j][m] = sum_d K[j][d] * QT[d][m]. The micro-kernel broadcasts K[j][d]
// straight from the caller's K (no packing) and FMAs it into vectors of W queries; softmax
// statistics then run elementwise across queries, with no horizontal reductions; and
// O[m][:] += sum_j S[j][m] * V[j][:] broadcasts S and streams V rows. Softmax runs in base 2:
// scale * log2(e) is folded into QT.
//
// Use: begin() -> for each key tile { [set_band();] scores(); add biases; exclude keys; accumulate(); } -> finish().
// A caller that knows which rows it (or its next block) will read from memory queues them in
// `ahead` (kernels/prefetch.h): the score and P·V micro-kernels request them a line at a time.
//
// The bias protocol: callers add biases only through the add_bias*() methods (or tables built
// with bias_units()), never by writing S. The methods convert a bias to the block's base-2 units
// (x log2(e)) and, in safe mode, re-exclude every score whose bias is -inf (NaN + -inf is NaN, so
// the add alone would not exclude it). A caller excludes a key outright with exclude_key() or by
// setting its score to -inf.
//
// Non-finite inputs: an excluded key gets weight exactly 0, but 0 * NaN (or 0 * Inf) in P·V is
// NaN, and NaN + (-inf) bias is NaN: a NaN in an excluded key's k or v would leak into rows
// that never attend to it. Rather than pay a compare and a blend per FMA, the fast pass runs
// unguarded and finish() reports whether any kept row came out non-finite; only then does the
// caller recompute that block in safe mode (begin(..., safe = true)): P·V skips zero weights and
// callers re-exclude, after adding a bias, the scores whose bias is -inf. Safe mode does the same
// arithmetic in the same order otherwise, so rows without non-finite inputs come out bit-identical.
// Finite inputs never take the slow path.
//
// ODR note: compiled once per ISA with that ISA's flags. Everything here is a template over V
// (each ISA gets distinct symbols); it avoids out-of-line std:: algorithm templates (std::fill,
// std::copy), whose one shared copy the linker could take from an AVX translation unit and run
// on a CPU without AVX.
#pragma once
#include <cstdint>
#include <limits>
#include <vector>

#include "runtime/aligned_buffer.h"
#include "kernels/exp2.h"
#include "kernels/prefetch.h"
#include "runtime/parallel.h"

namespace ga {

template <class V, int BQ_, int BK_ = 128>
struct FlashBlock {
  using R = typename V::R;
  static constexpr int W = V::W;
  static constexpr int QV = V::kQkVecs;  // query vectors per QK micro-tile
  static constexpr int KR = V::kQkKeys;  // keys per QK micro-tile
  static constexpr int QCOL = QV * W;    // queries per QK micro-tile
  static constexpr int BQ = BQ_;         // queries per block
  static constexpr int BK = BK_;         // keys per tile
  static constexpr int MR = V::kPvRows;  // rows per PV micro-tile
  static constexpr int NV = V::kPvVecs;  // output vectors per PV micro-tile
  static_assert(BQ % QCOL == 0, "a block is whole QK micro-tiles");
  static_assert(QCOL % MR == 0, "PV rows must tile the QK micro-tile");
  static_assert(BK % KR == 0, "QK keys must tile the key tile");
  static constexpr float kLog2e = 1.4426950408889634f;
  static constexpr float kNegInf = -std::numeric_limits<float>::infinity();

  // Per-thread scratch, cache-line aligned (AlignedBuffer), allocated before any parallel region.
  struct Scratch {
    AlignedBuffer qt, s, o, stats, vpad;
    Scratch(int64_t D, int64_t Dv)
        : qt(static_cast<size_t>(D) * BQ), s(static_cast<size_t>(BK) * BQ), o(static_cast<size_t>(BQ) * padded(Dv)),
          stats(4 * BQ), vpad(padded(Dv) != Dv ? static_cast<size_t>(BK) * padded(Dv) : 0) {}
  };
  static int64_t padded(int64_t Dv) { return (Dv + W - 1) / W * W; }

  Scratch& sc;
  int64_t D, Dv, Dvp;
  int nq = 0;              // real queries in this block
  int rows = 0;            // queries computed: nq rounded up to whole QK micro-tiles
  bool safe = false;       // the non-finite-safe recomputation (see the header comment)
  bool fused_max = false;  // the last scores() also took the tile's maximum (tile_max())

  // Lines the caller wants in cache soon (kernels/prefetch.h), or none: the score and P·V
  // micro-kernels request one every kAheadEvery iterations while they compute.
  PrefetchQueue* ahead = nullptr;
  static constexpr int kAheadEvery = 4;
  // The queue while it has lines left; then none, so the micro-kernels run their loops without it.
  PrefetchQueue* pending() const { return ahead != nullptr && !ahead->empty() ? ahead : nullptr; }

  FlashBlock(Scratch& scratch, int64_t d, int64_t dv) : sc(scratch), D(d), Dv(dv), Dvp(padded(dv)) {}

  float* S() { return sc.s.data(); }  // S[j * BQ + m]
  // stats: running max [0, BQ), running sum [BQ, 2BQ), alpha [2BQ, 3BQ), this tile's max [3BQ, 4BQ).
  float* tile_max() { return sc.stats.data() + 3 * BQ; }

  // Packs nq <= BQ query rows (row stride q_stride) scaled by scale*log2(e); resets statistics.
  void begin(const float* q, int64_t q_stride, int n, float scale, bool safe_mode = false) {
    nq = n;
    safe = safe_mode;
    fused_max = false;
    banded = false;
    rows = (nq + QCOL - 1) / QCOL * QCOL;
    float* qt = sc.qt.data();
    const float qscale = scale * kLog2e;
    // W x W tiles: W contiguous row loads, scaled, transposed in registers (V::transpose), W
    // vector stores (a store per element measured ~6% of a windowed call, whose blocks visit
    // few keys). Rows >= nq are zeros; the last D % W columns go element by element.
    const R qs = V::set1(qscale);
    const int64_t Dw = D / W * W;
    // D == 0: nothing to pack, and q may be null (no pointer arithmetic on it).
    // Every row's lines are requested first: in the loop below the shuffles fill the out-of-order
    // window and few row loads are in flight at once (measured ~1% of a windowed call, whose
    // blocks visit few keys; the rows usually come from memory).
    if (D > 0)
      for (int m = 0; m < nq; ++m)
        for (int64_t d = 0; d < D; d += kCacheLineFloats) prefetch_line(q + m * q_stride + d);
    for (int m0 = 0; D > 0 && m0 < BQ; m0 += W) {
      const int n = nq - m0;  // real rows of this vector
      float* qt0 = qt + m0;
      if (n <= 0) {
        for (int64_t d = 0; d < D; ++d) V::store(qt0 + d * BQ, V::zero());
        continue;
      }
      const float* q0 = q + m0 * q_stride;
      for (int64_t d0 = 0; d0 < Dw; d0 += W) {
        R x[W];
        if (n >= W)
          for (int r = 0; r < W; ++r) x[r] = V::mul(V::load(q0 + r * q_stride + d0), qs);
        else
          for (int r = 0; r < W; ++r) x[r] = r < n ? V::mul(V::load(q0 + r * q_stride + d0), qs) : V::zero();
        V::transpose(x);
        for (int c = 0; c < W; ++c) V::store(qt0 + (d0 + c) * BQ, x[c]);
      }
      for (int64_t d = Dw; d < D; ++d)
        for (int r = 0; r < W; ++r) qt0[d * BQ + r] = r < n ? q0[r * q_stride + d] * qscale : 0.f;
    }
    float* o = sc.o.data();
    for (int64_t i = 0; i < BQ * Dvp; ++i) o[i] = 0.f;
    float* st = sc.stats.data();
    for (int m = 0; m < BQ; ++m) {
      st[m] = kNegInf;   // running max
      st[BQ + m] = 0.f;  // running sum
    }
  }

  // S[j][m0..m0+QCOL) for NK keys starting at kp (row stride ks); kMax also folds the NK scores
  // into the tile's running maximum tmax[m0..m0+QCOL) while they are still in registers.
  // NQ <= QV query vectors (a banded tile's edge needs fewer than the whole micro-tile).
  template <int NK, bool kMax, int NQ = QV>
  static inline void qk_tile(const float* kp, int64_t ks, int64_t D, const float* qt, float* s, float* tmax,
                             PrefetchQueue* ahead) {
    // Two loops, with and without the queue: a null check per iteration measured ~1-2% of a dense call.
    if (ahead != nullptr) qk_tile_loop<NK, kMax, NQ, true>(kp, ks, D, qt, s, tmax, ahead);
    else qk_tile_loop<NK, kMax, NQ, false>(kp, ks, D, qt, s, tmax, nullptr);
  }
  template <int NK, bool kMax, int NQ, bool kAhead>
  static inline void qk_tile_loop(const float* kp, int64_t ks, int64_t D, const float* qt, float* s, float* tmax,
                                  PrefetchQueue* ahead) {
    R acc[NK][NQ];
    for (int a = 0; a < NK; ++a)
      for (int v = 0; v < NQ; ++v) acc[a][v] = V::zero();
    // D >= 1 (scores() handles D == 0): a do-loop keeps acc in registers throughout; around a
    // possibly-empty loop GCC 12 kept it in stack slots (zeroed, spilled and reloaded per call).
    // (GCC ignores an unroll pragma on a do-loop; unrolled by 2 via for + an assumption, measured
    // no faster.)
    int64_t d = 0;
    do {
      if (kAhead && d % kAheadEvery == kAheadEvery - 1) ahead->issue_one();
      R qv[NQ];
      for (int v = 0; v < NQ; ++v) qv[v] = V::load(qt + d * BQ + v * W);
      for (int a = 0; a < NK; ++a) {
        const R kb = V::set1(kp[a * ks + d]);
        for (int v = 0; v < NQ; ++v) acc[a][v] = V::fmadd(kb, qv[v], acc[a][v]);
      }
    } while (++d < D);
    for (int a = 0; a < NK; ++a)
      for (int v = 0; v < NQ; ++v) V::store(s + a * BQ + v * W, acc[a][v]);
    if constexpr (kMax)
      for (int v = 0; v < NQ; ++v) {
        R m = V::load(tmax + v * W);
        for (int a = 0; a < NK; ++a) m = V::max(m, acc[a][v]);
        V::store(tmax + v * W, m);
      }
  }

  template <bool kMax, int N = KR - 1, int NQ = QV>
  static inline void qk_tail(int nk, const float* kp, int64_t ks, int64_t D, const float* qt, float* s, float* tmax,
                             PrefetchQueue* ahead) {
    if constexpr (N >= 1) {
      if (nk == N) return qk_tile<N, kMax, NQ>(kp, ks, D, qt, s, tmax, ahead);
      return qk_tail<kMax, N - 1, NQ>(nk, kp, ks, D, qt, s, tmax, ahead);
    }
  }

  // Scores of keys [0, nk) (row stride ks) for NQ query vectors (qt, s already offset to them).
  template <int NQ>
  static inline void qk_span(const float* k, int64_t ks, int nk, int64_t D, const float* qt, float* s,
                             PrefetchQueue* ahead) {
    int j = 0;
    for (; j + KR <= nk; j += KR) qk_tile<KR, false, NQ>(k + j * ks, ks, D, qt, s + j * BQ, nullptr, ahead);
    if (j < nk) qk_tail<false, KR - 1, NQ>(nk - j, k + j * ks, ks, D, qt, s + j * BQ, nullptr, ahead);
  }

  template <int N = QV>
  static inline void qk_span_n(int nq_vecs, const float* k, int64_t ks, int nk, int64_t D, const float* qt, float* s,
                               PrefetchQueue* ahead) {
    if constexpr (N >= 1) {
      if (nq_vecs == N) return qk_span<N>(k, ks, nk, D, qt, s, ahead);
      return qk_span_n<N - 1>(nq_vecs, k, ks, nk, D, qt, s, ahead);
    }
  }

  // Raw scores of nk <= BK keys (row stride ks) into S. with_max: the caller will not change
  // them (no mask, bias or causal cut in this tile), so their maximum is taken on the way
  // (tile_max()) and accumulate() skips its max pass. Not in safe mode (max's NaN handling is
  // order-dependent; safe mode keeps the plain pass).
  void scores(const float* k, int64_t ks, int nk, bool with_max = false) {
    // An aborted call stops within a tile, not a block (one block streams all its keys: with one
    // huge head and one thread, ~1.6 GFLOP at N = 65536). Cancelled unwinds to parallel_items,
    // which rethrows it after the region; the block's partial output is never read.
    throw_if_cancelled();
    float* s = sc.s.data();
    float* tmax = tile_max();
    fused_max = with_max && !safe && !banded;
    if (fused_max)
      for (int m = 0; m < BQ; ++m) tmax[m] = kNegInf;
    if (D == 0) {  // empty dot products (qt and k may be empty buffers)
      for (int64_t i = 0; i < static_cast<int64_t>(nk) * BQ; ++i) s[i] = 0.f;
      if (fused_max)
        for (int m = 0; m < BQ; ++m) tmax[m] = nk > 0 ? 0.f : kNegInf;
      return;
    }
    if (banded) scores_band(k, ks);
    else if (fused_max) scores_impl<true>(k, ks, nk, s, tmax);
    else scores_impl<false>(k, ks, nk, s, tmax);
  }

  template <bool kMax>
  void scores_impl(const float* k, int64_t ks, int nk, float* s, float* tmax) {
    const float* qt = sc.qt.data();
    for (int c = 0; c < rows; c += QCOL) {
      // A block's last micro-tile may hold fewer real query vectors (e.g. 64 = 1024 - 10 * 96
      // rows in a block of 96): only those are computed; the others' scores are 0 (what their
      // zero query rows would give), so the softmax that follows reads finite values.
      const int nvec = (nq - c + W - 1) / W;
      if (nvec >= QV) {
        int j = 0;
        for (; j + KR <= nk; j += KR) qk_tile<KR, kMax>(k + j * ks, ks, D, qt + c, s + j * BQ + c, tmax + c, pending());
        if (j < nk) qk_tail<kMax>(nk - j, k + j * ks, ks, D, qt + c, s + j * BQ + c, tmax + c, pending());
        continue;
      }
      scores_part<kMax>(nvec, k, ks, nk, D, qt + c, s + c, tmax + c, pending());
      for (int j = 0; j < nk; ++j)
        for (int v = nvec; v < QV; ++v) V::store(s + j * BQ + c + v * W, V::zero());
      if (kMax)
        for (int v = nvec; v < QV; ++v) V::store(tmax + c + v * W, nk > 0 ? V::zero() : V::set1(kNegInf));
    }
  }

  // scores_impl's micro-tile of nvec < QV query vectors (qt, s, tmax already offset to it).
  template <bool kMax, int N = QV - 1>
  static inline void scores_part(int nvec, const float* k, int64_t ks, int nk, int64_t D, const float* qt, float* s,
                                 float* tmax, PrefetchQueue* ahead) {
    if constexpr (N >= 1) {
      if (nvec != N) return scores_part<kMax, N - 1>(nvec, k, ks, nk, D, qt, s, tmax, ahead);
      int j = 0;
      for (; j + KR <= nk; j += KR) qk_tile<KR, kMax, N>(k + j * ks, ks, D, qt, s + j * BQ, tmax, ahead);
      if (j < nk) qk_tail<kMax, KR - 1, N>(nk - j, k + j * ks, ks, D, qt, s + j * BQ, tmax, ahead);
    }
  }

  // ---- Banded tiles: a sliding window's or a causal diagonal's edge runs through the tile ----
  //
  // The caller sets row m's admissible keys of the next tile, [band_lo[m], band_hi[m]) (empty when
  // lo >= hi; rows >= nq are set empty here), then calls set_band(nk) before scores(). Per vector
  // of W queries, scores() then computes only the keys some row of that vector attends; accumulate()
  // first excludes (-inf) every score of a vector's key span that its row may not attend (after the
  // caller's biases and masks), runs the softmax over that span only (weight 0 for the rest of the
  // QK micro-tile's span) and P·V over each PV row group's span only. Scores outside a micro-tile's
  // span are never read. A windowed call thus costs its admissible (i, j) pairs plus the edges of
  // W-query vectors, not whole tiles.
  // clear_band() (or begin()) returns to whole tiles.
  static constexpr int kVecs = BQ / W, kGroups = BQ / QCOL, kPvGroups = BQ / MR;
  bool banded = false;
  int band_lo[BQ], band_hi[BQ];
  int vec_lo[kVecs], vec_hi[kVecs];        // per query vector: the union of its rows' spans
  int grp_lo[kGroups], grp_hi[kGroups];    // per QK micro-tile (QCOL queries)
  int pv_lo[kPvGroups], pv_hi[kPvGroups];  // per PV row group (MR queries)

  void set_band(int nk) {
    banded = true;
    for (int m = nq; m < BQ; ++m) {
      band_lo[m] = nk;
      band_hi[m] = 0;
    }
    // The union of rows [m0, m0 + n): min lo, max hi over its non-empty rows (empty rows are
    // (nk, 0) or otherwise lo >= hi, and do not widen it).
    auto span = [&](int m0, int n, int& lo, int& hi) {
      lo = nk;
      hi = 0;
      for (int m = m0; m < m0 + n; ++m)
        if (band_lo[m] < band_hi[m]) {
          lo = band_lo[m] < lo ? band_lo[m] : lo;
          hi = band_hi[m] > hi ? band_hi[m] : hi;
        }
    };
    for (int v = 0; v < kVecs; ++v) span(v * W, W, vec_lo[v], vec_hi[v]);
    for (int g = 0; g < kGroups; ++g) span(g * QCOL, QCOL, grp_lo[g], grp_hi[g]);
    for (int r = 0; r < kPvGroups; ++r) span(r * MR, MR, pv_lo[r], pv_hi[r]);
  }
  void clear_band() { banded = false; }

  // scores() of a banded tile: per QK micro-tile, its key span is cut where a vector's span
  // starts or ends; each piece runs the micro-kernel over the contiguous vectors that need it.
  void scores_band(const float* k, int64_t ks) {
    const float* qt = sc.qt.data();
    float* s = sc.s.data();
    for (int c = 0; c < rows; c += QCOL) {
      const int v0 = c / W;
      int cuts[2 * QV], ncut = 0;
      for (int v = 0; v < QV; ++v)
        if (vec_lo[v0 + v] < vec_hi[v0 + v]) {
          cuts[ncut++] = vec_lo[v0 + v];
          cuts[ncut++] = vec_hi[v0 + v];
        }
      for (int a = 1; a < ncut; ++a)  // insertion sort (at most 2 * QV cuts)
        for (int b = a; b > 0 && cuts[b - 1] > cuts[b]; --b) {
          const int t = cuts[b];
          cuts[b] = cuts[b - 1];
          cuts[b - 1] = t;
        }
      for (int a = 0; a + 1 < ncut; ++a) {
        const int j0 = cuts[a], j1 = cuts[a + 1];
        if (j0 == j1) continue;
        int va = QV, vb = 0;  // the vectors whose span holds [j0, j1)
        for (int v = 0; v < QV; ++v)
          if (vec_lo[v0 + v] <= j0 && j1 <= vec_hi[v0 + v]) {
            va = v < va ? v : va;
            vb = v + 1;
          }
        if (va >= vb) continue;
        qk_span_n(vb - va, k + j0 * ks, ks, j1 - j0, D, qt + c + va * W, s + j0 * BQ + c + va * W, pending());
      }
    }
  }

  // Excludes, in every query vector's key span, the scores its rows may not attend (rows >= nq
  // included: their vector's scores may not have been computed). A vector of W rows at a time,
  // over the keys where some lane is excluded: [glo, max lo) and [min hi, ghi) (a row with
  // lo >= hi widens both to the whole span); V::fill_outside keeps the admissible lanes' scores.
  // Keys of the micro-tile's span outside the vector's span are left to accumulate(), which
  // gives them weight 0 without an exp2 (softmax_band).
  void mask_band() {
    float* s = sc.s.data();
    for (int m0 = 0; m0 < rows; m0 += W) {
      const int glo = vec_lo[m0 / W], ghi = vec_hi[m0 / W];
      if (glo >= ghi) continue;  // no row of the vector attends a key of the tile
      float lof[W], hif[W];
      int lo_max = glo, hi_min = ghi;
      for (int l = 0; l < W; ++l) {
        const int lo = band_lo[m0 + l], hi = band_hi[m0 + l];
        lof[l] = static_cast<float>(lo);  // tile-local key indices: exact in float
        hif[l] = static_cast<float>(hi);
        lo_max = lo > lo_max ? lo : lo_max;
        hi_min = hi < hi_min ? hi : hi_min;
      }
      const R lo = V::load(lof), hi = V::load(hif);
      const auto exclude = [&](int j) {
        float* p = s + j * BQ + m0;
        V::store(p, V::fill_outside(V::load(p), V::set1(static_cast<float>(j)), lo, hi, kNegInf));
      };
      const int head_end = lo_max < ghi ? lo_max : ghi;
      for (int j = glo; j < head_end; ++j) exclude(j);
      for (int j = hi_min > head_end ? hi_min : head_end; j < ghi; ++j) exclude(j);
    }
  }

  // Excludes key j of the tile for every query.
  void exclude_key(int j) {
    float* s = sc.s.data() + j * BQ;
    for (int m = 0; m < BQ; ++m) s[m] = kNegInf;
  }

  // ---- The bias protocol (see the header comment) ----

  // A bias in the block's units, for tables a kernel builds once and adds with add_bias_units().
  static float bias_units(float bias) { return kLog2e * bias; }

  // Key j of the tile: query m (< nq) gets bias[m * stride] (natural-log units).
  void add_bias(int j, const float* bias, int64_t stride) {
    float* sj = sc.s.data() + j * BQ;
    int m = 0;
    if (stride == 1) {  // contiguous along queries (e.g. a relative-position table)
      const R l2e = V::set1(kLog2e);
      for (; m + W <= nq; m += W) V::store(sj + m, V::fmadd(l2e, V::load(bias + m), V::load(sj + m)));
    }
    for (; m < nq; ++m) sj[m] += kLog2e * bias[m * stride];
    if (safe) reexclude(j, bias, stride);
  }

  // Key j of the tile: query m (< rows) gets units[m], already in block units (bias_units()),
  // contiguous and readable for all `rows` queries.
  void add_bias_units(int j, const float* units) {
    float* sj = sc.s.data() + j * BQ;
    for (int m = 0; m < rows; m += W) V::store(sj + m, V::add(V::load(sj + m), V::load(units + m)));
    if (safe) reexclude(j, units, 1);
  }

  // Keys [0, nk) of the tile for the W queries [c, c + W), which share one bias row: query
  // c + i gets bias[j] for key j (natural-log units).
  void add_bias_shared(int c, int nk, const float* bias) {
    float* s = sc.s.data();
    for (int j = 0; j < nk; ++j)
      V::store(s + j * BQ + c, V::fmadd(V::set1(kLog2e), V::set1(bias[j]), V::load(s + j * BQ + c)));
    if (safe)
      for (int j = 0; j < nk; ++j)
        if (bias[j] == kNegInf)
          for (int m = c; m < c + W && m < nq; ++m) s[j * BQ + m] = kNegInf;
  }

  // One score: key j, query m gets bias (natural-log units).
  void add_bias_one(int j, int m, float bias) {
    float& s = sc.s.data()[j * BQ + m];
    s += kLog2e * bias;
    if (safe && m < nq && bias == kNegInf) s = kNegInf;
  }

  // Safe mode, after a bias was added to score row j: scores whose bias is -inf are excluded
  // again. bias[m * stride] is query m's bias (any positive scale; -inf stays -inf).
  void reexclude(int j, const float* bias, int64_t stride) {
    float* s = sc.s.data() + j * BQ;
    for (int m = 0; m < nq; ++m)
      if (bias[m * stride] == kNegInf) s[m] = kNegInf;
  }

  // O[r0..r0+MR)[c0..c0+NVV*W) = alpha * O + sum_j S[j][r] * V[j][c]; kSafe skips zero weights.
  template <int NVV, bool kSafe>
  static inline void pv_tile(const float* s, int nk, const float* vt, int64_t vstride, float* o, int64_t Dvp,
                             const float* alpha, PrefetchQueue* ahead) {
    if (ahead != nullptr) pv_tile_loop<NVV, kSafe, true>(s, nk, vt, vstride, o, Dvp, alpha, ahead);
    else pv_tile_loop<NVV, kSafe, false>(s, nk, vt, vstride, o, Dvp, alpha, nullptr);
  }
  template <int NVV, bool kSafe, bool kAhead>
  static inline void pv_tile_loop(const float* s, int nk, const float* vt, int64_t vstride, float* o, int64_t Dvp,
                                  const float* alpha, PrefetchQueue* ahead) {
    R acc[MR][NVV];
    for (int r = 0; r < MR; ++r) {
      const R a = V::set1(alpha[r]);
      for (int v = 0; v < NVV; ++v) acc[r][v] = V::mul(a, V::load(o + r * Dvp + v * W));
    }
    for (int j = 0; j < nk; ++j) {
      if (kAhead && j % kAheadEvery == kAheadEvery - 1) ahead->issue_one();
      R vv[NVV];
      for (int v = 0; v < NVV; ++v) vv[v] = V::load(vt + j * vstride + v * W);
      for (int r = 0; r < MR; ++r) {
        if (kSafe && s[j * BQ + r] == 0.f) continue;
        const R pb = V::set1(s[j * BQ + r]);
        for (int v = 0; v < NVV; ++v) acc[r][v] = V::fmadd(pb, vv[v], acc[r][v]);
      }
    }
    for (int r = 0; r < MR; ++r)
      for (int v = 0; v < NVV; ++v) V::store(o + r * Dvp + v * W, acc[r][v]);
  }

  template <bool kSafe, int N = NV>
  static inline void pv_chunk(int nvec, const float* s, int nk, const float* vt, int64_t vstride, float* o, int64_t Dvp,
                              const float* alpha, PrefetchQueue* ahead) {
    if constexpr (N >= 1) {
      if (nvec == N) return pv_tile<N, kSafe>(s, nk, vt, vstride, o, Dvp, alpha, ahead);
      return pv_chunk<kSafe, N - 1>(nvec, s, nk, vt, vstride, o, Dvp, alpha, ahead);
    }
  }

  // The online softmax's rescale for the QK micro-tile at rows [c, c + QCOL), given the tile's
  // maxima mt: the running max becomes max(old, mt), alpha = 2^(old - new) is stored for P·V and
  // the sums, ms is what the tile's exp2s subtract, and the tile's sums ls start at 0.
  void rescale_rows(int c, const R* mt, R* ms, R* ls) {
    float* mrow = sc.stats.data();
    float* alpha = mrow + 2 * BQ;
    for (int v = 0; v < QV; ++v) {
      const R mo = V::load(mrow + c + v * W);
      const R mn = V::max(mo, mt[v]);
      // A query that has seen no admissible key keeps max -inf; subtracting -FLT_MAX instead
      // keeps every exp2 argument -inf (-> exactly 0) rather than NaN.
      ms[v] = V::max(mn, V::set1(-std::numeric_limits<float>::max()));
      V::store(alpha + c + v * W, exp2_vec<V>(V::sub(mo, ms[v])));
      V::store(mrow + c + v * W, mn);
      ls[v] = V::zero();
    }
  }

  // The running sums of those rows: l = l * alpha + the tile's sums ls.
  void add_sums(int c, const R* ls) {
    float* lrow = sc.stats.data() + BQ;
    const float* alpha = lrow + BQ;
    for (int v = 0; v < QV; ++v)
      V::store(lrow + c + v * W, V::fmadd(V::load(lrow + c + v * W), V::load(alpha + c + v * W), ls[v]));
  }

  // accumulate()'s online softmax update for the banded QK micro-tile at rows [c, c + QCOL): each
  // query vector runs exp2 over its own key span only ([vec_lo, vec_hi)); the rest of the
  // micro-tile's span, which P·V may read, gets weight 0 directly. Bit-identical to running the
  // update over the whole micro-tile span: there every such score is -inf (mask_band), which adds
  // nothing to a lane's max (but see the trailing max below) and exp2s to 0, which adds nothing to
  // its sum. The keys common to all QV vectors run them interleaved (the max and sum chains'
  // latency); per lane, keys are visited in the same ascending order.
  void softmax_band(int c) {
    float* s = sc.s.data();
    const int g = c / QCOL, glo = grp_lo[g], ghi = grp_hi[g];
    int lo[QV], hi[QV];
    int a = glo, b = ghi;  // keys every vector attends: [a, b), when b > a
    for (int v = 0; v < QV; ++v) {
      lo[v] = vec_lo[c / W + v];
      hi[v] = vec_hi[c / W + v];
      if (lo[v] >= hi[v]) lo[v] = hi[v] = glo;  // no key: its lanes' weights are all 0
      a = lo[v] > a ? lo[v] : a;
      b = hi[v] < b ? hi[v] : b;
    }
    if (b <= a) a = b = ghi;  // no common keys: each vector's span is its head
    // The vector's own keys before a ("head") and after b ("tail"); [a, b) interleaved.
    const auto head_end = [&](int v) { return a < hi[v] ? a : hi[v]; };
    const auto tail_begin = [&](int v) { return b > lo[v] ? b : lo[v]; };
    R mt[QV], ms[QV], ls[QV];
    for (int v = 0; v < QV; ++v) {
      mt[v] = V::set1(kNegInf);
      for (int j = lo[v]; j < head_end(v); ++j) mt[v] = V::max(mt[v], V::load(s + j * BQ + c + v * W));
    }
    for (int j = a; j < b; ++j)
      for (int v = 0; v < QV; ++v) mt[v] = V::max(mt[v], V::load(s + j * BQ + c + v * W));
    for (int v = 0; v < QV; ++v) {
      for (int j = tail_begin(v); j < hi[v]; ++j) mt[v] = V::max(mt[v], V::load(s + j * BQ + c + v * W));
      // The whole-span pass ended on a -inf score here: V::max returns its second operand when
      // one is NaN, so that -inf replaced a NaN maximum; do the same.
      if (hi[v] < ghi) mt[v] = V::max(mt[v], V::set1(kNegInf));
    }
    rescale_rows(c, mt, ms, ls);
    const auto weigh = [&](int j, int v) {
      const R pj = exp2_vec<V>(V::sub(V::load(s + j * BQ + c + v * W), ms[v]));
      V::store(s + j * BQ + c + v * W, pj);
      ls[v] = V::add(ls[v], pj);
    };
    for (int v = 0; v < QV; ++v)
      for (int j = lo[v]; j < head_end(v); ++j) weigh(j, v);
    for (int j = a; j < b; ++j)
      for (int v = 0; v < QV; ++v) weigh(j, v);
    for (int v = 0; v < QV; ++v) {
      for (int j = tail_begin(v); j < hi[v]; ++j) weigh(j, v);
      for (int j = glo; j < lo[v]; ++j) V::store(s + j * BQ + c + v * W, V::zero());
      for (int j = hi[v]; j < ghi; ++j) V::store(s + j * BQ + c + v * W, V::zero());
    }
    add_sums(c, ls);
  }

  // Online softmax update over the tile's nk (masked, biased) scores, then O += P·V.
  void accumulate(const float* v, int64_t vs, int nk) {
    float* s = sc.s.data();
    const float* alpha = sc.stats.data() + 2 * BQ;  // rescale_rows' factors, for P·V
    // QV column vectors at a time: the running max and sum are loop-carried chains (4-cycle
    // latency each), so one vector at a time would be latency-bound; QV independent chains are
    // not. rows is a whole number of QK micro-tiles, i.e. of QV vectors. Per lane, the order of
    // operations is unchanged.
    if (banded) mask_band();
    for (int c = 0; c < rows; c += QCOL) {
      if (banded) {
        softmax_band(c);
        continue;
      }
      R mt[QV], ms[QV], ls[QV];
      if (fused_max) {
        for (int v = 0; v < QV; ++v) mt[v] = V::load(tile_max() + c + v * W);
      } else {
        for (int v = 0; v < QV; ++v) mt[v] = V::set1(kNegInf);
        for (int j = 0; j < nk; ++j)
          for (int v = 0; v < QV; ++v) mt[v] = V::max(mt[v], V::load(s + j * BQ + c + v * W));
      }
      rescale_rows(c, mt, ms, ls);
      for (int j = 0; j < nk; ++j)
        for (int v = 0; v < QV; ++v) {
          const R pj = exp2_vec<V>(V::sub(V::load(s + j * BQ + c + v * W), ms[v]));
          V::store(s + j * BQ + c + v * W, pj);
          ls[v] = V::add(ls[v], pj);
        }
      add_sums(c, ls);
    }
    // Values: a zero-padded copy only when Dv is not a multiple of the vector width.
    const float* vt = v;
    int64_t vstride = vs;
    if (Dvp != Dv) {
      float* vp = sc.vpad.data();
      for (int j = 0; j < nk; ++j)
        for (int64_t c = 0; c < Dvp; ++c) vp[j * Dvp + c] = c < Dv ? v[j * vs + c] : 0.f;
      vt = vp;
      vstride = Dvp;
    }
    float* o = sc.o.data();
    // Row groups with a real query only (rows >= nq are never read; see scores_impl).
    for (int r0 = 0; r0 < nq; r0 += MR) {
      // Banded: only the keys some row of the group attends (the others' weights are 0).
      int ja = 0, jn = nk;
      if (banded) {
        ja = pv_lo[r0 / MR];
        jn = pv_hi[r0 / MR] > ja ? pv_hi[r0 / MR] - ja : 0;
        if (jn == 0) ja = 0;  // O *= alpha only
      }
      const float* sr = s + ja * BQ + r0;
      const float* vr = vt + ja * vstride;
      for (int64_t c0 = 0; c0 < Dvp; c0 += NV * W) {
        const int nvec = static_cast<int>((Dvp - c0) / W < NV ? (Dvp - c0) / W : NV);
        if (safe) pv_chunk<true>(nvec, sr, jn, vr + c0, vstride, o + r0 * Dvp + c0, Dvp, alpha + r0, pending());
        else pv_chunk<false>(nvec, sr, jn, vr + c0, vstride, o + r0 * Dvp + c0, Dvp, alpha + r0, pending());
      }
    }
  }

  // out[m] = O[m] / l[m] for the nq real queries (row stride out_stride); a query with no
  // admissible key, or with keep[m] == 0, gets exactly 0. Returns whether a row it wrote is not
  // finite in a fast pass: the caller then recomputes the block in safe mode.
  bool finish(float* out, int64_t out_stride, const uint8_t* keep = nullptr) {
    const float* o = sc.o.data();
    const float* lrow = sc.stats.data() + BQ;
    // Lanes stay 0 unless some written value is NaN or +-Inf (x * 0 is then NaN). Vectors, not a
    // scalar sum: that serial add chain measured ~5% of a windowed call; and kChecks independent
    // chains, since a single vector chain still costs one add latency per stored vector.
    constexpr int kChecks = 4;
    const R zero = V::zero();
    R check[kChecks];
    for (int i = 0; i < kChecks; ++i) check[i] = zero;
    for (int m = 0; m < nq; ++m) {
      const float l = lrow[m];
      const bool drop = l == 0.f || (keep && !keep[m]);  // NaN inputs stay NaN
      const R inv = V::set1(drop ? 0.f : 1.f / l);
      float* orow = out + m * out_stride;
      const float* om = o + m * Dvp;
      int64_t c = 0;
      for (; c + kChecks * W <= Dv; c += kChecks * W)
        for (int i = 0; i < kChecks; ++i) {
          const R x = drop ? zero : V::mul(V::load(om + c + i * W), inv);
          V::store(orow + c + i * W, x);
          check[i] = V::add(check[i], V::mul(x, zero));
        }
      for (; c + W <= Dv; c += W) {
        const R x = drop ? zero : V::mul(V::load(om + c), inv);
        V::store(orow + c, x);
        check[0] = V::add(check[0], V::mul(x, zero));
      }
      if (c < Dv) {
        const int n = static_cast<int>(Dv - c);
        const R x = drop ? zero : V::mul(V::load_partial(om + c, n), inv);
        V::store_partial(orow + c, x, n);
        check[1] = V::add(check[1], V::mul(x, zero));
      }
    }
    float lanes[W];
    V::store(lanes, V::add(V::add(check[0], check[1]), V::add(check[2], check[3])));
    bool bad = false;
    for (int i = 0; i < W; ++i) bad |= lanes[i] != 0.f;
    return !safe && bad;
  }
};

// The threads a query-block region over `items` items uses: threads_wanted, at least 1, at most items.
inline int query_block_threads(int64_t items, int64_t threads_wanted) {
  return static_cast<int>(threads_wanted < 1 ? 1 : threads_wanted < items ? threads_wanted : items);
}

// Runs fn(tid, first, count, scratch) for runs of consecutive items [first, first + count)
// covering [0, items), on query_block_threads(items, threads_wanted) threads (tid: the thread's
// index), one FlashBlock scratch per thread, allocated before the parallel region. The thread
// contract every attention kernel shares: an item is (batch, head, query block); dynamic schedule
// (runtime/parallel.h), runs of up to max_run items (ItemCounter::next_run) for kernels whose
// consecutive blocks share their reads.
template <class Block, class Fn>
void for_each_query_block_run(int64_t items, int64_t threads_wanted, int64_t max_run, int64_t D, int64_t Dv, Fn&& fn) {
  if (items <= 0) return;
  const int threads = query_block_threads(items, threads_wanted);
  std::vector<typename Block::Scratch> scratch;
  scratch.reserve(threads);
  for (int t = 0; t < threads; ++t) scratch.emplace_back(D, Dv);
  parallel_items(items, threads, [&](int tid, ItemCounter& items_left) {
    int64_t first, count;
    while (items_left.next_run(max_run, first, count, threads)) fn(tid, first, count, scratch[tid]);
  });
}

// One item at a time: fn(item, scratch).
template <class Block, class Fn>
void for_each_query_block(int64_t items, int64_t threads_wanted, int64_t D, int64_t Dv, Fn&& fn) {
  for_each_query_block_run<Block>(items, threads_wanted, 1, D, Dv,
                                  [&](int, int64_t item, int64_t, typename Block::Scratch& sc) { fn(item, sc); });
}

}  // namespace ga

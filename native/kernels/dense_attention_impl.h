// Dense attention over FlashBlock (kernels/flash_block.h), compiled per ISA.
// Thread contract: one work item = (batch b, head h, block of BQ queries), for_each_query_block.
// Causal, windowed and length-limited blocks visit only the key tiles some row may attend;
// key tiles with no admissible key are skipped.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/decode_attention_impl.h"
#include "kernels/dense_attention.h"
#include "kernels/flash_block.h"
#include "kernels/half_convert_impl.h"
#include "kernels/tanh.h"
#include "kernels/prefetch.h"
#include "runtime/aligned_buffer.h"
#include "runtime/parallel.h"

namespace ga {

template <class V>
struct DenseAttentionKernel {
  // Two QK micro-columns per block: K and V tiles are reused by 2x more queries. (4 or 8
  // columns with 64-key tiles measured the same here, within noise.)
  using Block = FlashBlock<V, 2 * V::kQkVecs * V::W>;
  using R = typename V::R;
  static constexpr int W = V::W;
  static constexpr int BQ = Block::BQ;
  static constexpr int BK = Block::BK;

  // The bias of the tile's nk keys for the block's queries (the block's bias protocol).
  static void add_bias(const float* bias, const int64_t* stride, Block& blk, int64_t b, int64_t h, int64_t q0,
                       int64_t j0, int nk) {
    const int64_t s2 = stride[2], s3 = stride[3];
    const float* bb = bias + b * stride[0] + h * stride[1] + q0 * s2;
    for (int j = 0; j < nk; ++j) blk.add_bias(j, bb + (j0 + j) * s3, s2);
  }

  // softcap (p.softcap > 0) on the tile's scores, in the block's units: S holds
  // x = s * log2(e), so c * tanh(s / c) is C * tanh(x / C) with C = c * log2(e). Whole vectors of
  // the block's computed rows (padding rows hold finite zeros).
  static void apply_softcap(Block& blk, int nk, float cap_units) {
    float* s = blk.S();
    const R c = V::set1(cap_units), inv = V::set1(1.f / cap_units);
    for (int j = 0; j < nk; ++j)
      for (int m = 0; m < blk.rows; m += W) {
        float* sj = s + j * BQ + m;
        V::store(sj, V::mul(c, tanh_vec<V>(V::mul(V::load(sj), inv))));
      }
  }

  // Each row's natural-log log-sum-exp from the block's final statistics (base 2: max + log2(sum)).
  static void write_lse(const DenseAttentionParams& p, Block& blk, int64_t b, int64_t h, int64_t q0) {
    const float* st = blk.sc.stats.data();
    float* lse = p.lse + (b * p.H + h) * p.Nq + q0;
    for (int m = 0; m < blk.nq; ++m) {
      const float l = st[BQ + m];
      lse[m] = l == 0.f ? Block::kNegInf : (st[m] + std::log2(l)) * 0.6931471805599453f;
    }
  }

  // One block's float32 rows: q and out at the block's first query, k and v at the head's first
  // key; *n = row strides in elements.
  struct Rows {
    const float* q;
    int64_t qn;
    const float* k;
    int64_t kn;
    const float* v;
    int64_t vn;
    float* out;
    int64_t on;
  };
  static Rows float_rows(const DenseAttentionParams& p, int64_t b, int64_t h, int64_t q0) {
    const int64_t hk = h / (p.H / p.Hk);
    return {p.q + b * p.qs.b + h * p.qs.h + q0 * p.qs.n,
            p.qs.n,
            p.k + b * p.ks.b + hk * p.ks.h,
            p.ks.n,
            p.v + b * p.vs.b + hk * p.vs.h,
            p.vs.n,
            p.out + b * p.os.b + h * p.os.h + q0 * p.os.n,
            p.os.n};
  }

  // The block over the float32 tensors of p (the packed kernel calls this form too).
  static bool run_block(const DenseAttentionParams& p, int64_t b, int64_t h, int64_t q0,
                        typename Block::Scratch& scratch, bool safe) {
    return run_block(p, b, h, q0, float_rows(p, b, h, q0), scratch, safe);
  }

  // One block of queries; returns whether a fast pass wrote a non-finite row (flash_block.h).
  // Rows attend keys [lo, hi] (DenseAttentionParams::key_range), which only move right with the
  // row: tiles before the first row's lo or after the last row's hi are never visited (the
  // window's O(N * window) cost); tiles that straddle a row's bound are banded (FlashBlock::set_band):
  // only the scores near the rows' ranges are computed, so the cost follows the admissible pairs.
  static bool run_block(const DenseAttentionParams& p, int64_t b, int64_t h, int64_t q0, const Rows& r,
                        typename Block::Scratch& scratch, bool safe) {
    const int64_t Nk = p.Nk;
    const int nq = static_cast<int>(std::min<int64_t>(BQ, p.Nq - q0));
    const float* k = r.k;
    const float* v = r.v;
    const uint8_t* mask = p.key_mask ? p.key_mask + b * Nk : nullptr;
    const bool ranged = p.causal || p.has_window() || p.key_lengths;
    // Each row's key range (both bounds only move right with the row). And its output row,
    // requested for writing now: the lines arrive while the tiles compute, and finish()'s stores do
    // not each wait for one from memory (measured ~0.5-1% of a windowed call).
    int64_t row_lo[BQ], row_hi[BQ];
    for (int m = 0; m < nq; ++m) {
      p.key_range(b, q0 + m, row_lo[m], row_hi[m]);
      for (int64_t d = 0; d < p.Dv; d += kCacheLineFloats) prefetch_line<true>(r.out + m * r.on + d);
    }
    const int64_t lo_first = row_lo[0], hi_first = row_hi[0], lo_last = row_lo[nq - 1];
    const int64_t hi_last = row_hi[nq - 1];
    const float cap_units = p.softcap > 0.f ? Block::kLog2e * p.softcap : 0.f;

    Block blk(scratch, p.D, p.Dv);
    blk.begin(r.q, r.qn, nq, p.scale, safe);
    const int64_t kbegin = lo_first;
    const int64_t kend = std::min<int64_t>(Nk, hi_last + 1);
    for (int64_t j0 = kbegin; j0 < kend; j0 += BK) {
      const int nk = static_cast<int>(std::min<int64_t>(BK, kend - j0));
      if (mask) {
        int any = 0;
        for (int j = 0; j < nk; ++j) any |= mask[j0 + j];
        if (!any) continue;
      }
      // Some key of the tile is outside some row's range: a banded tile (FlashBlock::set_band),
      // which computes only the scores near each row's range and excludes the rest.
      const bool cut = ranged && (j0 + nk - 1 > hi_first || j0 < lo_last);
      if (cut) {
        for (int m = 0; m < nq; ++m) {
          blk.band_lo[m] = static_cast<int>(std::min<int64_t>(nk, std::max<int64_t>(0, row_lo[m] - j0)));
          blk.band_hi[m] = static_cast<int>(std::min<int64_t>(nk, std::max<int64_t>(0, row_hi[m] + 1 - j0)));
        }
        blk.set_band(nk);
      } else {
        blk.clear_band();
      }
      // Unchanged scores: fuse the max.
      blk.scores(k + j0 * r.kn, r.kn, nk, !p.bias && !p.position_bias && !mask && !cut && cap_units == 0.f);
      if (cap_units != 0.f) apply_softcap(blk, nk, cap_units);
      if (p.bias) add_bias(p.bias, p.bias_stride, blk, b, h, q0, j0, nk);
      if (p.position_bias) add_bias(p.position_bias, p.position_bias_stride, blk, b, h, q0, j0, nk);
      if (mask)
        for (int j = 0; j < nk; ++j)
          if (!mask[j0 + j]) blk.exclude_key(j);
      blk.accumulate(v + j0 * r.vn, r.vn, nk);
    }
    const bool redo = blk.finish(r.out, r.on);
    if (p.lse) write_lse(p, blk, b, h, q0);
    return redo;
  }

  static void run(const DenseAttentionParams& params) {
    if (params.B == 0 || params.H == 0 || params.Nq == 0 || (params.Dv == 0 && !params.lse)) return;
    if (decode_path_applies(params) || params.kv_format != 0) return DecodeAttentionKernel<V>::run(params);
    DenseAttentionParams p = params;
    // No keys: k and v may be empty buffers with null data, and a [B, N, H, D] stride along
    // heads is not 0; point them at a zero with zero strides (every row is then 0).
    static const float kNothing[1] = {0.f};
    if (p.Nk == 0) {
      p.k = p.v = kNothing;
      p.ks = p.vs = Strides{};
    }
    if (p.half_io != 0) return run_half(p);
    const int64_t nqb = (p.Nq + BQ - 1) / BQ;
    for_each_query_block<Block>(p.B * p.H * nqb, p.threads, p.D, p.Dv, [&](int64_t it, typename Block::Scratch& sc) {
      const int64_t qb = it % nqb, bh = it / nqb;
      const int64_t b = bh / p.H, h = bh % p.H;
      const Rows r = float_rows(p, b, h, qb * BQ);
      if (run_block(p, b, h, qb * BQ, r, sc, false)) run_block(p, b, h, qb * BQ, r, sc, true);
    });
  }

  // ---- float16 / bfloat16 tensors (half_io): converted as they are loaded ----
  //
  // Each thread widens into its own float32 rows: the block's queries, and the keys and values its
  // blocks visit, kept per key/value head as one interval of keys [klo, khi) that grows as the
  // blocks move right (a window's band converts each key about once per thread, not Nk per block).
  // The block's output goes through a float32 row buffer, narrowed into out_half (round to
  // nearest even). Same arithmetic as the float32 path on the widened values.
  struct HalfRows {
    AlignedBuffer q, k, v, out;
    int64_t head = -1, klo = 0, khi = 0;  // the key/value head (b * Hk + hk) and keys [klo, khi) held
  };

  template <bool kBf16>
  static void widen_rows(const uint16_t* src, int64_t stride, int64_t rows, int64_t width, float* dst) {
    for (int64_t r = 0; r < rows; ++r)
      HalfConvertKernel<V>::template widen<kBf16>(src + r * stride, width, dst + r * width);
  }
  static void widen(bool bf16, const uint16_t* src, int64_t stride, int64_t rows, int64_t width, float* dst) {
    if (bf16) widen_rows<true>(src, stride, rows, width, dst);
    else widen_rows<false>(src, stride, rows, width, dst);
  }

  // Keys [a, b) of head `head` (row pointers k16, v16 at key 0) held in t.k / t.v.
  static void hold_keys(const DenseAttentionParams& p, HalfRows& t, int64_t head, const uint16_t* k16,
                        const uint16_t* v16, int64_t a, int64_t b) {
    const bool bf16 = p.half_io == 2;
    if (a >= b) return;
    if (t.head != head || b < t.klo || a > t.khi) {  // a new head, or disjoint: start over
      t.head = head;
      t.klo = t.khi = a;
    }
    if (a < t.klo) {
      widen(bf16, k16 + a * p.ks.n, p.ks.n, t.klo - a, p.D, t.k.data() + a * p.D);
      widen(bf16, v16 + a * p.vs.n, p.vs.n, t.klo - a, p.Dv, t.v.data() + a * p.Dv);
      t.klo = a;
    }
    if (b > t.khi) {
      widen(bf16, k16 + t.khi * p.ks.n, p.ks.n, b - t.khi, p.D, t.k.data() + t.khi * p.D);
      widen(bf16, v16 + t.khi * p.vs.n, p.vs.n, b - t.khi, p.Dv, t.v.data() + t.khi * p.Dv);
      t.khi = b;
    }
  }

  static void run_half(const DenseAttentionParams& p) {
    const bool bf16 = p.half_io == 2;
    const int64_t nqb = (p.Nq + BQ - 1) / BQ, items = p.B * p.H * nqb;
    const int threads = static_cast<int>(p.threads < 1 ? 1 : p.threads < items ? p.threads : items);
    std::vector<typename Block::Scratch> scratch;
    std::vector<HalfRows> rows(static_cast<size_t>(threads));
    scratch.reserve(threads);
    for (int t = 0; t < threads; ++t) {
      scratch.emplace_back(p.D, p.Dv);
      rows[t].q.resize(static_cast<size_t>(BQ * p.D));
      rows[t].out.resize(static_cast<size_t>(BQ * p.Dv));
      rows[t].k.resize(static_cast<size_t>(p.Nk * p.D));
      rows[t].v.resize(static_cast<size_t>(p.Nk * p.Dv));
    }
    static const float kNothing[1] = {0.f};
    parallel_items(items, threads, [&](int tid, ItemCounter& left) {
      HalfRows& t = rows[tid];
      int64_t it;
      while (left.next(it)) {
        const int64_t qb = it % nqb, bh = it / nqb;
        const int64_t b = bh / p.H, h = bh % p.H, hk = h / (p.H / p.Hk), q0 = qb * BQ;
        const int64_t nq = std::min<int64_t>(BQ, p.Nq - q0);
        widen(bf16, p.q_half + b * p.qs.b + h * p.qs.h + q0 * p.qs.n, p.qs.n, nq, p.D, t.q.data());
        // The keys the block may visit (run_block: the first row's lo to the last row's hi).
        int64_t lo, hi, lo2, hi2;
        p.key_range(b, q0, lo, hi);
        p.key_range(b, q0 + nq - 1, lo2, hi2);
        const int64_t a = std::max<int64_t>(lo, 0), e = std::min<int64_t>(hi2 + 1, p.Nk);
        hold_keys(p, t, b * p.Hk + hk, p.k_half + b * p.ks.b + hk * p.ks.h, p.v_half + b * p.vs.b + hk * p.vs.h, a, e);
        Rows r{t.q.data(),
               p.D,
               p.Nk ? t.k.data() : kNothing,
               p.Nk ? p.D : 0,
               p.Nk ? t.v.data() : kNothing,
               p.Nk ? p.Dv : 0,
               t.out.data(),
               p.Dv};
        if (run_block(p, b, h, q0, r, scratch[tid], false)) run_block(p, b, h, q0, r, scratch[tid], true);
        uint16_t* out = p.out_half + b * p.os.b + h * p.os.h + q0 * p.os.n;
        for (int64_t m = 0; m < nq; ++m) {
          if (bf16) HalfConvertKernel<V>::template narrow<true>(t.out.data() + m * p.Dv, p.Dv, out + m * p.os.n);
          else HalfConvertKernel<V>::template narrow<false>(t.out.data() + m * p.Dv, p.Dv, out + m * p.os.n);
        }
      }
    });
  }
};

}  // namespace ga

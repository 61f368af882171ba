// Dense attention over FlashBlock (kernels/flash_block.h), compiled per ISA.
// Thread contract: one work item = (batch b, head h, block of BQ queries), for_each_query_block.
// Causal, windowed and length-limited blocks visit only the key tiles some row may attend;
// key tiles with no admissible key are skipped.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "kernels/decode_attention_impl.h"
#include "kernels/dense_attention.h"
#include "kernels/flash_block.h"
#include "kernels/tanh.h"

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

  // One block of queries; returns whether a fast pass wrote a non-finite row (flash_block.h).
  // Rows attend keys [lo, hi] (DenseAttentionParams::key_range), which only move right with the
  // row: tiles before the first row's lo or after the last row's hi are never visited (the
  // window's O(N * window) cost); tiles that straddle a row's bound are banded (FlashBlock::set_band):
  // only the scores near the rows' ranges are computed, so the cost follows the admissible pairs.
  static bool run_block(const DenseAttentionParams& p, int64_t b, int64_t h, int64_t q0,
                        typename Block::Scratch& scratch, bool safe) {
    const int64_t Nk = p.Nk;
    const int nq = static_cast<int>(std::min<int64_t>(BQ, p.Nq - q0));
    const int64_t hk = h / (p.H / p.Hk);
    const float* k = p.k + b * p.ks.b + hk * p.ks.h;
    const float* v = p.v + b * p.vs.b + hk * p.vs.h;
    const uint8_t* mask = p.key_mask ? p.key_mask + b * Nk : nullptr;
    const bool ranged = p.causal || p.has_window() || p.key_lengths;
    // Each row's key range (both bounds only move right with the row).
    int64_t row_lo[BQ], row_hi[BQ];
    for (int m = 0; m < nq; ++m) p.key_range(b, q0 + m, row_lo[m], row_hi[m]);
    const int64_t lo_first = row_lo[0], hi_first = row_hi[0], lo_last = row_lo[nq - 1];
    const int64_t hi_last = row_hi[nq - 1];
    const float cap_units = p.softcap > 0.f ? Block::kLog2e * p.softcap : 0.f;

    Block blk(scratch, p.D, p.Dv);
    blk.begin(p.q + b * p.qs.b + h * p.qs.h + q0 * p.qs.n, p.qs.n, nq, p.scale, safe);
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
      blk.scores(k + j0 * p.ks.n, p.ks.n, nk, !p.bias && !p.position_bias && !mask && !cut && cap_units == 0.f);
      if (cap_units != 0.f) apply_softcap(blk, nk, cap_units);
      if (p.bias) add_bias(p.bias, p.bias_stride, blk, b, h, q0, j0, nk);
      if (p.position_bias) add_bias(p.position_bias, p.position_bias_stride, blk, b, h, q0, j0, nk);
      if (mask)
        for (int j = 0; j < nk; ++j)
          if (!mask[j0 + j]) blk.exclude_key(j);
      blk.accumulate(v + j0 * p.vs.n, p.vs.n, nk);
    }
    const bool redo = blk.finish(p.out + b * p.os.b + h * p.os.h + q0 * p.os.n, p.os.n);
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
    const int64_t nqb = (p.Nq + BQ - 1) / BQ;
    for_each_query_block<Block>(p.B * p.H * nqb, p.threads, p.D, p.Dv, [&](int64_t it, typename Block::Scratch& sc) {
      const int64_t qb = it % nqb, bh = it / nqb;
      const int64_t b = bh / p.H, h = bh % p.H;
      if (run_block(p, b, h, qb * BQ, sc, false)) run_block(p, b, h, qb * BQ, sc, true);
    });
  }
};

}  // namespace ga

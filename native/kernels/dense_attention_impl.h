// Dense attention over FlashBlock (kernels/flash_block.h), compiled per ISA.
// Thread contract: one work item = (batch b, head h, block of BQ queries), for_each_query_block.
// Causal blocks stop at their last admissible key; key tiles with no admissible key are skipped.
#pragma once
#include <algorithm>
#include <cstdint>

#include "kernels/decode_attention_impl.h"
#include "kernels/dense_attention.h"
#include "kernels/flash_block.h"

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
  static void add_bias(const DenseAttentionParams& p, Block& blk, int64_t b, int64_t h, int64_t q0, int64_t j0,
                       int nk) {
    const int64_t s2 = p.bias_stride[2], s3 = p.bias_stride[3];
    const float* bb = p.bias + b * p.bias_stride[0] + h * p.bias_stride[1] + q0 * s2;
    for (int j = 0; j < nk; ++j) blk.add_bias(j, bb + (j0 + j) * s3, s2);
  }

  // One block of queries; returns whether a fast pass wrote a non-finite row (flash_block.h).
  static bool run_block(const DenseAttentionParams& p, int64_t b, int64_t h, int64_t q0,
                        typename Block::Scratch& scratch, bool safe) {
    const int64_t Nk = p.Nk;
    const int nq = static_cast<int>(std::min<int64_t>(BQ, p.Nq - q0));
    const int64_t hk = h / (p.H / p.Hk);
    const float* k = p.k + b * p.ks.b + hk * p.ks.h;
    const float* v = p.v + b * p.vs.b + hk * p.vs.h;
    const uint8_t* mask = p.key_mask ? p.key_mask + b * Nk : nullptr;
    const int64_t coff = Nk - p.Nq;  // causal offset (bottom-right alignment)

    Block blk(scratch, p.D, p.Dv);
    blk.begin(p.q + b * p.qs.b + h * p.qs.h + q0 * p.qs.n, p.qs.n, nq, p.scale, safe);
    int64_t kend = Nk;
    if (p.causal) kend = std::min<int64_t>(Nk, q0 + nq + coff);  // last row's limit + 1
    for (int64_t j0 = 0; j0 < kend; j0 += BK) {
      const int nk = static_cast<int>(std::min<int64_t>(BK, kend - j0));
      if (mask) {
        int any = 0;
        for (int j = 0; j < nk; ++j) any |= mask[j0 + j];
        if (!any) continue;
      }
      const bool cut = p.causal && j0 + nk - 1 > q0 + coff;  // some key of the tile is after some query
      blk.scores(k + j0 * p.ks.n, p.ks.n, nk, !p.bias && !mask && !cut);  // unchanged scores: fuse the max
      float* s = blk.S();
      if (p.bias) add_bias(p, blk, b, h, q0, j0, nk);
      if (mask)
        for (int j = 0; j < nk; ++j)
          if (!mask[j0 + j]) blk.exclude_key(j);
      if (cut)
        for (int j = 0; j < nk; ++j)
          for (int m = 0; m < nq; ++m)
            if (j0 + j > q0 + m + coff) s[j * BQ + m] = Block::kNegInf;
      blk.accumulate(v + j0 * p.vs.n, p.vs.n, nk);
    }
    return blk.finish(p.out + b * p.os.b + h * p.os.h + q0 * p.os.n, p.os.n);
  }

  static void run(const DenseAttentionParams& params) {
    if (params.B == 0 || params.H == 0 || params.Nq == 0 || params.Dv == 0) return;
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

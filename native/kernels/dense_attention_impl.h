// Dense attention over FlashBlock (kernels/flash_block.h), compiled per ISA.
// Thread contract: one work item = (batch b, head h, block of BQ queries); each thread owns one
// FlashBlock scratch, allocated before the parallel region. Causal blocks stop at their last
// admissible key; key tiles with no admissible key are skipped.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels/dense_attention.h"
#include "kernels/flash_block.h"
#include "kernels/parallel.h"

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

  // S[j][m] += log2(e) * bias for the block's nq queries.
  static void add_bias(const DenseAttentionParams& p, float* s, int64_t b, int64_t h, int64_t q0, int nq,
                       int64_t j0, int nk) {
    const int64_t s2 = p.bias_stride[2], s3 = p.bias_stride[3];
    const float* bb = p.bias + b * p.bias_stride[0] + h * p.bias_stride[1] + q0 * s2;
    const R l2e = V::set1(Block::kLog2e);
    for (int j = 0; j < nk; ++j) {
      const float* bj = bb + (j0 + j) * s3;
      float* sj = s + j * BQ;
      int m = 0;
      if (s2 == 1)  // contiguous along queries (e.g. a relative-position table)
        for (; m + W <= nq; m += W) V::store(sj + m, V::fmadd(l2e, V::load(bj + m), V::load(sj + m)));
      for (; m < nq; ++m) sj[m] += Block::kLog2e * bj[m * s2];
    }
  }

  static void run_block(const DenseAttentionParams& p, int64_t b, int64_t h, int64_t q0,
                        typename Block::Scratch& scratch) {
    const int64_t Nk = p.Nk;
    const int nq = static_cast<int>(std::min<int64_t>(BQ, p.Nq - q0));
    const int64_t hk = h / (p.H / p.Hk);
    const float* k = p.k + b * p.ks.b + hk * p.ks.h;
    const float* v = p.v + b * p.vs.b + hk * p.vs.h;
    const uint8_t* mask = p.key_mask ? p.key_mask + b * Nk : nullptr;
    const int64_t coff = Nk - p.Nq;  // causal offset (bottom-right alignment)

    Block blk(scratch, p.D, p.Dv);
    blk.begin(p.q + b * p.qs.b + h * p.qs.h + q0 * p.qs.n, p.qs.n, nq, p.scale);
    int64_t kend = Nk;
    if (p.causal) kend = std::min<int64_t>(Nk, q0 + nq + coff);  // last row's limit + 1
    for (int64_t j0 = 0; j0 < kend; j0 += BK) {
      const int nk = static_cast<int>(std::min<int64_t>(BK, kend - j0));
      if (mask) {
        int any = 0;
        for (int j = 0; j < nk; ++j) any |= mask[j0 + j];
        if (!any) continue;
      }
      blk.scores(k + j0 * p.ks.n, p.ks.n, nk);
      float* s = blk.S();
      if (p.bias) add_bias(p, s, b, h, q0, nq, j0, nk);
      if (mask)
        for (int j = 0; j < nk; ++j)
          if (!mask[j0 + j]) blk.exclude_key(j);
      if (p.causal && j0 + nk - 1 > q0 + coff)
        for (int j = 0; j < nk; ++j)
          for (int m = 0; m < nq; ++m)
            if (j0 + j > q0 + m + coff) s[j * BQ + m] = Block::kNegInf;
      blk.accumulate(v + j0 * p.vs.n, p.vs.n, nk);
    }
    blk.finish(p.out + b * p.os.b + h * p.os.h + q0 * p.os.n, p.os.n);
  }

  static void run(const DenseAttentionParams& p) {
    if (p.B == 0 || p.H == 0 || p.Nq == 0 || p.Dv == 0) return;
    const int64_t nqb = (p.Nq + BQ - 1) / BQ;
    const int64_t items = p.B * p.H * nqb;
    const int threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(p.threads, items)));
    std::vector<typename Block::Scratch> scratch;
    scratch.reserve(threads);
    for (int t = 0; t < threads; ++t) scratch.emplace_back(p.D, p.Dv);
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

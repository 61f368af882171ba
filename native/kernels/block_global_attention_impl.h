// The seed's block-global variant over FlashBlock, compiled per ISA: token i in block c attends
// to the tokens of block c and to global token c (whose key/value are the block means, given).
// Blocks are g tokens; the last of the nb = N / g blocks absorbs the N % g orphans. A query
// block may straddle token blocks, so it streams the union of their keys and excludes, per
// query, the keys of other blocks (this variant is a reference point, not a hot path).
#pragma once
#include <algorithm>
#include <cstdint>

#include "kernels/flash_block.h"
#include "kernels/tglobal_attention.h"

namespace ga {

template <class V>
struct BlockGlobalAttentionKernel {
  using Block = FlashBlock<V, V::kQkVecs * V::W>;
  static constexpr int BQ = Block::BQ;
  static constexpr int BK = Block::BK;

  // One block of queries; returns whether a fast pass wrote a non-finite row (flash_block.h).
  static bool run_block(const BlockGlobalAttentionParams& p, int64_t bh, int64_t i0, typename Block::Scratch& scratch,
                        bool safe) {
    const int64_t N = p.N, g = p.block, nb = N / g;
    auto block_of = [&](int64_t i) { return std::min<int64_t>(i / g, nb - 1); };
    const int nq = static_cast<int>(std::min<int64_t>(BQ, N - i0));
    Block blk(scratch, p.D, p.Dv);
    blk.begin(p.q + (bh * N + i0) * p.D, p.D, nq, p.scale, safe);
    float* s = blk.S();
    const int64_t c_first = block_of(i0), c_last = block_of(i0 + nq - 1);
    // Own-block tokens.
    const int64_t jlo = c_first * g, jhi = c_last == nb - 1 ? N : (c_last + 1) * g;
    for (int64_t j0 = jlo; j0 < jhi; j0 += BK) {
      const int nk = static_cast<int>(std::min<int64_t>(BK, jhi - j0));
      blk.scores(p.k + (bh * N + j0) * p.D, p.D, nk);
      for (int j = 0; j < nk; ++j)
        for (int m = 0; m < nq; ++m)
          if (block_of(j0 + j) != block_of(i0 + m)) s[j * BQ + m] = Block::kNegInf;
      blk.accumulate(p.v + (bh * N + j0) * p.Dv, p.Dv, nk);
    }
    // Own global token.
    const int ng = static_cast<int>(c_last - c_first + 1);
    blk.scores(p.gk + (bh * nb + c_first) * p.D, p.D, ng);
    for (int j = 0; j < ng; ++j)
      for (int m = 0; m < nq; ++m)
        if (c_first + j != block_of(i0 + m)) s[j * BQ + m] = Block::kNegInf;
    blk.accumulate(p.gv + (bh * nb + c_first) * p.Dv, p.Dv, ng);
    return blk.finish(p.out + (bh * N + i0) * p.Dv, p.Dv);
  }

  static void run(const BlockGlobalAttentionParams& params) {
    if (params.B == 0 || params.H == 0 || params.N == 0 || params.Dv == 0 || params.block < 1 ||
        params.N < params.block)
      return;
    const BlockGlobalAttentionParams& p = params;
    const int64_t nqb = (p.N + BQ - 1) / BQ;
    for_each_query_block<Block>(p.B * p.H * nqb, p.threads, p.D, p.Dv, [&](int64_t it, typename Block::Scratch& sc) {
      if (run_block(p, it / nqb, (it % nqb) * BQ, sc, false)) run_block(p, it / nqb, (it % nqb) * BQ, sc, true);
    });
  }
};

}  // namespace ga

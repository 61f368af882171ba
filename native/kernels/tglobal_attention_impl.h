// Fused transient-global attention over FlashBlock (kernels/flash_block.h), compiled per ISA.
// Each block of BQ queries streams (1) its local band of keys [i0 - r, i0 + nq + r) and (2) the
// G global keys, through one online softmax. Nothing per block is materialised: no 3-block key
// copy, no per-block repeat of the global keys, no N x G bias tensor.
//
// Local bias and window in one vector add: per head we build ext[t], t = i - j + r, holding
// local_bias[h][2r - t] in the block's bias units (FlashBlock::bias_units) for t in [0, 2r] and
// -inf outside. Along a score row S[j][m]
// (queries i0 + m) t grows with m, so the row's bias+window is one contiguous slice of ext.
// Global bias: within a vector of W queries the block id is almost always uniform (blocks are
// >= W tokens and aligned), so it is a broadcast; otherwise a scalar fallback.
//
// Thread contract: one work item = (b, h, query block), for_each_query_block (flash_block.h).
//
// Block: FlashBlock, or FlashBlockBf16 for the bfloat16 kernel (kernels/tglobal_attention_bf16_impl.h),
// which reads rounded copies of the keys and values (Heads below) and otherwise runs this code.
#pragma once
#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "kernels/flash_block.h"
#include "kernels/longt5_blocks.h"
#include "kernels/tglobal_attention.h"

namespace ga {

// One QK micro-column per block: the local band costs (BQ + 2r) keys for 2r + 1 useful ones.
template <class V, class Block_ = FlashBlock<V, V::kQkVecs * V::W>>
struct TGlobalAttentionKernel {
  using Block = Block_;
  using R = typename V::R;
  static constexpr int W = V::W;
  static constexpr int BQ = Block::BQ;
  static constexpr int BK = Block::BK;

  struct Tables {
    AlignedBuffer ext;  // [H][ext_len], t = i - j + r offset by BQ
    int64_t ext_len = 0;
    int64_t radius = 0;  // capped_radius(r, N) (kernels/longt5_blocks.h)
  };

  static void build_tables(const TGlobalAttentionParams& p, Tables& t) {
    const int64_t r = capped_radius(p.radius, p.N);
    t.radius = r;
    t.ext_len = 2 * r + 1 + 2 * BQ;
    t.ext.resize(static_cast<size_t>(p.H * t.ext_len));
    float* ext = t.ext.data();
    for (int64_t h = 0; h < p.H; ++h)
      for (int64_t x = 0; x < t.ext_len; ++x) {
        const int64_t tt = x - BQ;
        float val = Block::kNegInf;
        if (tt >= 0 && tt <= 2 * r)
          val = p.local_bias ? Block::bias_units(p.local_bias[h * (2 * p.radius + 1) + (p.radius + r - tt)]) : 0.f;
        ext[h * t.ext_len + x] = val;
      }
  }

  // One (b, h)'s keys and values as the block reads them: key row j at k + j * ks; the values of
  // a tile from key j0 at vtile(). float32: the caller's tensors. pairs (native bfloat16): values
  // are pair-interleaved along keys (FlashBlockBf16::Operand), so value tiles start at even keys.
  template <class KT, class VT>
  struct Heads {
    const KT *k = nullptr, *gk = nullptr;
    const VT *v = nullptr, *gv = nullptr;
    int64_t ks = 0, vs = 0, gks = 0, gvs = 0;
    bool pairs = false;
    const VT* vtile(const VT* base, int64_t stride, int64_t j0) const { return base + (pairs ? j0 / 2 : j0) * stride; }
  };

  // One block of queries; returns whether a fast pass wrote a non-finite row (flash_block.h).
  template <class KT, class VT>
  static bool run_block(const TGlobalAttentionParams& p, const Tables& t, const Heads<KT, VT>& hd, int64_t b, int64_t h,
                        int64_t i0, typename Block::Scratch& scratch, bool safe) {
    const int64_t N = p.N, r = t.radius, G = p.G;
    const int nq = static_cast<int>(std::min<int64_t>(BQ, N - i0));
    const uint8_t* mask = p.mask ? p.mask + b * N : nullptr;
    Block blk(scratch, p.D, p.Dv);
    blk.begin(p.q + b * p.qs.b + h * p.qs.h + i0 * p.qs.n, p.qs.n, nq, p.scale, safe);
    const int rows = blk.rows;

    // (1) Local band. Pairs: from an even key; an extra key i0 - r - 1 lies outside every query's
    // window (its ext entry is -inf).
    const float* ext = t.ext.data() + h * t.ext_len + BQ;  // ext[t], t may be negative
    int64_t jlo = std::max<int64_t>(0, i0 - r);
    if (hd.pairs) jlo -= jlo & 1;
    const int64_t jhi = std::min<int64_t>(N, i0 + nq + r);
    for (int64_t j0 = jlo; j0 < jhi; j0 += BK) {
      const int nk = static_cast<int>(std::min<int64_t>(BK, jhi - j0));
      blk.scores(hd.k + j0 * hd.ks, hd.ks, nk);
      for (int j = 0; j < nk; ++j) blk.add_bias_units(j, ext + (i0 - (j0 + j) + r));
      if (mask)
        for (int j = 0; j < nk; ++j)
          if (!mask[j0 + j]) blk.exclude_key(j);
      blk.accumulate(hd.vtile(hd.v, hd.vs, j0), hd.vs, nk);
    }

    // (2) Global tokens.
    if (G > 0) {
      const uint8_t* valid = p.global_valid ? p.global_valid + b * G : nullptr;
      const float* gb = p.global_bias ? p.global_bias + h * (2 * G + 1) + G : nullptr;  // gb[m - id]
      int32_t ids[BQ];
      if (gb) {
        const int32_t* bid = p.block_ids + b * N + i0;
        for (int m = 0; m < BQ; ++m) ids[m] = bid[m < nq ? m : nq - 1];
      }
      for (int64_t m0 = 0; m0 < G; m0 += BK) {
        const int nk = static_cast<int>(std::min<int64_t>(BK, G - m0));
        if (valid) {
          int any = 0;
          for (int j = 0; j < nk; ++j) any |= valid[m0 + j];
          if (!any) continue;
        }
        blk.scores(hd.gk + m0 * hd.gks, hd.gks, nk);
        if (gb)
          for (int c = 0; c < rows; c += W) {
            bool uniform = true;
            for (int m = 1; m < W; ++m) uniform &= ids[c + m] == ids[c];
            if (uniform) {
              blk.add_bias_shared(c, nk, gb + m0 - ids[c]);
            } else {
              for (int j = 0; j < nk; ++j)
                for (int m = c; m < c + W; ++m) blk.add_bias_one(j, m, gb[m0 + j - ids[m]]);
            }
          }
        if (valid)
          for (int j = 0; j < nk; ++j)
            if (!valid[m0 + j]) blk.exclude_key(j);
        blk.accumulate(hd.vtile(hd.gv, hd.gvs, m0), hd.gvs, nk);
      }
    }
    return blk.finish(p.out + b * p.os.b + h * p.os.h + i0 * p.os.n, p.os.n, mask ? mask + i0 : nullptr);
  }

  // float32: (b, h) reads the caller's tensors.
  static Heads<float, float> heads_of(const TGlobalAttentionParams& p, int64_t b, int64_t h) {
    static_assert(std::is_same<Block, FlashBlock<V, Block::BQ>>::value, "reduced-precision blocks read rounded copies");
    Heads<float, float> hd;
    hd.k = p.k + b * p.ks.b + h * p.ks.h;
    hd.v = p.v + b * p.vs.b + h * p.vs.h;
    hd.ks = p.ks.n, hd.vs = p.vs.n;
    if (p.G > 0) {
      hd.gk = p.gk + b * p.gks.b + h * p.gks.h;
      hd.gv = p.gv + b * p.gvs.b + h * p.gvs.h;
      hd.gks = p.gks.n, hd.gvs = p.gvs.n;
    }
    return hd;
  }
  static bool run_block(const TGlobalAttentionParams& p, const Tables& t, int64_t b, int64_t h, int64_t i0,
                        typename Block::Scratch& scratch, bool safe) {
    return run_block(p, t, heads_of(p, b, h), b, h, i0, scratch, safe);
  }

  // One call's share of a batch (TGlobalAttentionBatchParams): its tables and its items.
  struct BatchCall {
    Tables t;
    int64_t first_item = 0, items = 0, nqb = 0;
  };

  static void run_batch(const TGlobalAttentionBatchParams& bp) {
    std::vector<BatchCall> calls(static_cast<size_t>(bp.count));
    int64_t items = 0;
    for (int64_t c = 0; c < bp.count; ++c) {
      const TGlobalAttentionParams& p = bp.calls[c];
      BatchCall& bc = calls[c];
      bc.first_item = items;
      if (p.B == 0 || p.H == 0 || p.N == 0 || p.Dv == 0) continue;
      build_tables(p, bc.t);
      bc.nqb = (p.N + BQ - 1) / BQ;
      bc.items = p.B * p.H * bc.nqb;
      items += bc.items;
    }
    if (items == 0) return;
    const TGlobalAttentionParams& p0 = bp.calls[0];
    for_each_query_block<Block>(items, bp.threads, p0.D, p0.Dv, [&](int64_t it, typename Block::Scratch& sc) {
      // The call holding item `it`: the last with first_item <= it (an empty call's first_item is
      // the next call's, so the last such call is never an empty one).
      int64_t lo = 0, hi = bp.count;
      while (hi - lo > 1) {
        const int64_t mid = (lo + hi) / 2;
        if (calls[mid].first_item <= it) lo = mid;
        else hi = mid;
      }
      const BatchCall& bc = calls[lo];
      const TGlobalAttentionParams& p = bp.calls[lo];
      const int64_t local = it - bc.first_item, qb = local % bc.nqb, bh = local / bc.nqb;
      const int64_t b = bh / p.H, h = bh % p.H;
      if (run_block(p, bc.t, b, h, qb * BQ, sc, false)) run_block(p, bc.t, b, h, qb * BQ, sc, true);
    });
  }

  // heads(b, h) -> Heads<KT, VT>: where (b, h) reads its keys and values.
  template <class HeadsOf>
  static void run_with(const TGlobalAttentionParams& p, HeadsOf heads) {
    if (p.B == 0 || p.H == 0 || p.N == 0 || p.Dv == 0) return;
    Tables t;
    build_tables(p, t);
    const int64_t nqb = (p.N + BQ - 1) / BQ;
    for_each_query_block<Block>(p.B * p.H * nqb, p.threads, p.D, p.Dv, [&](int64_t it, typename Block::Scratch& sc) {
      const int64_t qb = it % nqb, bh = it / nqb;
      const int64_t b = bh / p.H, h = bh % p.H;
      const auto hd = heads(b, h);
      if (run_block(p, t, hd, b, h, qb * BQ, sc, false)) run_block(p, t, hd, b, h, qb * BQ, sc, true);
    });
  }

  static void run(const TGlobalAttentionParams& p) {
    run_with(p, [&](int64_t b, int64_t h) { return heads_of(p, b, h); });
  }
};

}  // namespace ga

// Dense attention over FlashBlock (kernels/flash_block.h), compiled per ISA.
// Thread contract: one work item = (batch b, head h, block of BQ queries); a windowed call hands
// them out in runs of consecutive blocks (run_blocks, for_each_query_block_run).
// Causal, windowed and length-limited blocks visit only the key tiles some row may attend;
// key tiles with no admissible key are skipped.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
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

  static constexpr int64_t kF32 = sizeof(float), kF16 = sizeof(uint16_t);  // bytes per element

  // One block's float32 rows: q and out at the block's first query, k and v at the head's key
  // key0 (0, or where a buffer of some of the head's keys starts); *n = row strides in elements.
  struct Rows {
    const float* q;
    int64_t qn;
    const float* k;
    int64_t kn;
    const float* v;
    int64_t vn;
    float* out;
    int64_t on;
    int64_t key0 = 0;
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

  // Keys [lo, end) some row of the block at q0 may attend (its first row's lo to its last row's hi).
  static void block_keys(const DenseAttentionParams& p, int64_t b, int64_t q0, int64_t& lo, int64_t& end) {
    int64_t hi, lo2;
    p.key_range(b, q0, lo, hi);
    p.key_range(b, std::min<int64_t>(p.Nq, q0 + BQ) - 1, lo2, hi);
    lo = std::max<int64_t>(lo, 0);
    end = std::min<int64_t>(hi + 1, p.Nk);
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
                        typename Block::Scratch& scratch, bool safe, PrefetchQueue* ahead = nullptr) {
    const int64_t Nk = p.Nk;
    const int nq = static_cast<int>(std::min<int64_t>(BQ, p.Nq - q0));
    const float* k = r.k;
    const float* v = r.v;
    const uint8_t* mask = p.key_mask ? p.key_mask + b * Nk : nullptr;
    const bool ranged = p.causal || p.has_window() || p.key_lengths;
    // Each row's key range (both bounds only move right with the row).
    int64_t row_lo[BQ], row_hi[BQ];
    for (int m = 0; m < nq; ++m) p.key_range(b, q0 + m, row_lo[m], row_hi[m]);
    const int64_t lo_first = row_lo[0], hi_first = row_hi[0], lo_last = row_lo[nq - 1];
    const int64_t hi_last = row_hi[nq - 1];
    const float cap_units = p.softcap > 0.f ? Block::kLog2e * p.softcap : 0.f;

    Block blk(scratch, p.D, p.Dv);
    blk.begin(r.q, r.qn, nq, p.scale, safe);
    const int64_t kbegin = lo_first;
    const int64_t kend = std::min<int64_t>(Nk, hi_last + 1);
    // Lines requested while the tiles compute: the caller's, or else the block's output rows
    // (finish() then stores into cache).
    PrefetchQueue out_rows;
    if (ahead == nullptr) {
      out_rows.add(r.out, r.on * kF32, nq, p.Dv * kF32);
      ahead = &out_rows;
    }
    blk.ahead = ahead;
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
      blk.scores(k + (j0 - r.key0) * r.kn, r.kn, nk, !p.bias && !p.position_bias && !mask && !cut && cap_units == 0.f);
      if (cap_units != 0.f) apply_softcap(blk, nk, cap_units);
      if (p.bias) add_bias(p.bias, p.bias_stride, blk, b, h, q0, j0, nk);
      if (p.position_bias) add_bias(p.position_bias, p.position_bias_stride, blk, b, h, q0, j0, nk);
      if (mask)
        for (int j = 0; j < nk; ++j)
          if (!mask[j0 + j]) blk.exclude_key(j);
      blk.accumulate(v + (j0 - r.key0) * r.vn, r.vn, nk);
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
    for_each_query_block_run<Block>(
        p.B * p.H * nqb, p.threads, max_run(p), p.D, p.Dv,
        [&](int, int64_t first, int64_t count, typename Block::Scratch& sc) { run_blocks(p, nqb, first, count, sc); });
  }

  // Work items are query blocks, handed out in runs of consecutive blocks (of one head or more)
  // that one thread does in order. For a window, consecutive blocks read mostly the same keys
  // (they stay in the thread's cache: interleaving two threads' blocks measured ~9% slower with
  // two threads), and a block can request what the next one will read (PrefetchQueue: ~4% of a
  // one-thread window call). Runs are guided (ItemCounter::next_run) and at most kMaxRun blocks,
  // so a call that yields threads to another does so within a few milliseconds. Other calls read
  // all or most of their keys in every block: one block at a time.
  static constexpr int64_t kMaxRun = 32;  // blocks: ~2 ms of a one-thread window of 256 keys
  static int64_t max_run(const DenseAttentionParams& p) { return p.has_window() ? kMaxRun : 1; }

  // Blocks [first, first + count) of the items (b * H + h) * nqb + qb, in order. Each block requests,
  // while it computes (FlashBlock::ahead), in the order they are needed: the keys and values no
  // earlier block of the run read (a window's newest keys, read by the block's last tile), its
  // output rows (finish()) and the run's next block's query rows (its begin()).
  static void run_blocks(const DenseAttentionParams& p, int64_t nqb, int64_t first, int64_t count,
                         typename Block::Scratch& sc) {
    int64_t prev_end = -1;  // keys [.., prev_end) were read by the previous block of the run (same head)
    for (int64_t it = first; it < first + count; ++it) {
      const int64_t qb = it % nqb, bh = it / nqb;
      const int64_t b = bh / p.H, h = bh % p.H, q0 = qb * BQ;
      if (qb == 0) prev_end = -1;
      const Rows r = float_rows(p, b, h, q0);
      const int nq = static_cast<int>(std::min<int64_t>(BQ, p.Nq - q0));
      int64_t klo, kend;
      block_keys(p, b, q0, klo, kend);
      PrefetchQueue ahead;
      if (prev_end >= 0 && kend > std::max(klo, prev_end)) {
        const int64_t fresh = std::max(klo, prev_end);
        ahead.add(r.k + fresh * r.kn, r.kn * kF32, kend - fresh, p.D * kF32);
        ahead.add(r.v + fresh * r.vn, r.vn * kF32, kend - fresh, p.Dv * kF32);
      }
      ahead.add(r.out, r.on * kF32, nq, p.Dv * kF32);
      if (it + 1 < first + count && qb + 1 < nqb)
        ahead.add(r.q + BQ * r.qn, r.qn * kF32, std::min<int64_t>(BQ, p.Nq - q0 - BQ), p.D * kF32);
      if (run_block(p, b, h, q0, r, sc, false, &ahead)) run_block(p, b, h, q0, r, sc, true);
      prev_end = kend;
    }
  }

  // ---- float16 / bfloat16 tensors (half_io): converted as they are loaded ----
  //
  // Each thread widens into its own float32 rows: the block's queries, and the keys and values its
  // blocks visit, kept per key/value head as one interval of keys [klo, khi) that grows as the
  // blocks move right (a window's band converts each key about once per thread, not Nk per block).
  // The key buffers hold `cap` keys from key `base`: a window's interval slides through them (the
  // keys still needed move to the front when it reaches the end), so they stay a few window spans
  // in size and in cache (a buffer of all Nk keys measured ~10% of a two-thread float16 window
  // call: each call's 8 MiB of fresh rows per thread written from memory). The block's output
  // goes through a float32 row buffer, narrowed into out_half (round to nearest even). Same
  // arithmetic as the float32 path on the widened values.
  struct HalfRows {
    AlignedBuffer q, k, v, out;
    int64_t head = -1, klo = 0, khi = 0;  // the key/value head (b * Hk + hk) and keys [klo, khi) held
    int64_t base = 0, cap = 0;            // buffer row 0 holds key `base`; room for cap keys
  };

  // Room for four times the most keys one block attends (block_keys), at most Nk: the key buffers'
  // size.
  static int64_t half_key_capacity(const DenseAttentionParams& p, int64_t nqb) {
    int64_t span = 0;
    for (int64_t b = 0; b < p.B; ++b)
      for (int64_t qb = 0; qb < nqb; ++qb) {
        int64_t lo, end;
        block_keys(p, b, qb * BQ, lo, end);
        span = std::max(span, end - lo);
      }
    return std::min(p.Nk, 4 * span);
  }

  template <bool kBf16>
  static void widen_rows(const uint16_t* src, int64_t stride, int64_t rows, int64_t width, float* dst) {
    for (int64_t r = 0; r < rows; ++r)
      HalfConvertKernel<V>::template widen<kBf16>(src + r * stride, width, dst + r * width);
  }
  static void widen(bool bf16, const uint16_t* src, int64_t stride, int64_t rows, int64_t width, float* dst) {
    if (bf16) widen_rows<true>(src, stride, rows, width, dst);
    else widen_rows<false>(src, stride, rows, width, dst);
  }

  // Keys [a, b) of head `head` (row pointers k16, v16 at key 0) held in t.k / t.v; b - a <= t.cap.
  static void hold_keys(const DenseAttentionParams& p, HalfRows& t, int64_t head, const uint16_t* k16,
                        const uint16_t* v16, int64_t a, int64_t b) {
    const bool bf16 = p.half_io == 2;
    if (a >= b) return;
    // A new head, disjoint keys or keys before the buffer: start over at a.
    if (t.head != head || b < t.klo || a > t.khi || a < t.base) {
      t.head = head;
      t.base = t.klo = t.khi = a;
    }
    if (b > t.base + t.cap) {
      if (a < t.klo) {  // (keys move left: not a window's blocks) start over at a
        t.base = t.klo = t.khi = a;
      } else {  // slide: the keys still held from a on move to the front
        std::memmove(t.k.data(), t.k.data() + (a - t.base) * p.D, sizeof(float) * (t.khi - a) * p.D);
        std::memmove(t.v.data(), t.v.data() + (a - t.base) * p.Dv, sizeof(float) * (t.khi - a) * p.Dv);
        t.base = t.klo = a;
      }
    }
    if (a < t.klo) {
      widen(bf16, k16 + a * p.ks.n, p.ks.n, t.klo - a, p.D, t.k.data() + (a - t.base) * p.D);
      widen(bf16, v16 + a * p.vs.n, p.vs.n, t.klo - a, p.Dv, t.v.data() + (a - t.base) * p.Dv);
      t.klo = a;
    }
    if (b > t.khi) {
      widen(bf16, k16 + t.khi * p.ks.n, p.ks.n, b - t.khi, p.D, t.k.data() + (t.khi - t.base) * p.D);
      widen(bf16, v16 + t.khi * p.vs.n, p.vs.n, b - t.khi, p.Dv, t.v.data() + (t.khi - t.base) * p.Dv);
      t.khi = b;
    }
  }

  static void run_half(const DenseAttentionParams& p) {
    const bool bf16 = p.half_io == 2;
    const int64_t nqb = (p.Nq + BQ - 1) / BQ, items = p.B * p.H * nqb;
    if (items <= 0) return;
    std::vector<HalfRows> rows(static_cast<size_t>(query_block_threads(items, p.threads)));
    const int64_t cap = half_key_capacity(p, nqb);
    for (size_t t = 0; t < rows.size(); ++t) {
      rows[t].q.resize(static_cast<size_t>(BQ * p.D));
      rows[t].out.resize(static_cast<size_t>(BQ * p.Dv));
      rows[t].cap = cap;
      rows[t].k.resize(static_cast<size_t>(rows[t].cap * p.D));
      rows[t].v.resize(static_cast<size_t>(rows[t].cap * p.Dv));
    }
    static const float kNothing[1] = {0.f};
    // Runs of consecutive blocks as run() (max_run); a block requests, while it computes, its
    // 16-bit output rows and what the run's next block converts first: its query rows and the
    // keys and values it adds to the held interval.
    for_each_query_block_run<Block>(
        items, p.threads, max_run(p), p.D, p.Dv,
        [&](int tid, int64_t first, int64_t count, typename Block::Scratch& sc) {
          HalfRows& t = rows[tid];
          for (int64_t it = first; it < first + count; ++it) {
            const int64_t qb = it % nqb, bh = it / nqb;
            const int64_t b = bh / p.H, h = bh % p.H, hk = h / (p.H / p.Hk), q0 = qb * BQ;
            const int64_t nq = std::min<int64_t>(BQ, p.Nq - q0);
            const uint16_t* q16 = p.q_half + b * p.qs.b + h * p.qs.h + q0 * p.qs.n;
            const uint16_t* k16 = p.k_half + b * p.ks.b + hk * p.ks.h;
            const uint16_t* v16 = p.v_half + b * p.vs.b + hk * p.vs.h;
            uint16_t* out = p.out_half + b * p.os.b + h * p.os.h + q0 * p.os.n;
            widen(bf16, q16, p.qs.n, nq, p.D, t.q.data());
            int64_t a, e;
            block_keys(p, b, q0, a, e);
            hold_keys(p, t, b * p.Hk + hk, k16, v16, a, e);
            PrefetchQueue ahead;
            ahead.add(out, p.os.n * kF16, nq, p.Dv * kF16);
            if (it + 1 < first + count && qb + 1 < nqb) {
              int64_t a2, e2;
              block_keys(p, b, q0 + BQ, a2, e2);
              ahead.add(q16 + BQ * p.qs.n, p.qs.n * kF16, std::min<int64_t>(BQ, p.Nq - q0 - BQ), p.D * kF16);
              const int64_t fresh = std::max(a2, e);
              if (e2 > fresh) {
                ahead.add(k16 + fresh * p.ks.n, p.ks.n * kF16, e2 - fresh, p.D * kF16);
                ahead.add(v16 + fresh * p.vs.n, p.vs.n * kF16, e2 - fresh, p.Dv * kF16);
              }
            }
            Rows r{t.q.data(),
                   p.D,
                   p.Nk ? t.k.data() : kNothing,
                   p.Nk ? p.D : 0,
                   p.Nk ? t.v.data() : kNothing,
                   p.Nk ? p.Dv : 0,
                   t.out.data(),
                   p.Dv,
                   t.base};
            if (run_block(p, b, h, q0, r, sc, false, &ahead)) run_block(p, b, h, q0, r, sc, true);
            for (int64_t m = 0; m < nq; ++m) {
              if (bf16) HalfConvertKernel<V>::template narrow<true>(t.out.data() + m * p.Dv, p.Dv, out + m * p.os.n);
              else HalfConvertKernel<V>::template narrow<false>(t.out.data() + m * p.Dv, p.Dv, out + m * p.os.n);
            }
          }
        });
  }
};

}  // namespace ga
